// Google Benchmark of the LION attention core on the CPU: every form and
// variant at d = 64, H = 6, B in {1, 8}, L in {128 .. 32768}, with the FLOP
// counts of docs/lion-math.md section 5 and the peak extra resident memory of
// each call; plus the machine's sgemm rate through the same BLAS (LibTorch's),
// both as separate cases and measured around every case, so the ratios in
// BENCHMARKS.md come from one run.
//   build/bench/lion_attention_bench --benchmark_format=json > out.json
//   scripts/bench_report out.json
// Environment: LION_BENCH_THREADS (intra-op threads), LION_BENCH_CHUNK (C),
// LION_BENCH_MLM (unnormalised, as the MLM models run), LION_BENCH_LENGTHS,
// LION_BENCH_BATCHES, LION_BENCH_FULL_MAX_L and LION_BENCH_MIN_TIME (the cases
// run; see FormArgs).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "int_list.h"
#include "lion/kernels/lion_attention.h"
#include "server/common/allocator.h"
#include "server/common/process_memory.h"

namespace lion::kernels {
namespace {

using ::lion::ReadProcessMemory;
using ::lion::ReleaseFreeMemory;

constexpr int64_t kHeads = 6, kHeadDim = 64, kChunk = 64;

// Resets VmHWM to the current resident size.
void ResetPeakRss() {
  ReleaseFreeMemory();  // glibc's heap top or tcmalloc's page heap back to the system
  std::ofstream("/proc/self/clear_refs") << "5";
}

// The sgemm rate right now (n = 1024, best of 3 calls, GFLOP/s). The machine
// is a shared VM whose speed drifts by up to 1.5x over minutes; each case's
// ratio uses the rate measured just before and after it, so a slow phase
// slows the yardstick too.
double SgemmRate() {
  static const at::Tensor a = at::randn({1024, 1024}), b = at::randn({1024, 1024});
  static at::Tensor c = at::empty({1024, 1024});
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    at::mm_out(c, a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * 1024 * 1024 * 1024 / s * 1e-9);
  }
  return best;
}

enum Variant { kLit = 0, kDecay = 1, kS = 2 };

void BM_LionAttention(benchmark::State& state) {
  const Form form = static_cast<Form>(state.range(0));
  const auto variant = static_cast<Variant>(state.range(1));
  const int64_t B = state.range(2), L = state.range(3);
  at::manual_seed(0);
  const at::Tensor q = (at::silu(at::randn({B, kHeads, L, kHeadDim})) + 0.5).contiguous();
  const at::Tensor k = (at::silu(at::randn({B, kHeads, L, kHeadDim})) + 0.5).contiguous();
  const at::Tensor v = at::randn({B, kHeads, L, kHeadDim});
  at::Tensor g;
  if (variant == kLit) g = at::zeros({B, kHeads, L});
  if (variant == kDecay) g = at::full({B, kHeads, L}, std::log(0.95f));
  if (variant == kS) g = -at::softplus(at::randn({B, kHeads, L}) - 2.0);
  AttentionOptions o;
  o.form = form;
  o.chunk_size = std::getenv("LION_BENCH_CHUNK") ? std::atoi(std::getenv("LION_BENCH_CHUNK")) : kChunk;
  o.normalize = std::getenv("LION_BENCH_MLM") == nullptr;
  o.scale = 0.125f;
  // Peak extra memory from one untimed call (resetting VmHWM is not free).
  // The allocator's cache was just handed back, and under glibc every large
  // block comes from mmap during it, so VmHWM sees this call's own peak; the
  // timed calls then use the allocator's ordinary reuse, as the server does.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ResetPeakRss();
  const int64_t before = ReadProcessMemory().resident_bytes;
  {
    absl::StatusOr<at::Tensor> y = LionAttention(q, k, v, g, at::Tensor(), o);
    if (!y.ok()) {
      state.SkipWithError(y.status().ToString().c_str());
      return;
    }
  }
  const int64_t peak_extra = ReadProcessMemory().peak_bytes - before;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  const double sgemm_before = SgemmRate();
  for (auto _ : state) {
    absl::StatusOr<at::Tensor> y = LionAttention(q, k, v, g, at::Tensor(), o);
    benchmark::DoNotOptimize(y->data_ptr<float>());
  }
  const double sgemm_after = SgemmRate();
  const double flops = AttentionFlops(form, L, kHeadDim, o.chunk_size) * B * kHeads;
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["sgemm_GFLOPS"] = 0.5 * (sgemm_before + sgemm_after);
  state.counters["peak_extra_MB"] = static_cast<double>(peak_extra) / (1 << 20);
  state.SetLabel(std::string(FormName(form)) + "/" + (variant == kLit ? "lit" : variant == kDecay ? "d" : "s"));
}

// A comma-separated list from the environment, or the fallback.
std::vector<int64_t> EnvList(const char* name, std::vector<int64_t> fallback) {
  const char* text = std::getenv(name);
  return text == nullptr ? fallback : bench::ParseIntList(text);
}

// LION_BENCH_LENGTHS and LION_BENCH_BATCHES replace the lists below, and
// LION_BENCH_FULL_MAX_L the full form's longest L (bench/run_all sweeps
// L = 64 .. 65536 at B = 1 with them).
void FormArgs(benchmark::internal::Benchmark* b) {
  const std::vector<int64_t> lengths = EnvList("LION_BENCH_LENGTHS", {128, 512, 2048, 8192, 32768});
  const std::vector<int64_t> batches = EnvList("LION_BENCH_BATCHES", {1, 8});
  const std::vector<int64_t> full_max = EnvList("LION_BENCH_FULL_MAX_L", {});
  for (int form : {1, 2, 3}) {
    for (int variant : {kLit, kDecay, kS}) {
      for (int64_t batch : batches) {
        for (int64_t L : lengths) {
          // The full form is O(L^2) in time: stop where one call takes minutes.
          const int64_t cap = !full_max.empty() ? full_max.front() : batch == 1 ? 8192 : 2048;
          if (form == 1 && L > cap) continue;
          b->Args({form, variant, batch, L});
        }
      }
    }
  }
}
// LION_BENCH_MIN_TIME: seconds per case (default 0.3; bench/run_all --quick uses less).
double MinTime() {
  const char* text = std::getenv("LION_BENCH_MIN_TIME");
  return text != nullptr ? std::atof(text) : 0.3;
}
BENCHMARK(BM_LionAttention)->Apply(FormArgs)->ArgNames({"form", "variant", "B", "L"})
    ->Unit(benchmark::kMillisecond)->MinTime(MinTime())->UseRealTime();

// The machine's sgemm through LibTorch's BLAS: the yardstick for the ratios.
void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
  at::Tensor c = at::empty({n, n});
  for (auto _ : state) {
    at::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Sgemm)->Arg(1024)->Arg(2048)->Arg(4096)->Unit(benchmark::kMillisecond)->MinTime(0.5)->UseRealTime();

}  // namespace
}  // namespace lion::kernels

int main(int argc, char** argv) {
  // LION_BENCH_THREADS pins the intra-op threads (default: every core).
  const char* env_threads = std::getenv("LION_BENCH_THREADS");
  const int threads = env_threads ? std::atoi(env_threads)
                                  : static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(at::get_num_threads()));
  benchmark::Initialize(&argc, argv);
  // LION_BENCH_IN_THREAD: the main thread runs a LibTorch op, stays alive and
  // the benchmarks run on a second thread. On this machine that halves the
  // speed of parallel regions started from the second thread (why lion-serve
  // keeps LibTorch work off its main thread).
  if (std::getenv("LION_BENCH_IN_THREAD")) {
    const at::Tensor a = at::randn({512, 512});
    benchmark::DoNotOptimize(at::mm(a, a).sum().item<float>());
    std::thread([] { benchmark::RunSpecifiedBenchmarks(); }).join();
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}

// Whole-model forwards of one model directory at chosen lengths, timed in
// this process beside LibTorch's sgemm rate, with the peak resident memory
// of each length. One JSON object per line on stdout, for bench/run_all
// (comparisons 2, 5 and 6 of BENCHMARKS.md).
//
//   lion_forward_bench --model_dir=DIR --lengths=128,512,4096 [--batch=1]
//       [--form=chunk|full|rnn] [--chunk=64] [--runs=3] [--max_seconds=30]
//       [--threads=N] [--sgemm]
//
// Text models get [CLS] + random in-vocabulary ids + [SEP] and return the
// pooled embedding (what Embed computes); vision models a zero image.
// Per length: every run's seconds, the best, tokens/s, the resident set
// before the first call and its peak during that call (VmHWM, reset first),
// and the sgemm rate measured just before and after the length's runs.
// Runs stop early once --max_seconds of them have passed (long inputs).
// The attention FLOPs are docs/lion-math.md section 5's for the form run and the
// least of the three forms (the work the model needs at that length).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "int_list.h"
#include "lion/kernels/attention_options.h"
#include "server/common/allocator.h"
#include "server/common/process_memory.h"
#include "server/runtime/model.h"
#include "server/runtime/torch_model.h"

namespace lion::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) continue;
    const size_t eq = a.find('=');
    flags[a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2)] =
        eq == std::string::npos ? "1" : a.substr(eq + 1);
  }
  return flags;
}

// Best of 3 sgemm calls at n = 1024, GFLOP/s: the yardstick measured around
// every length, as lion_attention_bench does (the VM's speed drifts).
double SgemmRate() {
  static const at::Tensor a = at::randn({1024, 1024}), b = at::randn({1024, 1024});
  static at::Tensor c = at::empty({1024, 1024});
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = Clock::now();
    at::mm_out(c, a, b);
    best = std::max(best, 2.0 * 1024 * 1024 * 1024 / Seconds(t0) * 1e-9);
  }
  return best;
}

void ResetPeakRss() {
  ReleaseFreeMemory();
  std::ofstream("/proc/self/clear_refs") << "5";
}

SequenceInput MakeInput(const ModelDescription& d, int64_t length, std::mt19937& rng) {
  SequenceInput s;
  if (d.architecture == lion::runtime::Architecture::kVit) {
    s.channels = d.num_channels;
    s.height = s.width = d.image_size;
    s.pixels.assign(static_cast<size_t>(s.channels * s.height * s.width), 0.0f);
    return s;
  }
  std::uniform_int_distribution<int32_t> word(5, static_cast<int32_t>(d.vocab_size) - 1);
  s.token_ids.reserve(static_cast<size_t>(length));
  s.token_ids.push_back(2);  // [CLS]
  for (int64_t i = 2; i < length; ++i) s.token_ids.push_back(word(rng));
  s.token_ids.push_back(3);  // [SEP]
  return s;
}

int Run(int argc, char** argv) {
  std::map<std::string, std::string> flags = ParseFlags(argc, argv);
  auto flag = [&](const std::string& name, const std::string& fallback) {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  };
  const std::string model_dir = flag("model_dir", "");
  if (model_dir.empty()) {
    std::fprintf(stderr, "usage: lion_forward_bench --model_dir=DIR --lengths=L1,L2 [...]\n");
    return 64;
  }
  kernels::Form form = kernels::Form::kChunk;
  if (!kernels::ParseForm(flag("form", "chunk"), &form)) {
    std::fprintf(stderr, "unknown --form %s\n", flag("form", "").c_str());
    return 64;
  }
  const int64_t batch = std::atoll(flag("batch", "1").c_str());
  const int64_t chunk = std::atoll(flag("chunk", "64").c_str());
  const int runs = std::atoi(flag("runs", "3").c_str());
  const double max_seconds = std::atof(flag("max_seconds", "30").c_str());
  TorchModelOptions options;
  options.threads = std::atoi(
      flag("threads", std::to_string(std::thread::hardware_concurrency())).c_str());
  auto loaded = LoadTorchModel(model_dir, options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  Model& model = **loaded;
  const ModelDescription& d = model.description();
  std::printf("{\"event\": \"start\", \"threads\": %d, \"allocator\": \"%.*s\", \"sgemm_GFLOPS\": %.2f}\n",
              at::get_num_threads(), static_cast<int>(AllocatorName().size()),
              AllocatorName().data(), flags.count("sgemm") ? SgemmRate() : 0.0);
  std::fflush(stdout);

  OutputRequest want;
  if (d.task == Task::kClassification) {
    want.logits = true;
  } else {
    want.pooled = true;
  }
  BatchOptions batch_options;
  batch_options.form = form;
  batch_options.chunk_size = chunk;
  const int64_t head_dim = d.hidden_size / d.num_heads;
  std::mt19937 rng(7);
  // One untimed forward first: LibTorch's first calls allocate and pick kernels.
  {
    SequenceInput warm = MakeInput(d, 64, rng);
    auto result = model.Forward({&warm}, {&want}, batch_options);
    if (!result.ok()) {
      std::fprintf(stderr, "warm-up: %s\n", result.status().ToString().c_str());
      return 1;
    }
  }
  for (int64_t length : bench::ParseIntList(flag("lengths", "128"))) {
    std::vector<SequenceInput> inputs;
    for (int64_t b = 0; b < batch; ++b) inputs.push_back(MakeInput(d, length, rng));
    std::vector<const SequenceInput*> in;
    std::vector<const OutputRequest*> out;
    for (const SequenceInput& s : inputs) {
      in.push_back(&s);
      out.push_back(&want);
    }
    const int64_t tokens = inputs.front().Length(d.patch_size);
    const double sgemm_before = SgemmRate();
    ResetPeakRss();
    const int64_t rss_before = ReadProcessMemory().resident_bytes;
    std::vector<double> seconds;
    int64_t peak = 0;
    const auto all = Clock::now();
    for (int r = 0; r < runs; ++r) {
      const auto t0 = Clock::now();
      auto result = model.Forward(in, out, batch_options);
      const double s = Seconds(t0);
      if (!result.ok()) {
        std::fprintf(stderr, "L=%lld: %s\n", static_cast<long long>(length),
                     result.status().ToString().c_str());
        return 1;
      }
      if (r == 0) peak = ReadProcessMemory().peak_bytes;
      seconds.push_back(s);
      if (Seconds(all) > max_seconds) break;
    }
    const double sgemm_after = SgemmRate();
    const double best = *std::min_element(seconds.begin(), seconds.end());
    std::printf("{\"event\": \"length\", \"length\": %lld, \"batch\": %lld, \"form\": \"%s\", "
                "\"tokens\": %lld, \"best_s\": %.6f, \"seconds\": [",
                static_cast<long long>(length), static_cast<long long>(batch),
                kernels::FormName(form), static_cast<long long>(tokens * batch), best);
    for (size_t i = 0; i < seconds.size(); ++i) std::printf("%s%.6f", i ? ", " : "", seconds[i]);
    std::printf("], \"tokens_per_s\": %.1f, \"rss_before\": %lld, \"peak_rss\": %lld, "
                "\"attention_flops_per_head\": %.6g, \"attention_flops_min_per_head\": %.6g, "
                "\"head_dim\": %lld, \"heads\": %lld, \"sgemm_GFLOPS\": %.2f}\n",
                static_cast<double>(tokens * batch) / best, static_cast<long long>(rss_before),
                static_cast<long long>(peak), kernels::AttentionFlops(form, tokens, head_dim, chunk),
                std::min({kernels::AttentionFlops(kernels::Form::kFull, tokens, head_dim, chunk),
                          kernels::AttentionFlops(kernels::Form::kChunk, tokens, head_dim, chunk),
                          kernels::AttentionFlops(kernels::Form::kRnn, tokens, head_dim, chunk)}),
                static_cast<long long>(head_dim), static_cast<long long>(d.num_heads),
                0.5 * (sgemm_before + sgemm_after));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace lion::runtime

int main(int argc, char** argv) { return lion::runtime::Run(argc, argv); }

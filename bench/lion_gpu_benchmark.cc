// The GPU benchmark of bench/gpu_check.sh (BENCHMARKS.md section 4), one run:
//  1. the device's own ceilings, measured here: bf16 and fp32 matrix products
//     (cuBLAS through LibTorch, 8192^3 / 4096^3) and a device-to-device copy
//     (bytes read + written);
//  2. the LION attention core per form and L in {512 .. 131072} (bf16, d = 64,
//     H = 12, B * L = 131072 tokens): time, achieved TFLOP/s
//     (docs/lion-math.md section 5's counts), GB/s of compulsory traffic
//     (q, k, v, g read once, y written once), the share of the roofline
//     bound max(FLOP / bf16 matmul rate, bytes / copy rate), and the allocator's peak memory during the call;
//  3. a whole encoder (BERT-base width: D = 768, H = 12, FFN 3072, 4 layers,
//     bf16) with LION attention (LION-S, each form) and the same encoder with
//     softmax attention through at::scaled_dot_product_attention (PyTorch
//     picks FlashAttention for bf16), at the same sizes: time and peak memory.
// Output: one JSON object per line on stdout (also to argv[1] if given), then
// a table. Times: CUDA events, median of repeats after a warm-up.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "lion/kernels/attention_options.h"
#include "lion/kernels/cuda_device.h"
#include "lion/kernels/lion_attention.h"

namespace lion::bench {
namespace {

using kernels::Form;

constexpr int64_t kHeads = 12, kHeadDim = 64, kTokens = 131072;
const std::vector<int64_t> kLengths = {512, 2048, 8192, 32768, 131072};

std::ofstream g_json;

void Emit(const std::string& line) {
  std::printf("%s\n", line.c_str());
  if (g_json.is_open()) g_json << line << "\n";
}

// Median milliseconds of `fn` over repeats (at least 3, more while under
// ~0.5 s in total) after one warm-up call.
double TimeMs(const std::function<void()>& fn) {
  fn();
  at::cuda::getCurrentCUDAStream().synchronize();
  std::vector<double> times;
  double total = 0.0;
  while (times.size() < 3 || (total < 500.0 && times.size() < 50)) {
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    cudaEventRecord(start, at::cuda::getCurrentCUDAStream());
    fn();
    cudaEventRecord(stop, at::cuda::getCurrentCUDAStream());
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    times.push_back(ms);
    total += ms;
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Peak bytes the caching allocator handed out while `fn` ran once, above
// what was allocated before it.
double PeakMiB(const std::function<void()>& fn) {
  at::cuda::getCurrentCUDAStream().synchronize();
  c10::cuda::CUDACachingAllocator::resetPeakStats(0);
  const auto before = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].current;
  fn();
  at::cuda::getCurrentCUDAStream().synchronize();
  const auto peak = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak;
  return static_cast<double>(peak - before) / (1 << 20);
}

struct Ceilings {
  double bf16_tflops = 0, fp32_tflops = 0, copy_gbs = 0;
};

Ceilings MeasureCeilings() {
  const at::TensorOptions gpu = at::TensorOptions().device(at::kCUDA);
  Ceilings c;
  {
    const int64_t n = 8192;
    const at::Tensor a = at::randn({n, n}, gpu.dtype(at::kBFloat16)),
                     b = at::randn({n, n}, gpu.dtype(at::kBFloat16));
    at::Tensor out = at::empty({n, n}, gpu.dtype(at::kBFloat16));
    c.bf16_tflops = 2.0 * n * n * n / (TimeMs([&] { at::mm_out(out, a, b); }) * 1e-3) * 1e-12;
  }
  {
    const int64_t n = 4096;
    const at::Tensor a = at::randn({n, n}, gpu), b = at::randn({n, n}, gpu);
    at::Tensor out = at::empty({n, n}, gpu);
    c.fp32_tflops = 2.0 * n * n * n / (TimeMs([&] { at::mm_out(out, a, b); }) * 1e-3) * 1e-12;
  }
  {
    const int64_t bytes = int64_t{2} << 30;
    const at::Tensor src = at::randn({bytes / 4}, gpu);
    at::Tensor dst = at::empty_like(src);
    c.copy_gbs = 2.0 * bytes / (TimeMs([&] { dst.copy_(src); }) * 1e-3) * 1e-9;
  }
  char line[256];
  std::snprintf(line, sizeof(line),
                "{\"kind\":\"ceilings\",\"bf16_matmul_tflops\":%.1f,\"fp32_matmul_tflops\":%.1f,"
                "\"copy_gbs\":%.0f}",
                c.bf16_tflops, c.fp32_tflops, c.copy_gbs);
  Emit(line);
  return c;
}

struct KernelRow {
  Form form;
  int64_t L, B;
  double ms, tflops, gbs, roofline_pct, peak_mib;
};

std::vector<KernelRow> KernelCases(const Ceilings& c) {
  const at::TensorOptions gpu = at::TensorOptions().device(at::kCUDA);
  std::vector<KernelRow> rows;
  for (int64_t L : kLengths) {
    const int64_t B = std::max<int64_t>(1, kTokens / L);
    at::manual_seed(0);
    const at::Tensor q =
        (at::silu(at::randn({B, kHeads, L, kHeadDim}, gpu)) + 0.5).to(at::kBFloat16);
    const at::Tensor k =
        (at::silu(at::randn({B, kHeads, L, kHeadDim}, gpu)) + 0.5).to(at::kBFloat16);
    const at::Tensor v = at::randn({B, kHeads, L, kHeadDim}, gpu.dtype(at::kBFloat16));
    const at::Tensor g = -at::softplus(at::randn({B, kHeads, L}, gpu) - 2.0);
    for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
      kernels::AttentionOptions o;
      o.form = form;
      o.chunk_size = 64;
      o.normalize = true;
      o.scale = 0.125f;
      auto call = [&] {
        absl::StatusOr<at::Tensor> y = kernels::LionAttention(q, k, v, g, at::Tensor(), o);
        if (!y.ok()) throw std::runtime_error(y.status().ToString());
      };
      KernelRow r{form, L, B, 0, 0, 0, 0, 0};
      r.peak_mib = PeakMiB(call);
      r.ms = TimeMs(call);
      const double flops = kernels::AttentionFlops(form, L, kHeadDim, 64) * B * kHeads;
      const double bytes = static_cast<double>(B * kHeads * L) * (4 * kHeadDim * 2 + 4);
      r.tflops = flops / (r.ms * 1e-3) * 1e-12;
      r.gbs = bytes / (r.ms * 1e-3) * 1e-9;
      const double bound_ms =
          std::max(flops / (c.bf16_tflops * 1e12), bytes / (c.copy_gbs * 1e9)) * 1e3;
      r.roofline_pct = 100.0 * bound_ms / r.ms;
      char line[320];
      std::snprintf(
          line, sizeof(line),
          "{\"kind\":\"kernel\",\"form\":\"%s\",\"dtype\":\"bfloat16\",\"L\":%ld,\"B\":%ld,"
          "\"H\":%ld,\"d\":%ld,\"ms\":%.3f,\"tflops\":%.2f,\"gbs\":%.0f,"
          "\"roofline_pct\":%.1f,\"peak_mib\":%.1f}",
          kernels::FormName(form), L, B, kHeads, kHeadDim, r.ms, r.tflops, r.gbs, r.roofline_pct,
          r.peak_mib);
      Emit(line);
      rows.push_back(r);
    }
  }
  return rows;
}

// A BERT-base-wide post-norm encoder of kLayers layers with either attention.
constexpr int64_t kWidth = 768, kFfn = 3072, kLayers = 4;

struct Layer {
  at::Tensor qkv_w, qkv_b, out_w, out_b, fc1_w, fc1_b, fc2_w, fc2_b, decay_w, decay_b;
  at::Tensor ln1_w, ln1_b, ln2_w, ln2_b;
};

std::vector<Layer> MakeLayers() {
  const at::TensorOptions o = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  auto w = [&](int64_t out, int64_t in) { return at::randn({out, in}, o) * (1.0 / std::sqrt(in)); };
  std::vector<Layer> layers;
  for (int64_t i = 0; i < kLayers; ++i) {
    Layer l;
    l.qkv_w = w(3 * kWidth, kWidth);
    l.qkv_b = at::zeros({3 * kWidth}, o);
    l.out_w = w(kWidth, kWidth);
    l.out_b = at::zeros({kWidth}, o);
    l.fc1_w = w(kFfn, kWidth);
    l.fc1_b = at::zeros({kFfn}, o);
    l.fc2_w = w(kWidth, kFfn);
    l.fc2_b = at::zeros({kWidth}, o);
    l.decay_w = w(kHeads, kWidth).to(at::kFloat);
    l.decay_b = at::zeros({kHeads}, o.dtype(at::kFloat));
    l.ln1_w = at::ones({kWidth}, o);
    l.ln1_b = at::zeros({kWidth}, o);
    l.ln2_w = at::ones({kWidth}, o);
    l.ln2_b = at::zeros({kWidth}, o);
    layers.push_back(l);
  }
  return layers;
}

// softmax: Form is ignored and SDPA runs.
at::Tensor Encoder(const std::vector<Layer>& layers, at::Tensor x, bool softmax, Form form) {
  const int64_t B = x.size(0), L = x.size(1);
  for (const Layer& l : layers) {
    const at::Tensor qkv =
        at::linear(x, l.qkv_w, l.qkv_b).view({B, L, 3, kHeads, kHeadDim}).permute({2, 0, 3, 1, 4});
    at::Tensor y;
    if (softmax) {
      y = at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
    } else {
      const at::Tensor q = (at::elu(qkv[0]) + 1.0).contiguous(),
                       k = (at::elu(qkv[1]) + 1.0).contiguous();
      const at::Tensor g = -at::softplus(at::linear(x.to(at::kFloat), l.decay_w, l.decay_b))
                                .transpose(1, 2)
                                .contiguous();
      kernels::AttentionOptions o;
      o.form = form;
      o.normalize = true;
      o.scale = 0.125f;
      absl::StatusOr<at::Tensor> r =
          kernels::LionAttention(q, k, qkv[2].contiguous(), g, at::Tensor(), o);
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      y = *r;
    }
    x = at::layer_norm(x + at::linear(y.transpose(1, 2).reshape({B, L, kWidth}), l.out_w, l.out_b),
                       {kWidth}, l.ln1_w, l.ln1_b);
    x = at::layer_norm(x + at::linear(at::gelu(at::linear(x, l.fc1_w, l.fc1_b)), l.fc2_w, l.fc2_b),
                       {kWidth}, l.ln2_w, l.ln2_b);
  }
  return x;
}

struct ModelRow {
  int64_t L, B;
  double lion_ms[3], lion_mib[3], sdpa_ms, sdpa_mib;
};

std::vector<ModelRow> ModelCases() {
  const std::vector<Layer> layers = MakeLayers();
  std::vector<ModelRow> rows;
  for (int64_t L : kLengths) {
    const int64_t B = std::max<int64_t>(1, 16384 / L);
    const at::Tensor x =
        at::randn({B, L, kWidth}, at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16));
    ModelRow r{L, B, {0, 0, 0}, {0, 0, 0}, 0, 0};
    int f = 0;
    for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
      auto run = [&] { Encoder(layers, x, false, form); };
      r.lion_mib[f] = PeakMiB(run);
      r.lion_ms[f++] = TimeMs(run);
    }
    auto sdpa = [&] { Encoder(layers, x, true, Form::kFull); };
    r.sdpa_mib = PeakMiB(sdpa);
    r.sdpa_ms = TimeMs(sdpa);
    char line[400];
    std::snprintf(line, sizeof(line),
                  "{\"kind\":\"model\",\"L\":%ld,\"B\":%ld,\"layers\":%ld,\"width\":%ld,"
                  "\"lion_full_ms\":%.2f,\"lion_chunk_ms\":%.2f,\"lion_rnn_ms\":%.2f,"
                  "\"sdpa_ms\":%.2f,\"lion_full_mib\":%.0f,\"lion_chunk_mib\":%.0f,"
                  "\"lion_rnn_mib\":%.0f,\"sdpa_mib\":%.0f}",
                  L, B, kLayers, kWidth, r.lion_ms[0], r.lion_ms[1], r.lion_ms[2], r.sdpa_ms,
                  r.lion_mib[0], r.lion_mib[1], r.lion_mib[2], r.sdpa_mib);
    Emit(line);
    rows.push_back(r);
  }
  return rows;
}

void PrintTables(const Ceilings& c, const std::vector<KernelRow>& kernel,
                 const std::vector<ModelRow>& model) {
  std::printf("\nceilings: bf16 matmul %.0f TFLOP/s, fp32 matmul %.1f TFLOP/s, copy %.0f GB/s\n",
              c.bf16_tflops, c.fp32_tflops, c.copy_gbs);
  std::printf("\n%-6s %7s %4s %10s %8s %8s %10s %9s\n", "form", "L", "B", "ms", "TFLOP/s", "GB/s",
              "%roofline", "peak MiB");
  for (const KernelRow& r : kernel) {
    std::printf("%-6s %7ld %4ld %10.3f %8.2f %8.0f %10.1f %9.1f\n", kernels::FormName(r.form), r.L,
                r.B, r.ms, r.tflops, r.gbs, r.roofline_pct, r.peak_mib);
  }
  std::printf("\nencoder (%ld layers, width %ld, bf16): ms and peak MiB\n", kLayers, kWidth);
  std::printf("%7s %4s %9s %9s %9s %9s %10s %9s %9s\n", "L", "B", "full", "chunk", "rnn", "sdpa",
              "sdpa/best", "lion MiB", "sdpa MiB");
  for (const ModelRow& r : model) {
    const int best = static_cast<int>(std::min_element(r.lion_ms, r.lion_ms + 3) - r.lion_ms);
    std::printf("%7ld %4ld %9.2f %9.2f %9.2f %9.2f %10.2f %9.0f %9.0f\n", r.L, r.B, r.lion_ms[0],
                r.lion_ms[1], r.lion_ms[2], r.sdpa_ms, r.sdpa_ms / r.lion_ms[best],
                r.lion_mib[best], r.sdpa_mib);
  }
}

}  // namespace
}  // namespace lion::bench

int main(int argc, char** argv) {
  using namespace lion;
  if (kernels::CudaDeviceCount() == 0) {
    std::fprintf(stderr, "lion_gpu_benchmark: no CUDA device\n");
    return 2;
  }
  if (argc > 1) bench::g_json.open(argv[1]);
  try {
    const c10::cuda::CUDAGuard guard(0);
    const bench::Ceilings c = bench::MeasureCeilings();
    const auto kernel = bench::KernelCases(c);
    const auto model = bench::ModelCases();
    bench::PrintTables(c, kernel, model);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lion_gpu_benchmark: %s\n", e.what());
    return 1;
  }
  return 0;
}

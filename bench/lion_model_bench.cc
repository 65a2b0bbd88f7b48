// Google Benchmark of whole-model forwards (no gRPC, no client on the same
// cores): what batching can gain on this machine before any server cost.
// Embed on lion-mlm-mini (pooled output) and Classify on lion-digits at batch
// sizes 1, 8 and 64; requests/s and tokens/s are reported per batch size, so
// BENCHMARKS.md can compare the server's batching speed-up with the model's own.
//   build/bench/lion_model_bench --benchmark_format=json > out.json
// Environment: LION_BENCH_THREADS (intra-op threads, default: every core),
// LION_BENCH_TOKENS (text length incl. [CLS]/[SEP], default 150).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>

#include "server/runtime/model.h"
#include "server/runtime/torch_model.h"

namespace lion::runtime {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

std::string ModelDir(const std::string& name) {
  const char* root = std::getenv("LION_SOURCE_DIR");
  return std::string(root != nullptr ? root : LION_SOURCE_DIR_DEFAULT) + "/models/" + name;
}

// One loaded model per process, shared by every benchmark of that model.
Model& Loaded(const std::string& name) {
  static std::unique_ptr<Model> mlm, digits;
  std::unique_ptr<Model>& slot = name == "lion-mlm-mini" ? mlm : digits;
  if (!slot) {
    TorchModelOptions options;
    options.threads = static_cast<int>(
        EnvInt("LION_BENCH_THREADS", static_cast<int64_t>(std::thread::hardware_concurrency())));
    auto loaded = LoadTorchModel(ModelDir(name), options);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      std::exit(1);
    }
    slot = std::move(*loaded);
  }
  return *slot;
}

void RunBatches(benchmark::State& state, Model& model, const std::vector<SequenceInput>& inputs,
                const OutputRequest& want, int64_t tokens_per_request, kernels::Form form) {
  std::vector<const SequenceInput*> in;
  std::vector<const OutputRequest*> out;
  for (const SequenceInput& s : inputs) {
    in.push_back(&s);
    out.push_back(&want);
  }
  BatchOptions options;
  options.form = form;
  for (auto _ : state) {
    auto result = model.Forward(in, out, options);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(result->data());
  }
  const double batch = static_cast<double>(inputs.size());
  state.counters["requests_per_s"] =
      benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens_per_s"] = benchmark::Counter(
      batch * static_cast<double>(tokens_per_request), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["batch"] = batch;
}

// Embed: [CLS] + random word pieces + [SEP], pooled output (what Embed returns).
void BM_EmbedMlmMini(benchmark::State& state) {
  Model& model = Loaded("lion-mlm-mini");
  const int64_t tokens = EnvInt("LION_BENCH_TOKENS", 150);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> word(5, static_cast<int32_t>(model.description().vocab_size) - 1);
  std::vector<SequenceInput> inputs(static_cast<size_t>(state.range(0)));
  for (SequenceInput& s : inputs) {
    s.token_ids.push_back(2);  // [CLS]
    for (int64_t i = 2; i < tokens; ++i) s.token_ids.push_back(word(rng));
    s.token_ids.push_back(3);  // [SEP]
  }
  OutputRequest want;
  want.pooled = true;
  RunBatches(state, model, inputs, want, tokens, static_cast<kernels::Form>(state.range(1)));
}

// Classify: one random image at the model's training size.
void BM_ClassifyDigits(benchmark::State& state) {
  Model& model = Loaded("lion-digits");
  const ModelDescription& d = model.description();
  std::mt19937 rng(7);
  std::normal_distribution<float> pixel(0.0f, 1.0f);
  std::vector<SequenceInput> inputs(static_cast<size_t>(state.range(0)));
  for (SequenceInput& s : inputs) {
    s.channels = d.num_channels;
    s.height = s.width = d.image_size;
    s.pixels.resize(static_cast<size_t>(s.channels * s.height * s.width));
    for (float& p : s.pixels) p = pixel(rng);
  }
  OutputRequest want;
  want.logits = true;
  RunBatches(state, model, inputs, want, inputs.front().Length(d.patch_size),
             static_cast<kernels::Form>(state.range(1)));
}

void BatchSizes(benchmark::internal::Benchmark* b) {
  for (int64_t batch : {1, 8, 64}) b->Args({batch, static_cast<int64_t>(kernels::Form::kFull)});
  b->ArgNames({"batch", "form"})->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
}

BENCHMARK(BM_EmbedMlmMini)->Apply(BatchSizes);
BENCHMARK(BM_ClassifyDigits)->Apply(BatchSizes);

}  // namespace
}  // namespace lion::runtime

BENCHMARK_MAIN();

// Each attention form through the runtime's batch path (TorchModel::Forward
// with BatchOptions.form) on inputs of several chunks: ragged batches whose
// longest input is five chunks and whose others end inside a chunk, for every
// decay variant (LION-LIT, -D, -S; tiny random-weight text models written by
// the project's Python package, and the repository's default models). The
// reference is each input alone in the full form (no padding, no chunking);
// the tolerance is the model parity tests' (relative 1e-5, fp32).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/runtime/torch_model.h"
#include "tests/common/temp_path.h"

namespace lion::runtime {
namespace {

using kernels::Form;

constexpr int64_t kChunk = 16;
constexpr double kTolerance = 1e-5;

// max |a - b| / max(|a|, |b|), as test_model_parity.py.
double RelErr(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale =
        std::max({scale, std::abs(static_cast<double>(a[i])), std::abs(static_cast<double>(b[i]))});
  }
  return diff / scale;
}

// A random-weight lion_bert MLM directory of `variant`, position limit 256.
std::string RandomTextModel(const std::string& variant) {
  const std::string dir = testing_util::UniqueTempPath("model_" + variant);
  const std::string command =
      std::string("PYTHONPATH='") + LION_SOURCE_DIR_DEFAULT + "/python' '" + LION_TEST_PYTHON +
      "' -c \"from lionserve.golden import make_random_model_dir; "
      "make_random_model_dir('" +
      dir + "', 'lion_bert', '" + variant + "', seed=3, max_position_embeddings=256)\"";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return dir;
}

std::string DefaultModel(const std::string& name) {
  return std::string(LION_SOURCE_DIR_DEFAULT) + "/models/" + name;
}

std::vector<SequenceInput> TextInputs(int64_t vocab, const std::vector<int64_t>& lengths) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> id(5, static_cast<int32_t>(vocab - 1));
  std::vector<SequenceInput> inputs(lengths.size());
  for (size_t b = 0; b < lengths.size(); ++b) {
    for (int64_t i = 0; i < lengths[b]; ++i) inputs[b].token_ids.push_back(id(rng));
  }
  return inputs;
}

// Runs `inputs` as one batch in `form` and each alone in the full form, and
// compares every output of every input.
void ExpectFormsMatchAlone(Model& model, const std::vector<SequenceInput>& inputs,
                           const std::vector<OutputRequest>& wants, const std::string& what) {
  std::vector<const SequenceInput*> in;
  std::vector<const OutputRequest*> out;
  for (size_t b = 0; b < inputs.size(); ++b) {
    in.push_back(&inputs[b]);
    out.push_back(&wants[b]);
  }
  std::vector<SequenceOutput> alone;
  for (size_t b = 0; b < inputs.size(); ++b) {
    auto r = model.Forward({in[b]}, {out[b]}, BatchOptions{Form::kFull, kChunk, {}});
    ASSERT_TRUE(r.ok()) << what << ": " << r.status();
    alone.push_back((*r)[0]);
  }
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    auto batch = model.Forward(in, out, BatchOptions{form, kChunk, {}});
    ASSERT_TRUE(batch.ok()) << what << " " << kernels::FormName(form) << ": " << batch.status();
    ASSERT_EQ(batch->size(), inputs.size());
    for (size_t b = 0; b < inputs.size(); ++b) {
      const std::string where =
          what + ", " + kernels::FormName(form) + ", input " + std::to_string(b) + " of " +
          std::to_string(inputs[b].Length(model.description().patch_size)) + " tokens";
      const SequenceOutput& got = (*batch)[b];
      const SequenceOutput& ref = alone[b];
      EXPECT_FALSE(ref.pooled.empty()) << where;
      EXPECT_FALSE(ref.mlm_logits.empty()) << where;
      EXPECT_LE(RelErr(got.pooled, ref.pooled), kTolerance) << where << ": pooled";
      EXPECT_LE(RelErr(got.token_embeddings, ref.token_embeddings), kTolerance)
          << where << ": token embeddings";
      EXPECT_LE(RelErr(got.logits, ref.logits), kTolerance) << where << ": logits";
      EXPECT_LE(RelErr(got.mlm_logits, ref.mlm_logits), kTolerance) << where << ": MLM logits";
    }
  }
}

// 80 tokens = 5 chunks; 67 and 33 end inside a chunk; 9 is under one.
const std::vector<int64_t> kRagged = {80, 67, 33, 9};

// Pooled and token embeddings, and MLM logits at the first, a middle and the
// last token (the last in the input's last chunk).
std::vector<OutputRequest> Wants(const std::vector<int64_t>& lengths) {
  std::vector<OutputRequest> wants(lengths.size());
  for (size_t b = 0; b < lengths.size(); ++b) {
    wants[b].pooled = wants[b].token_embeddings = true;
    const int32_t n = static_cast<int32_t>(lengths[b]);
    wants[b].mlm_positions = {0, n / 2, n - 1};
  }
  return wants;
}

class TextFormsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TextFormsTest, EveryFormOnRaggedBatchesOfSeveralChunksEqualsEachInputAlone) {
  const std::string dir = RandomTextModel(GetParam());
  ASSERT_FALSE(HasFailure()) << "the project's Python could not write the model";
  TorchModelOptions options;
  options.threads = 1;
  auto model = LoadTorchModel(dir, options);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->description().variant, GetParam());
  ExpectFormsMatchAlone(**model, TextInputs((*model)->description().vocab_size, kRagged),
                        Wants(kRagged), "LION-" + GetParam());
}

INSTANTIATE_TEST_SUITE_P(Variants, TextFormsTest, ::testing::Values("lit", "d", "s"),
                         [](const auto& info) { return info.param; });

TEST(DefaultModelFormsTest, TextModelOnRaggedBatchesOfSeveralChunks) {
  TorchModelOptions options;
  options.threads = 1;
  auto model = LoadTorchModel(DefaultModel("lion-mlm-mini"), options);
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectFormsMatchAlone(**model, TextInputs((*model)->description().vocab_size, kRagged),
                        Wants(kRagged), "lion-mlm-mini");
}

// The digits model (LION-S vision) sees 17 tokens (4 x 4 patches + CLS): with
// chunks of 4 that is more than four chunks.
TEST(DefaultModelFormsTest, VisionModelOverMoreThanFourChunks) {
  TorchModelOptions options;
  options.threads = 1;
  auto model = LoadTorchModel(DefaultModel("lion-digits"), options);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelDescription& d = (*model)->description();
  std::mt19937 rng(5);
  std::normal_distribution<float> pixel;
  std::vector<SequenceInput> inputs(3);
  for (SequenceInput& s : inputs) {
    s.channels = d.num_channels;
    s.height = s.width = d.image_size;
    for (int64_t i = 0; i < d.num_channels * d.image_size * d.image_size; ++i) {
      s.pixels.push_back(pixel(rng));
    }
  }
  ASSERT_EQ(inputs[0].Length(d.patch_size), 17);
  OutputRequest want;
  want.logits = want.pooled = want.token_embeddings = true;
  std::vector<const SequenceInput*> in;
  std::vector<const OutputRequest*> out;
  for (const SequenceInput& s : inputs) {
    in.push_back(&s);
    out.push_back(&want);
  }
  auto full = (*model)->Forward(in, out, BatchOptions{Form::kFull, 4, {}});
  ASSERT_TRUE(full.ok()) << full.status();
  for (Form form : {Form::kChunk, Form::kRnn}) {
    auto got = (*model)->Forward(in, out, BatchOptions{form, 4, {}});
    ASSERT_TRUE(got.ok()) << got.status();
    for (size_t b = 0; b < inputs.size(); ++b) {
      const std::string where =
          std::string(kernels::FormName(form)) + ", image " + std::to_string(b);
      EXPECT_LE(RelErr((*got)[b].logits, (*full)[b].logits), kTolerance) << where;
      EXPECT_LE(RelErr((*got)[b].token_embeddings, (*full)[b].token_embeddings), kTolerance)
          << where;
    }
  }
}

}  // namespace
}  // namespace lion::runtime

// Every optimized form against the scalar reference and against each other:
// LIT/D/S x normalize x form, awkward lengths and chunk sizes, extreme decays,
// padded batches, two-order variant, bad arguments.
#include "lion/kernels/lion_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lion/kernels/lion_attention_reference.h"
#include "tests/kernels/attention_test_util.h"

namespace lion::kernels {
namespace {

using testing::Inputs;
using testing::MakeInputs;
using testing::ReferenceOutput;
using testing::RelErr;
using testing::Variant;

constexpr double kTol = 1e-5;

AttentionOptions Opts(Form form, int64_t chunk, bool normalize, int64_t d) {
  AttentionOptions o;
  o.form = form;
  o.chunk_size = chunk;
  o.normalize = normalize;
  o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  return o;
}

at::Tensor RunForm(const Inputs& in, const at::Tensor& lengths, const AttentionOptions& o) {
  absl::StatusOr<at::Tensor> y = LionAttention(in.q, in.k, in.v, in.g, lengths, o);
  EXPECT_TRUE(y.ok()) << y.status();
  return y.ok() ? *y : at::Tensor();
}

struct SweepCase {
  Variant variant;
  bool normalize;
};

class FormSweepTest : public ::testing::TestWithParam<SweepCase> {};

// L in {1, 2, C-1, C, C+1, 197, 1000} for C in {1, 16, 64}, plus C >= L.
TEST_P(FormSweepTest, EveryFormMatchesReference) {
  const auto [variant, normalize] = GetParam();
  const int64_t d = 8;
  std::vector<int64_t> lengths = {1, 2, 15, 16, 17, 63, 64, 65, 197, 1000};
  for (int64_t L : lengths) {
    const Inputs in = MakeInputs(variant, 2, 3, L, d, normalize, 1000 + L);
    const at::Tensor ref = ReferenceOutput(in, at::Tensor(), Opts(Form::kFull, 1, normalize, d));
    for (Form form : {Form::kFull, Form::kRnn}) {
      const double err = RelErr(RunForm(in, at::Tensor(), Opts(form, 1, normalize, d)), ref);
      EXPECT_LE(err, kTol) << FormName(form) << " L=" << L;
    }
    for (int64_t C : {int64_t{1}, int64_t{16}, int64_t{64}, L + 7}) {
      const double err = RelErr(RunForm(in, at::Tensor(), Opts(Form::kChunk, C, normalize, d)), ref);
      EXPECT_LE(err, kTol) << "chunk C=" << C << " L=" << L;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, FormSweepTest,
    ::testing::Values(SweepCase{Variant::kLit, true}, SweepCase{Variant::kLit, false},
                      SweepCase{Variant::kD, true}, SweepCase{Variant::kD, false},
                      SweepCase{Variant::kS, true}, SweepCase{Variant::kS, false}),
    [](const auto& info) {
      return std::string(testing::VariantName(info.param.variant)) +
             (info.param.normalize ? "_normalized" : "_mlm");
    });

// L = 4097 at head width 64: long sums in fp32 stay within tolerance.
TEST(LionAttentionTest, LongSequenceAllVariants) {
  for (Variant variant : {Variant::kLit, Variant::kD, Variant::kS}) {
    for (bool normalize : {true, false}) {
      const Inputs in = MakeInputs(variant, 1, 1, 4097, 64, normalize, 7);
      const at::Tensor ref = ReferenceOutput(in, at::Tensor(), Opts(Form::kFull, 1, normalize, 64));
      EXPECT_LE(RelErr(RunForm(in, at::Tensor(), Opts(Form::kFull, 1, normalize, 64)), ref), kTol);
      EXPECT_LE(RelErr(RunForm(in, at::Tensor(), Opts(Form::kChunk, 64, normalize, 64)), ref), kTol);
      EXPECT_LE(RelErr(RunForm(in, at::Tensor(), Opts(Form::kRnn, 1, normalize, 64)), ref), kTol)
          << testing::VariantName(variant);
    }
  }
}

// lambda near 0 and near 1: D with fixed lambdas, S with z spread over +-30.
TEST(LionAttentionTest, ExtremeDecays) {
  const int64_t d = 16, L = 300;
  std::vector<Inputs> cases;
  for (double lam : {1e-4, 0.02, 0.5, 0.999, 1.0}) {
    cases.push_back(MakeInputs(Variant::kD, 1, 2, L, d, true, 11, 2.5, lam));
  }
  cases.push_back(MakeInputs(Variant::kS, 1, 2, L, d, true, 12, /*decay_scale=*/12.0));
  cases.push_back(MakeInputs(Variant::kS, 1, 2, L, d, false, 13, /*decay_scale=*/30.0));
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Inputs& in = cases[ci];
    // Normalising needs positive features (den > 0); the last case is signed (MLM).
    for (bool normalize : {true, false}) {
      if (normalize && ci + 1 == cases.size()) continue;
      const at::Tensor ref = ReferenceOutput(in, at::Tensor(), Opts(Form::kFull, 1, normalize, d));
      for (auto [form, C] : {std::pair{Form::kFull, 1}, {Form::kChunk, 1}, {Form::kChunk, 7},
                             {Form::kChunk, 64}, {Form::kRnn, 1}}) {
        const at::Tensor y = RunForm(in, at::Tensor(), Opts(form, C, normalize, d));
        EXPECT_TRUE(at::isfinite(y).all().item<bool>());
        EXPECT_LE(RelErr(y, ref), kTol)
            << FormName(form) << " C=" << C << " case " << ci << " normalize " << normalize;
      }
    }
  }
}

// A padded sequence gives its unpadded result; rows past the length are 0.
// Also B*H = 24 rows, more than the machine's cores.
TEST(LionAttentionTest, PaddedBatchEqualsUnpaddedSequences) {
  const int64_t B = 4, H = 6, L = 150, d = 16;
  const std::vector<int64_t> lens = {150, 97, 1, 0};
  for (Variant variant : {Variant::kLit, Variant::kD, Variant::kS}) {
    const Inputs in = MakeInputs(variant, B, H, L, d, true, 21);
    const at::Tensor lengths = at::tensor(lens, at::kLong);
    for (auto [form, C] : {std::pair{Form::kFull, 1}, {Form::kChunk, 32}, {Form::kRnn, 1}}) {
      const AttentionOptions o = Opts(form, C, true, d);
      const at::Tensor y = RunForm(in, lengths, o);
      EXPECT_LE(RelErr(y, ReferenceOutput(in, lengths, o)), kTol) << FormName(form);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = lens[b];
        if (n < L) {
          EXPECT_EQ(y[b].narrow(1, n, L - n).abs().max().item<float>(), 0.0f);
        }
        if (n == 0) continue;
        Inputs one{in.q[b].narrow(1, 0, n).unsqueeze(0), in.k[b].narrow(1, 0, n).unsqueeze(0),
                   in.v[b].narrow(1, 0, n).unsqueeze(0), in.g[b].narrow(1, 0, n).unsqueeze(0)};
        const at::Tensor alone = RunForm(one, at::Tensor(), o);
        EXPECT_LE(RelErr(y[b].narrow(1, 0, n).unsqueeze(0), alone), 1e-6)
            << FormName(form) << " b=" << b;
      }
    }
  }
}

// Forms agree with each other directly (not only through the reference), and
// nothing overflows on a long selective sequence.
TEST(LionAttentionTest, FormsAgreeOnLongSelectiveSequence) {
  const Inputs in = MakeInputs(Variant::kS, 1, 2, 20000, 16, true, 31, 2.0);
  const at::Tensor chunk = RunForm(in, at::Tensor(), Opts(Form::kChunk, 64, true, 16));
  const at::Tensor rnn = RunForm(in, at::Tensor(), Opts(Form::kRnn, 1, true, 16));
  ASSERT_TRUE(at::isfinite(chunk).all().item<bool>());
  EXPECT_LE(RelErr(chunk, rnn), kTol);
}

// Two-order ("natural") variant against the reference of docs/lion-math.md
// section 7.
TEST(LionAttentionTest, MultiOrderMatchesReference) {
  const int64_t side = 4, L = side * side + 1, d = 8, B = 2, H = 2;
  // Row snake and column snake over the patch grid; CLS stays at position 0.
  std::vector<int64_t> o1 = {0}, o2 = {0};
  for (int64_t r = 0; r < side; ++r) {
    for (int64_t c = 0; c < side; ++c) o1.push_back(1 + r * side + (r % 2 ? side - 1 - c : c));
  }
  for (int64_t c = 0; c < side; ++c) {
    for (int64_t r = 0; r < side; ++r) o2.push_back(1 + (c % 2 ? side - 1 - r : r) * side + c);
  }
  for (Variant variant : {Variant::kD, Variant::kS}) {
    const Inputs in = MakeInputs(variant, B, H, L, d, true, 41);
    const Inputs second = MakeInputs(variant, B, H, L, d, true, 42);
    const std::vector<at::Tensor> orders = {at::tensor(o1, at::kLong), at::tensor(o2, at::kLong)};
    const std::vector<at::Tensor> gs = {in.g, second.g};
    AttentionShape shape{B, H, L, d, d};
    const int64_t* order_ptrs[2] = {o1.data(), o2.data()};
    const float* g_ptrs[2] = {in.g.data_ptr<float>(), second.g.data_ptr<float>()};
    for (auto [form, C] : {std::pair{Form::kFull, 1}, {Form::kChunk, 5}, {Form::kRnn, 1}}) {
      AttentionOptions o = Opts(form, C, true, d);
      o.scale /= 2.0f;
      at::Tensor ref = at::empty(in.v.sizes(), at::kFloat);
      ASSERT_TRUE(LionAttentionMultiOrderReference(shape, in.q.data_ptr<float>(),
                                                   in.k.data_ptr<float>(), in.v.data_ptr<float>(),
                                                   2, order_ptrs, g_ptrs, o, ref.data_ptr<float>())
                      .ok());
      absl::StatusOr<at::Tensor> y = LionAttentionMultiOrder(in.q, in.k, in.v, orders, gs, o);
      ASSERT_TRUE(y.ok()) << y.status();
      EXPECT_LE(RelErr(*y, ref), kTol) << FormName(form);
    }
  }
}

TEST(LionAttentionTest, RejectsBadArguments) {
  const Inputs in = MakeInputs(Variant::kD, 1, 2, 8, 4, true, 5);
  const AttentionOptions ok = Opts(Form::kChunk, 4, true, 4);
  auto code = [](const absl::StatusOr<at::Tensor>& r) { return r.status().code(); };
  EXPECT_EQ(code(LionAttention(in.q.to(at::kDouble), in.k, in.v, in.g, {}, ok)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(LionAttention(in.q, in.k.narrow(2, 0, 7), in.v, in.g, {}, ok)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(LionAttention(in.q, in.k, in.v, in.g[0], {}, ok)),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(LionAttention(in.q, in.k, in.v, in.g, at::tensor({9}, at::kLong), ok)),
            absl::StatusCode::kInvalidArgument);
  AttentionOptions bad = ok;
  bad.chunk_size = 0;
  EXPECT_EQ(code(LionAttention(in.q, in.k, in.v, in.g, {}, bad)),
            absl::StatusCode::kInvalidArgument);
  bad = ok;
  bad.scale = -1.0f;
  EXPECT_EQ(code(LionAttention(in.q, in.k, in.v, in.g, {}, bad)),
            absl::StatusCode::kInvalidArgument);
  const std::vector<at::Tensor> not_perm = {at::zeros({8}, at::kLong)};
  EXPECT_EQ(code(LionAttentionMultiOrder(in.q, in.k, in.v, not_perm, {in.g}, ok)),
            absl::StatusCode::kInvalidArgument);
}

TEST(LionAttentionTest, WorkspaceGrowsLinearlyForChunkAndRnn) {
  // Linear (affine: the chunk form's group buffers are fixed) in L: equal
  // steps in L add equal bytes. The full form's grows faster only through its
  // O(L) score rows and [V | 1] copy; its O(L^2) cost is time, not memory.
  for (Form form : {Form::kChunk, Form::kRnn}) {
    const int64_t a = AttentionWorkspaceBytes(form, 1, 6, 8192, 64, 64);
    const int64_t b = AttentionWorkspaceBytes(form, 1, 6, 16384, 64, 64);
    const int64_t c = AttentionWorkspaceBytes(form, 1, 6, 24576, 64, 64);
    EXPECT_GT(b, a) << FormName(form);
    EXPECT_EQ(c - b, b - a) << FormName(form);
  }
  // Measured in BENCHMARKS.md (peak extra MB at B = 1, L = 32768): chunk
  // 58 MB, RNN (in place, R >= threads) about 50 MB plus inputs it reads.
  EXPECT_LT(AttentionWorkspaceBytes(Form::kRnn, 1, 6, 32768, 64, 64),
            AttentionWorkspaceBytes(Form::kChunk, 1, 6, 32768, 64, 64));
}

}  // namespace
}  // namespace lion::kernels

// The CUDA forms (raw device pointers, no LibTorch CUDA) against the scalar
// reference over the CPU kernels' shape table: L = 1, L around the 64-token
// tile and chunk, long L, padded and ragged batches, LIT/D/S, normalised or
// not, float32/bfloat16/float16 inputs. Outputs are poisoned (NaN) before
// each launch, so an element no kernel writes fails the comparison.
// Tolerance: max |out - ref| / max |ref| <= 1e-5 (float32), 2e-2 (16-bit;
// the reference then runs on the inputs rounded to that type, so the bound
// measures the kernels' arithmetic, not the rounding of the inputs).
// Tests that need a GPU skip with the reason where there is none.
#include "lion/kernels/lion_attention_cuda.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lion/kernels/cuda_device.h"
#include "tests/kernels/attention_test_util.h"

namespace lion::kernels {
namespace {

using testing::Inputs;
using testing::MakeInputs;
using testing::ReferenceOutput;
using testing::RelErr;
using testing::Variant;

#define SKIP_WITHOUT_GPU()    \
  if (CudaDeviceCount() == 0) \
  GTEST_SKIP() << "no CUDA device on this machine (the test needs a GPU)"

// A device allocation, freed on destruction. Not copyable.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) {
      EXPECT_EQ(cudaMalloc(&ptr_, bytes), cudaSuccess);
    }
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  void Upload(const at::Tensor& t) {
    const at::Tensor c = t.contiguous();
    ASSERT_EQ(cudaMemcpy(ptr_, c.data_ptr(), c.numel() * c.element_size(), cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  void Poison() {
    ASSERT_EQ(cudaMemset(ptr_, 0xFF, bytes_), cudaSuccess);
  }  // NaN in every float type
  at::Tensor Download(at::IntArrayRef shape, at::ScalarType type) const {
    at::Tensor t = at::empty(shape, type);
    EXPECT_EQ(cudaMemcpy(t.data_ptr(), ptr_, t.numel() * t.element_size(), cudaMemcpyDeviceToHost),
              cudaSuccess);
    return t;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

at::ScalarType TorchType(DType d) {
  return d == DType::kFloat32 ? at::kFloat : d == DType::kBFloat16 ? at::kBFloat16 : at::kHalf;
}
double Tolerance(DType d) { return d == DType::kFloat32 ? 1e-5 : 2e-2; }

AttentionOptions Opts(Form form, bool normalize, int64_t d) {
  AttentionOptions o;
  o.form = form;
  o.normalize = normalize;
  o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  return o;
}

// The inputs as the kernels see them in `dtype` (rounded), back in float32.
Inputs Rounded(const Inputs& in, DType dtype) {
  const at::ScalarType t = TorchType(dtype);
  return Inputs{in.q.to(t).to(at::kFloat), in.k.to(t).to(at::kFloat), in.v.to(t).to(at::kFloat),
                in.g};
}

// Runs one form on the device. finished: y in dtype; else num/den (float32),
// finished here as the reference does.
at::Tensor RunCuda(const Inputs& in, const at::Tensor& lengths, const AttentionOptions& o,
                   DType dtype, bool finished) {
  const int64_t B = in.q.size(0), H = in.q.size(1), L = in.q.size(2);
  const int64_t dk = in.q.size(3), dv = in.v.size(3);
  const AttentionShape shape{B, H, L, dk, dv};
  const at::ScalarType t = TorchType(dtype);
  const int64_t es = DTypeBytes(dtype);
  DeviceBuffer q(in.q.numel() * es), k(in.k.numel() * es), v(in.v.numel() * es),
      g(in.g.numel() * 4);
  q.Upload(in.q.to(t));
  k.Upload(in.k.to(t));
  v.Upload(in.v.to(t));
  g.Upload(in.g);
  DeviceBuffer len(lengths.defined() ? B * 8 : 0);
  if (lengths.defined()) len.Upload(lengths);
  const size_t ws_bytes = LionAttentionCudaWorkspaceBytes(o.form, shape);
  DeviceBuffer ws(ws_bytes);
  DeviceBuffer y(in.v.numel() * es), num(in.v.numel() * 4), den(B * H * L * 4);
  y.Poison();
  num.Poison();
  den.Poison();
  CudaAttentionOutputs out;
  if (finished) {
    out.y = y.get();
  } else {
    out.num = static_cast<float*>(num.get());
    out.den = o.normalize ? static_cast<float*>(den.get()) : nullptr;
  }
  const absl::Status s =
      LionAttentionCuda(shape, dtype, q.get(), k.get(), v.get(), static_cast<const float*>(g.get()),
                        lengths.defined() ? static_cast<const int64_t*>(len.get()) : nullptr, o,
                        out, ws.get(), ws_bytes, nullptr);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  if (finished) return y.Download(in.v.sizes(), t).to(at::kFloat);
  const at::Tensor n = num.Download(in.v.sizes(), at::kFloat);
  if (!o.normalize) return n;
  const at::Tensor d = den.Download({B, H, L}, at::kFloat);
  // Rows past a length: num = den = 0 there, and the reference's rows are 0.
  at::Tensor y_host = n / (d + o.eps).unsqueeze(3);
  if (lengths.defined()) {
    const at::Tensor valid = at::arange(L).unsqueeze(0).lt(lengths.unsqueeze(1)).view({B, 1, L, 1});
    y_host = at::where(valid, y_host, at::zeros_like(y_host));
  }
  return y_host;
}

// Every form, both output modes, against the reference; every element finite.
void ExpectFormsMatch(const Inputs& in, const at::Tensor& lengths, bool normalize, DType dtype,
                      const std::string& what) {
  const int64_t d = in.q.size(3);
  const at::Tensor ref = ReferenceOutput(dtype == DType::kFloat32 ? in : Rounded(in, dtype),
                                         lengths, Opts(Form::kFull, normalize, d));
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    for (bool finished : {true, false}) {
      const at::Tensor y = RunCuda(in, lengths, Opts(form, normalize, d), dtype, finished);
      const std::string where = what + " form=" + FormName(form) + " dtype=" + DTypeName(dtype) +
                                (finished ? " y" : " num/den");
      ASSERT_TRUE(at::isfinite(y).all().item<bool>())
          << where << ": unwritten or non-finite output";
      EXPECT_LE(RelErr(y, ref), Tolerance(dtype)) << where;
    }
  }
}

struct SweepCase {
  Variant variant;
  bool normalize;
};

class CudaFormSweepTest : public ::testing::TestWithParam<SweepCase> {};

// The CPU sweep's lengths (around 64, the GPU's tile and chunk), d = 8 (the
// kernels' padded, scalar-load path) and d = 64 (the vector-load path).
TEST_P(CudaFormSweepTest, EveryFormAndDtypeMatchesReference) {
  SKIP_WITHOUT_GPU();
  const auto [variant, normalize] = GetParam();
  for (int64_t d : {8, 64}) {
    for (int64_t L : {1, 2, 63, 64, 65, 128, 197, 1000}) {
      if (d == 64 && L == 1000) continue;  // the reference's cost; long L has its own test
      const Inputs in = MakeInputs(variant, 2, 3, L, d, normalize, 1000 + L + d);
      for (DType dtype : {DType::kFloat32, DType::kBFloat16, DType::kFloat16}) {
        ExpectFormsMatch(in, at::Tensor(), normalize, dtype,
                         std::string(testing::VariantName(variant)) + " d=" + std::to_string(d) +
                             " L=" + std::to_string(L));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, CudaFormSweepTest,
    ::testing::Values(SweepCase{Variant::kLit, true}, SweepCase{Variant::kLit, false},
                      SweepCase{Variant::kD, true}, SweepCase{Variant::kD, false},
                      SweepCase{Variant::kS, true}, SweepCase{Variant::kS, false}),
    [](const auto& info) {
      return std::string(testing::VariantName(info.param.variant)) +
             (info.param.normalize ? "_normalized" : "_mlm");
    });

// Right-padded, ragged batch (lengths L, ragged, 1, 0) over several chunk
// segments: padded rows are 0 and padded keys take no part.
TEST(LionAttentionCudaTest, PaddedRaggedBatch) {
  SKIP_WITHOUT_GPU();
  const int64_t B = 4, H = 3, L = 777, d = 64;
  const at::Tensor lengths = at::tensor(std::vector<int64_t>{777, 401, 1, 0}, at::kLong);
  for (Variant variant : {Variant::kLit, Variant::kD, Variant::kS}) {
    for (bool normalize : {true, false}) {
      const Inputs in = MakeInputs(variant, B, H, L, d, normalize, 21);
      for (DType dtype : {DType::kFloat32, DType::kBFloat16}) {
        ExpectFormsMatch(in, lengths, normalize, dtype,
                         std::string("padded ") + testing::VariantName(variant));
      }
    }
  }
}

// L = 4097 (one token past 64 tiles) at d = 64: long sums stay in tolerance.
TEST(LionAttentionCudaTest, LongSequence) {
  SKIP_WITHOUT_GPU();
  for (Variant variant : {Variant::kLit, Variant::kS}) {
    const Inputs in = MakeInputs(variant, 1, 1, 4097, 64, true, 7);
    for (DType dtype : {DType::kFloat32, DType::kBFloat16}) {
      ExpectFormsMatch(in, at::Tensor(), true, dtype,
                       std::string("long ") + testing::VariantName(variant));
    }
  }
}

// lambda near 0 and near 1 (D), selective decays spread over +-30 (S).
TEST(LionAttentionCudaTest, ExtremeDecays) {
  SKIP_WITHOUT_GPU();
  const int64_t L = 300, d = 16;
  int seed = 0;
  for (double lambda : {1e-4, 0.5, 0.999, 1.0}) {
    const Inputs in = MakeInputs(Variant::kD, 1, 2, L, d, true, 11 + seed++, 2.5, lambda);
    ExpectFormsMatch(in, at::Tensor(), true, DType::kFloat32, "lambda=" + std::to_string(lambda));
  }
  ExpectFormsMatch(MakeInputs(Variant::kS, 1, 2, L, d, true, 12, 12.0), at::Tensor(), true,
                   DType::kFloat32, "selective x12");
  ExpectFormsMatch(MakeInputs(Variant::kS, 1, 2, L, d, false, 13, 30.0), at::Tensor(), false,
                   DType::kFloat32, "selective x30 signed");
}

// Heads wider than the tiles: the rnn form takes dk up to 128.
TEST(LionAttentionCudaTest, RnnWideHeads) {
  SKIP_WITHOUT_GPU();
  const Inputs in = MakeInputs(Variant::kS, 2, 2, 150, 128, true, 3);
  const at::Tensor ref = ReferenceOutput(in, at::Tensor(), Opts(Form::kFull, true, 128));
  const at::Tensor y =
      RunCuda(in, at::Tensor(), Opts(Form::kRnn, true, 128), DType::kFloat32, true);
  EXPECT_LE(RelErr(y, ref), 1e-5);
}

// Argument checks come before any CUDA call: these run without a GPU.
TEST(LionAttentionCudaTest, RejectsBadArguments) {
  const AttentionOptions o = Opts(Form::kFull, true, 8);
  float dummy = 0.0f;
  const void* p = &dummy;
  const float* g = &dummy;
  CudaAttentionOutputs out;
  out.y = &dummy;
  auto code = [&](const AttentionShape& sh, const AttentionOptions& opts,
                  const CudaAttentionOutputs& outs, size_t ws) {
    return LionAttentionCuda(sh, DType::kFloat32, p, p, p, g, nullptr, opts, outs, &dummy, ws,
                             nullptr)
        .code();
  };
  const AttentionShape wide{1, 1, 8, 128, 8};
  EXPECT_EQ(code(wide, o, out, 1 << 20), absl::StatusCode::kInvalidArgument);  // full: dk <= 64
  AttentionOptions rnn = o;
  rnn.form = Form::kRnn;
  EXPECT_EQ(code(AttentionShape{1, 1, 8, 256, 8}, rnn, out, 1 << 20),
            absl::StatusCode::kInvalidArgument);  // rnn: dk <= 128
  const AttentionShape ok{1, 1, 8, 8, 8};
  EXPECT_EQ(code(ok, o, out, 0), absl::StatusCode::kInvalidArgument);  // no workspace
  CudaAttentionOutputs both = out;
  both.num = &dummy;
  EXPECT_EQ(code(ok, o, both, 1 << 20), absl::StatusCode::kInvalidArgument);
  CudaAttentionOutputs no_den;
  no_den.num = &dummy;
  EXPECT_EQ(code(ok, o, no_den, 1 << 20), absl::StatusCode::kInvalidArgument);
  AttentionOptions bad = o;
  bad.scale = 0.0f;
  EXPECT_EQ(code(ok, bad, out, 1 << 20), absl::StatusCode::kInvalidArgument);
}

// The workspace a call asks for covers what each form carves from it.
TEST(LionAttentionCudaTest, WorkspaceGrowsWithTheProblem) {
  const AttentionShape small{1, 2, 100, 64, 64}, large{4, 2, 10000, 64, 64};
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    EXPECT_GT(LionAttentionCudaWorkspaceBytes(form, small), 0u) << FormName(form);
    EXPECT_GT(LionAttentionCudaWorkspaceBytes(form, large),
              LionAttentionCudaWorkspaceBytes(form, small))
        << FormName(form);
  }
  // The full form's workspace is O(L) (prefix sums): no L x L buffer.
  EXPECT_LT(LionAttentionCudaWorkspaceBytes(Form::kFull, large), 4 * 2 * 10001 * 8 + 256);
}

}  // namespace
}  // namespace lion::kernels

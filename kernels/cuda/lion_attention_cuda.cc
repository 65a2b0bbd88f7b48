// The CUDA entry point: validation, workspace carving and dispatch to the
// forms' launchers (forms_cuda.h).
#include "lion/kernels/lion_attention_cuda.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "cuda/forms_cuda.h"

namespace lion::kernels {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kFloat16:
      return "float16";
  }
  return "unknown";
}

int64_t DTypeBytes(DType dtype) { return dtype == DType::kFloat32 ? 4 : 2; }

namespace cuda {
namespace {

constexpr size_t kAlign = 256;
size_t Round(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// Region sizes in carving order: prefix, local, seg_f, seg_b, num, den.
struct Sizes {
  size_t prefix = 0, local = 0, seg_f = 0, seg_b = 0, num = 0, den = 0;
  size_t Total() const { return prefix + local + seg_f + seg_b + num + den; }
};

Sizes RegionSizes(Form form, const AttentionShape& sh) {
  Sizes s;
  const size_t R = static_cast<size_t>(std::max<int64_t>(0, sh.Rows()));
  const size_t L = static_cast<size_t>(std::max<int64_t>(0, sh.length));
  if (form == Form::kFull || form == Form::kChunk) s.prefix = Round(R * (L + 1) * sizeof(double));
  if (form == Form::kChunk) {
    const ChunkPlan plan = PlanChunks(sh.Rows(), sh.length);
    const size_t carry = kCarryFloats * sizeof(float);
    if (plan.per_segment > 1) s.local = Round(R * plan.chunks * carry);
    s.seg_f = s.seg_b = Round(R * plan.segments * carry);
  }
  if (form == Form::kRnn) {
    s.num = Round(R * L * static_cast<size_t>(std::max<int64_t>(0, sh.dv)) * sizeof(float));
    s.den = Round(R * L * sizeof(float));
  }
  return s;
}

}  // namespace

ChunkPlan PlanChunks(int64_t rows, int64_t length) {
  ChunkPlan plan;
  plan.chunks = (std::max<int64_t>(0, length) + kCudaChunk - 1) / kCudaChunk;
  if (plan.chunks == 0 || rows <= 0) return plan;
  const int64_t wanted = std::max<int64_t>(1, (kChunkBlocksTarget + rows - 1) / rows);
  const int64_t segments = std::min(plan.chunks, wanted);
  plan.per_segment = (plan.chunks + segments - 1) / segments;
  plan.segments = (plan.chunks + plan.per_segment - 1) / plan.per_segment;
  return plan;
}

size_t WorkspaceBytes(Form form, const AttentionShape& shape) {
  return RegionSizes(form, shape).Total();
}

Workspace CarveWorkspace(Form form, const AttentionShape& shape, void* base) {
  const Sizes s = RegionSizes(form, shape);
  char* at = static_cast<char*>(base);
  Workspace ws;
  auto take = [&at](size_t bytes) {
    char* p = bytes > 0 ? at : nullptr;
    at += bytes;
    return p;
  };
  ws.prefix = reinterpret_cast<double*>(take(s.prefix));
  ws.local = reinterpret_cast<float*>(take(s.local));
  ws.seg_f = reinterpret_cast<float*>(take(s.seg_f));
  ws.seg_b = reinterpret_cast<float*>(take(s.seg_b));
  ws.num = reinterpret_cast<float*>(take(s.num));
  ws.den = reinterpret_cast<float*>(take(s.den));
  return ws;
}

}  // namespace cuda

size_t LionAttentionCudaWorkspaceBytes(Form form, const AttentionShape& shape) {
  return cuda::WorkspaceBytes(form, shape);
}

namespace {

absl::Status CheckArgs(const AttentionShape& sh, const void* q, const void* k, const void* v,
                       const float* g, const AttentionOptions& o, const CudaAttentionOutputs& out,
                       size_t workspace_bytes, const void* workspace) {
  if (absl::Status s = sh.Validate(); !s.ok()) return s;
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  if (o.form == Form::kRnn) {
    if (sh.dk > kCudaRnnMaxDk || sh.dv > 1023) {
      return absl::InvalidArgumentError(
          absl::StrCat("the CUDA rnn form takes dk <= ", kCudaRnnMaxDk,
                       " and dv <= 1023; got dk=", sh.dk, " dv=", sh.dv));
    }
  } else if (sh.dk > kCudaMaxHeadDim || sh.dv > kCudaMaxHeadDim) {
    return absl::InvalidArgumentError(absl::StrCat("the CUDA ", FormName(o.form),
                                                   " form takes dk, dv <= ", kCudaMaxHeadDim,
                                                   "; got dk=", sh.dk, " dv=", sh.dv));
  }
  if ((out.y != nullptr) == (out.num != nullptr)) {
    return absl::InvalidArgumentError("give exactly one of outputs.y and outputs.num");
  }
  if (out.num != nullptr && o.normalize && out.den == nullptr) {
    return absl::InvalidArgumentError("normalize with outputs.num needs outputs.den");
  }
  if (sh.Rows() > 0 && sh.length > 0 &&
      (q == nullptr || k == nullptr || v == nullptr || g == nullptr)) {
    return absl::InvalidArgumentError("q, k, v and g must be device pointers, not null");
  }
  const size_t need = cuda::WorkspaceBytes(o.form, sh);
  if (workspace_bytes < need || (need > 0 && workspace == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat("the ", FormName(o.form), " form needs ", need,
                                                   " bytes of workspace; got ", workspace_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LionAttentionCuda(const AttentionShape& shape, DType dtype, const void* q,
                               const void* k, const void* v, const float* g, const int64_t* lengths,
                               const AttentionOptions& options, const CudaAttentionOutputs& outputs,
                               void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (absl::Status s = CheckArgs(shape, q, k, v, g, options, outputs, workspace_bytes, workspace);
      !s.ok()) {
    return s;
  }
  if (shape.Rows() == 0 || shape.length == 0) return absl::OkStatus();
  cuda::FormArgs args{shape, dtype, q, k, v, g, lengths, options, outputs, stream};
  const cuda::Workspace ws = cuda::CarveWorkspace(options.form, shape, workspace);
  switch (options.form) {
    case Form::kFull:
      if (absl::Status s = cuda::LaunchPrefix(args, ws.prefix); !s.ok()) return s;
      return cuda::LaunchFull(args, ws);
    case Form::kChunk:
      if (absl::Status s = cuda::LaunchPrefix(args, ws.prefix); !s.ok()) return s;
      return cuda::LaunchChunk(args, ws);
    case Form::kRnn:
      return cuda::LaunchRnn(args, ws);
  }
  return absl::InvalidArgumentError("unknown form");
}

}  // namespace lion::kernels

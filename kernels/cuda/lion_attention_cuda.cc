// The CUDA entry point: validation, workspace carving and dispatch to the
// forms' launchers (forms_cuda.h).
#include "lion/kernels/lion_attention_cuda.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "cuda/forms_cuda.h"
#include "cuda/workspace.h"

namespace lion::kernels {

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

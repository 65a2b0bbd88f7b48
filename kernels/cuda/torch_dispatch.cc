#include "cuda/torch_dispatch.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "absl/strings/str_cat.h"
#include "lion/kernels/lion_attention_cuda.h"

namespace lion::kernels::internal {

absl::StatusOr<NumDen> NumDenCuda(const at::Tensor& q_in, const at::Tensor& k_in,
                                  const at::Tensor& v_in, const at::Tensor& g_in,
                                  const at::Tensor& lengths, const AttentionOptions& options,
                                  bool finish) {
  DType dtype;
  switch (q_in.scalar_type()) {
    case at::kFloat:
      dtype = DType::kFloat32;
      break;
    case at::kBFloat16:
      dtype = DType::kBFloat16;
      break;
    case at::kHalf:
      dtype = DType::kFloat16;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("CUDA attention takes float32, bfloat16 or float16, not ",
                       c10::toString(q_in.scalar_type())));
  }
  const c10::cuda::CUDAGuard guard(q_in.device());
  const at::Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const at::Tensor g = g_in.to(at::kFloat).contiguous();
  at::Tensor len;
  if (lengths.defined()) len = lengths.to(q.device(), at::kLong).contiguous();
  const AttentionShape shape{q.size(0), q.size(1), q.size(2), q.size(3), v.size(3)};
  const size_t ws_bytes = LionAttentionCudaWorkspaceBytes(options.form, shape);
  // Freed when this function returns, but the caching allocator reuses the
  // block only for work queued after these kernels on the same stream.
  const at::Tensor workspace = at::empty({static_cast<int64_t>(std::max<size_t>(ws_bytes, 1))},
                                         q.options().dtype(at::kByte));
  NumDen nd;
  CudaAttentionOutputs out;
  if (finish) {
    nd.num = at::empty(v.sizes(), v.options());
    out.y = nd.num.data_ptr();
  } else {
    nd.num = at::empty(v.sizes(), v.options().dtype(at::kFloat));
    out.num = nd.num.data_ptr<float>();
    if (options.normalize) {
      nd.den = at::empty({shape.batch, shape.heads, shape.length}, v.options().dtype(at::kFloat));
      out.den = nd.den.data_ptr<float>();
    }
  }
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(q.device().index()).stream();
  if (absl::Status s =
          LionAttentionCuda(shape, dtype, q.data_ptr(), k.data_ptr(), v.data_ptr(),
                            g.data_ptr<float>(), len.defined() ? len.data_ptr<int64_t>() : nullptr,
                            options, out, workspace.data_ptr(), ws_bytes, stream);
      !s.ok()) {
    return s;
  }
  return nd;
}

}  // namespace lion::kernels::internal

// Entry points of the optimized attention core: validate, normalise layouts,
// apply right padding, dispatch to a form, finish. LibTorch exceptions are
// caught here (TorchCall) and returned as INTERNAL; they must never unwind
// into callers.
#include "lion/kernels/lion_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "cpu/forms.h"
#include "lion/kernels/torch_call.h"
#if LION_HAVE_TORCH_CUDA
#include "cuda/torch_dispatch.h"
#endif

namespace lion::kernels {
namespace {

std::string ShapeString(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) absl::StrAppend(&s, i ? ", " : "", t.size(i));
  return s + "]";
}

bool IsCudaInputType(at::ScalarType t) {
  return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf;
}

absl::Status CheckInputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const at::Tensor& g, const at::Tensor& lengths,
                         const AttentionOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  for (const auto* t : {&q, &k, &v, &g}) {
    if (!t->defined()) return absl::InvalidArgumentError("q, k, v and g must be defined");
    if (t->device() != q.device()) {
      return absl::InvalidArgumentError("q, k, v and g must be on one device");
    }
  }
  if (g.scalar_type() != at::kFloat) return absl::InvalidArgumentError("g must be float32");
  if (q.device().is_cuda()) {
    if (!IsCudaInputType(q.scalar_type()) || k.scalar_type() != q.scalar_type() ||
        v.scalar_type() != q.scalar_type()) {
      return absl::InvalidArgumentError(
          "on CUDA, q, k and v must share one dtype: float32, bfloat16 or float16");
    }
  } else if (q.scalar_type() != at::kFloat || k.scalar_type() != at::kFloat ||
             v.scalar_type() != at::kFloat) {
    return absl::InvalidArgumentError("q, k, v and g must be float32");
  }
  if (q.dim() != 4 || k.sizes() != q.sizes() || v.dim() != 4 || v.size(0) != q.size(0) ||
      v.size(1) != q.size(1) || v.size(2) != q.size(2) || g.dim() != 3 || g.size(0) != q.size(0) ||
      g.size(1) != q.size(1) || g.size(2) != q.size(2) || q.size(1) < 1 || q.size(3) < 1 ||
      v.size(3) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected q, k [B,H,L,dk], v [B,H,L,dv], g [B,H,L]; got q ", ShapeString(q),
                     " k ", ShapeString(k), " v ", ShapeString(v), " g ", ShapeString(g)));
  }
  if (lengths.defined()) {
    if (lengths.dim() != 1 || lengths.size(0) != q.size(0) || lengths.scalar_type() != at::kLong) {
      return absl::InvalidArgumentError(
          absl::StrCat("lengths must be int64 [B=", q.size(0), "], got ", ShapeString(lengths)));
    }
    // Lengths already on a GPU are not read back (that would wait for the
    // device): the CUDA kernels clamp them to [0, L].
    if (lengths.device().is_cpu() && lengths.numel() > 0 &&
        (lengths.min().item<int64_t>() < 0 || lengths.max().item<int64_t>() > q.size(2))) {
      return absl::InvalidArgumentError(absl::StrCat("lengths must lie in [0, L=", q.size(2), "]"));
    }
  }
  return absl::OkStatus();
}

// [B, L] validity of each token for right-padded sequences.
at::Tensor ValidMask(const at::Tensor& lengths, int64_t L, const at::TensorOptions& opts) {
  at::Tensor pos = at::arange(L, opts.dtype(at::kLong));
  return pos.unsqueeze(0).lt(lengths.to(opts.device()).unsqueeze(1)).to(opts.dtype());
}

absl::StatusOr<NumDen> NumDenImpl(const at::Tensor& q_in, const at::Tensor& k_in,
                                  const at::Tensor& v_in, const at::Tensor& g_in,
                                  const at::Tensor& lengths, const AttentionOptions& options,
                                  bool finish) {
  const int64_t B = q_in.size(0), H = q_in.size(1), L = q_in.size(2);
  const int64_t dk = q_in.size(3), dv = v_in.size(3), R = B * H;
  if (q_in.device().is_cuda()) {
#if LION_HAVE_TORCH_CUDA
    return internal::NumDenCuda(q_in, k_in, v_in, g_in, lengths, options, finish);
#else
    return absl::UnimplementedError(absl::StrCat("LION attention on ", q_in.device().str(),
                                                 ": this binary was built without the CUDA kernels "
                                                 "(configure with nvcc and a CUDA torch wheel)"));
#endif
  }
  if (!q_in.device().is_cpu()) {
    return absl::UnimplementedError(
        absl::StrCat("LION attention on ", q_in.device().str(), " is not built in this binary"));
  }
  at::Tensor k = k_in, v = v_in;
  std::vector<int64_t> row_lengths(R, L);
  at::Tensor valid;  // [B, 1, L, 1]
  if (lengths.defined()) {
    // Padded keys and values set to zero: every form then equals the unpadded
    // computation on the valid prefix (docs/lion-math.md section 6).
    valid = ValidMask(lengths, L, q_in.options()).view({B, 1, L, 1});
    k = k * valid;
    v = v * valid;
    const at::Tensor l = lengths.to(at::kCPU).contiguous();
    const int64_t* lp = l.data_ptr<int64_t>();
    for (int64_t r = 0; r < R; ++r) row_lengths[r] = lp[r / H];
  }
  const at::Tensor q3 = q_in.reshape({R, L, dk}).contiguous();
  const at::Tensor k3 = k.reshape({R, L, dk}).contiguous();
  const at::Tensor v3 = v.reshape({R, L, dv}).contiguous();
  const at::Tensor g3 = g_in.reshape({R, L}).contiguous();
  NumDen nd;
  switch (options.form) {
    case Form::kFull:
      nd = internal::FullFormCpu(q3, k3, v3, g3, options, finish);
      break;
    case Form::kChunk:
      nd = internal::ChunkFormCpu(q3, k3, v3, g3, options, finish);
      break;
    case Form::kRnn:
      nd = internal::RnnFormCpu(q3, k3, v3, g3, row_lengths, options, finish);
      break;
  }
  nd.num = nd.num.reshape({B, H, L, dv});
  if (nd.den.defined()) nd.den = nd.den.reshape({B, H, L});
  if (valid.defined()) {  // rows past a sequence's length are 0
    nd.num = nd.num * valid;
    if (nd.den.defined()) nd.den = nd.den * valid.squeeze(3);
  }
  return nd;
}

// num / (den + eps) in `dtype`; a form that finished its rows itself leaves den
// undefined.
// What a failed call says before LibTorch's message.
std::string FailedContext(const AttentionOptions& options) {
  return absl::StrCat("LION attention (", FormName(options.form), " form) failed");
}

at::Tensor Finish(const NumDen& nd, const AttentionOptions& options, at::ScalarType dtype) {
  if (!options.normalize || !nd.den.defined()) return nd.num.to(dtype);
  return (nd.num / (nd.den + options.eps).unsqueeze(3)).to(dtype);
}

}  // namespace

absl::StatusOr<NumDen> LionAttentionNumDen(const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v, const at::Tensor& g,
                                           const at::Tensor& lengths,
                                           const AttentionOptions& options) {
  if (absl::Status s = CheckInputs(q, k, v, g, lengths, options); !s.ok()) return s;
  return TorchCall(FailedContext(options),
                   [&] { return NumDenImpl(q, k, v, g, lengths, options, /*finish=*/false); });
}

absl::StatusOr<at::Tensor> LionAttention(const at::Tensor& q, const at::Tensor& k,
                                         const at::Tensor& v, const at::Tensor& g,
                                         const at::Tensor& lengths,
                                         const AttentionOptions& options) {
  if (absl::Status s = CheckInputs(q, k, v, g, lengths, options); !s.ok()) return s;
  return TorchCall(FailedContext(options), [&]() -> absl::StatusOr<at::Tensor> {
    absl::StatusOr<NumDen> nd = NumDenImpl(q, k, v, g, lengths, options, /*finish=*/true);
    if (!nd.ok()) return nd.status();
    return Finish(*nd, options, q.scalar_type());
  });
}

absl::StatusOr<at::Tensor> LionAttentionMultiOrder(const at::Tensor& q, const at::Tensor& k,
                                                   const at::Tensor& v,
                                                   const std::vector<at::Tensor>& orders,
                                                   const std::vector<at::Tensor>& g_orders,
                                                   const AttentionOptions& options) {
  if (orders.empty() || orders.size() != g_orders.size()) {
    return absl::InvalidArgumentError(
        "need one log-decay tensor per order, and at least one order");
  }
  const int64_t L = q.defined() && q.dim() == 4 ? q.size(2) : -1;
  for (size_t m = 0; m < orders.size(); ++m) {
    const at::Tensor& o = orders[m];
    if (!o.defined() || o.dim() != 1 || o.size(0) != L || o.scalar_type() != at::kLong) {
      return absl::InvalidArgumentError(absl::StrCat("order ", m, " must be int64 [L=", L, "]"));
    }
    const at::Tensor sorted = std::get<0>(o.cpu().sort());
    if (!sorted.equal(at::arange(L, o.options().device(at::kCPU)))) {
      return absl::InvalidArgumentError(absl::StrCat("order ", m, " is not a permutation"));
    }
  }
  return TorchCall("LION multi-order attention failed", [&]() -> absl::StatusOr<at::Tensor> {
    at::Tensor num, den;
    for (size_t m = 0; m < orders.size(); ++m) {
      const at::Tensor perm = orders[m].to(q.device());
      absl::StatusOr<NumDen> nd =
          LionAttentionNumDen(q.index_select(2, perm), k.index_select(2, perm),
                              v.index_select(2, perm), g_orders[m], at::Tensor(), options);
      if (!nd.ok()) return nd.status();
      // Back to token order: position p of order m holds token perm[p].
      at::Tensor n_tok = at::zeros_like(nd->num).index_copy_(2, perm, nd->num);
      num = num.defined() ? num + n_tok : n_tok;
      if (options.normalize) {
        at::Tensor d_tok = at::zeros_like(nd->den).index_copy_(2, perm, nd->den);
        den = den.defined() ? den + d_tok : d_tok;
      }
    }
    return Finish(NumDen{num, den}, options, q.scalar_type());
  });
}

int64_t AttentionWorkspaceBytes(Form form, int64_t batch, int64_t heads, int64_t length, int64_t d,
                                int64_t chunk_size) {
  const int64_t R = batch * heads, W = d + 1, f = sizeof(float);
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  // Tasks that hold their buffers at once: one per intra-op thread.
  const int64_t live = std::max<int64_t>(1, std::min<int64_t>(R, threads));
  // Every form returns [num | den] for all rows.
  const int64_t outputs = R * length * W * f;
  switch (form) {
    case Form::kFull:  // [V | 1], per task a 64 x L score block and mask row, prefix sums
      return outputs + R * length * W * f + live * (64 + 1) * length * f + R * (length + 1) * 8;
    case Form::kChunk: {  // chunk_form.cc's RowBuffers, per task
      const int64_t C = std::max<int64_t>(1, std::min(chunk_size, length));
      const int64_t N = (length + C - 1) / C, G = std::min<int64_t>(16, N);
      const int64_t group = G * C * (d + d + W + C + 2 * d + W) + G * d * W + G * 2 * d * W;
      const int64_t per_task = (group + N * d * W) * f + N * (C + 1) * 8;
      return outputs + live * per_task;
    }
    case Form::kRnn:  // rnn_form.cc: the output alone, or one buffer per direction
      return (R >= threads ? outputs : 2 * outputs) + live * d * W * f;
  }
  return 0;
}

}  // namespace lion::kernels

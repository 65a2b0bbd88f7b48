// Workspace sizes and carving of the CUDA forms, and the dtype names: host
// code present in every build.
#include "cuda/workspace.h"

#include <algorithm>

#include "lion/kernels/lion_attention_cuda.h"

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

}  // namespace lion::kernels

#include "server/runtime/host_outputs.h"

#include <ATen/ATen.h>

namespace lion::runtime {

size_t HostOutputs::Add(const at::Tensor& t) {
  device_.push_back(t);
  return device_.size() - 1;
}

void HostOutputs::Fetch() {
  host_.clear();
  if (device_.empty()) return;
  if (!device_.front().device().is_cuda()) {
    for (const at::Tensor& t : device_) host_.push_back(t.to(at::kFloat).contiguous());
    return;
  }
  std::vector<at::Tensor> flat;
  for (const at::Tensor& t : device_) flat.push_back(t.to(at::kFloat).reshape({-1}));
  const at::Tensor all = at::cat(flat);
  at::Tensor pinned =
      at::empty({all.numel()}, at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
  pinned.copy_(all);  // blocking: the stream's work is done when it returns
  int64_t at = 0;
  for (const at::Tensor& t : device_) {
    host_.push_back(pinned.narrow(0, at, t.numel()).view(t.sizes()));
    at += t.numel();
  }
}

}  // namespace lion::runtime

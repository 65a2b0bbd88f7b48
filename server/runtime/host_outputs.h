// Brings a batch's output tensors to host memory as float32. On the CPU the
// tensors are used as they are; on a GPU they are flattened into one device
// buffer and copied back with one device-to-host copy into pinned memory, so
// a batch pays one transfer (and one wait for the device) whatever it asks
// for. Not thread-safe; one per batch.
#ifndef LION_SERVER_RUNTIME_HOST_OUTPUTS_H_
#define LION_SERVER_RUNTIME_HOST_OUTPUTS_H_

#include <ATen/core/Tensor.h>

#include <vector>

namespace lion::runtime {

class HostOutputs {
 public:
  // Registers `t` (any device and floating dtype); returns its slot.
  size_t Add(const at::Tensor& t);
  // Copies every registered tensor to the host. LibTorch errors throw (the
  // caller converts them).
  void Fetch();
  // Slot i as a contiguous host float32 tensor of its original shape; valid
  // after Fetch.
  const at::Tensor& host(size_t i) const { return host_[i]; }

 private:
  std::vector<at::Tensor> device_;
  std::vector<at::Tensor> host_;
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_HOST_OUTPUTS_H_

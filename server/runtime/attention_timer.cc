#include "server/runtime/attention_timer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lion/kernels/lion_attention.h"
#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"
#include "server/runtime/device.h"
#include "server/runtime/runner.h"

namespace lion::runtime {

struct AttentionTimer::Inputs {
  int64_t length = 0, batch = 0;
  at::Tensor q, k, v, g, lengths;
  std::vector<at::Tensor> orders, g_orders;  // two-order models
};

namespace {

// Waits for the device's queued work: CUDA kernels run asynchronously, so a
// clock read without it would time the launch, not the work.
void DeviceSynchronize(const at::Device& device) {
  if (device.is_cpu()) return;
  const c10::impl::DeviceGuardImplInterface* impl = c10::impl::getDeviceGuardImpl(device.type());
  impl->synchronizeDevice(device.has_index() ? device.index() : impl->getDevice().index());
}

at::ScalarType ScalarTypeOf(kernels::DType dtype) {
  switch (dtype) {
    case kernels::DType::kBFloat16:
      return at::kBFloat16;
    case kernels::DType::kFloat16:
      return at::kHalf;
    case kernels::DType::kFloat32:
      break;
  }
  return at::kFloat;
}

}  // namespace

absl::Status AttentionTimerOptions::Validate() const {
  if (absl::Status s = ParseDType(dtype).status(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("attention timer: ", s.message()));
  }
  if (heads < 1 || head_dim < 1) {
    return absl::InvalidArgumentError("attention timer: heads and head_dim must be positive");
  }
  if (orders != 1 && orders != 2) {
    return absl::InvalidArgumentError("attention timer: orders must be 1 or 2");
  }
  if (variant != "lit" && variant != "d" && variant != "s") {
    return absl::InvalidArgumentError(
        absl::StrCat("attention timer: variant must be lit, d or s, got '", variant, "'"));
  }
  if (threads < 0 || min_calls < 1 || max_calls < min_calls || min_total_seconds < 0) {
    return absl::InvalidArgumentError(
        "attention timer: threads >= 0, 1 <= min_calls <= max_calls, min_total_seconds >= 0");
  }
  return absl::OkStatus();
}

AttentionTimerOptions AttentionTimerOptionsFor(const ModelDescription& d, int64_t threads) {
  const AttentionDims dims = DimsOf(d);
  AttentionTimerOptions o;
  o.device = d.device;
  o.dtype = d.dtype;
  o.heads = dims.heads;
  o.head_dim = dims.head_dim;
  o.orders = dims.orders;
  o.variant = d.variant;
  o.normalize = d.architecture == Architecture::kVit;  // as model::MakeAttentionOptions
  o.padded = d.architecture != Architecture::kVit;     // text batches are right-padded
  o.threads = threads;
  return o;
}

AttentionTimer::AttentionTimer(const AttentionTimerOptions& options) : options_(options) {
  if (options_.clock == nullptr) options_.clock = Clock::Real();
  if (!options_.synchronize) {
    const at::Device device(options_.device);
    options_.synchronize = [device] { DeviceSynchronize(device); };
  }
}

AttentionTimer::~AttentionTimer() = default;

absl::StatusOr<std::unique_ptr<AttentionTimer>> AttentionTimer::Create(
    const AttentionTimerOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  auto usable = [&] {
    at::zeros({1}, at::TensorOptions().device(at::Device(options.device)));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(kernels::TorchCall(absl::StatusCode::kUnavailable,
                                     absl::StrCat("attention timer: device ", options.device),
                                     usable));
  return std::unique_ptr<AttentionTimer>(new AttentionTimer(options));
}

absl::StatusOr<const AttentionTimer::Inputs*> AttentionTimer::InputsFor(int64_t length,
                                                                        int64_t batch) {
  if (inputs_ != nullptr && inputs_->length == length && inputs_->batch == batch) {
    return inputs_.get();
  }
  inputs_.reset();  // free the previous shape first
  auto in = std::make_unique<Inputs>();
  in->length = length;
  in->batch = batch;
  const int64_t B = batch, H = options_.heads, L = length, d = options_.head_dim;
  // Drawn on the CPU from a fixed seed (the global generator is left alone),
  // then moved to the device. Positive features, as after the feature map.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(/*seed_in=*/7);
  const at::Device device(options_.device);
  auto draw = [&](at::IntArrayRef shape, bool positive) {
    at::Tensor t = positive ? at::rand(shape, gen) + 0.1 : at::randn(shape, gen);
    return t.to(device);
  };
  const at::ScalarType dtype = ScalarTypeOf(*ParseDType(options_.dtype));
  in->q = draw({B, H, L, d}, true).to(dtype);
  in->k = draw({B, H, L, d}, true).to(dtype);
  in->v = draw({B, H, L, d}, false).to(dtype);
  if (options_.variant == "lit") {
    in->g = at::zeros({B, H, L}, at::TensorOptions().device(device));
  } else if (options_.variant == "d") {
    in->g = at::log_sigmoid(draw({1, H, 1}, false)).expand({B, H, L});
  } else {
    in->g = -at::softplus(draw({B, H, L}, false));
  }
  if (options_.padded) {
    in->lengths = at::full({B}, L, at::TensorOptions().dtype(at::kLong).device(device));
  }
  if (options_.orders == 2) {
    const at::Tensor forward = at::arange(L, at::TensorOptions().dtype(at::kLong).device(device));
    in->orders = {forward, forward.flip(0)};
    in->g_orders = {in->g, in->g.flip(2)};
  }
  inputs_ = std::move(in);
  return inputs_.get();
}

absl::StatusOr<double> AttentionTimer::SecondsPerSequence(kernels::Form form, int64_t length,
                                                          int64_t batch, int64_t chunk_size) {
  if (length < 1 || batch < 1 || chunk_size < 1) {
    return absl::InvalidArgumentError("attention timer: length, batch and chunk must be positive");
  }
  const std::string what = absl::StrCat("attention timer: the ", kernels::FormName(form),
                                        " form at batch ", batch, ", length ", length);
  try {
    c10::InferenceMode guard;
    // LibTorch's current device (and stream) is the model's, as on its runner.
    const at::Device device(options_.device);
    const c10::OptionalDeviceGuard device_guard(
        device.is_cuda() ? std::optional<c10::Device>(device) : std::nullopt);
    // Per calling thread in LibTorch's OpenMP build, as in TorchModel::Forward.
    if (options_.threads > 0 && at::get_num_threads() != options_.threads) {
      at::set_num_threads(static_cast<int>(options_.threads));
    }
    ASSIGN_OR_RETURN(const Inputs* in, InputsFor(length, batch));
    kernels::AttentionOptions ao;
    ao.form = form;
    ao.chunk_size = chunk_size;
    ao.normalize = options_.normalize;
    ao.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(options_.head_dim)) /
                                  static_cast<double>(options_.orders));
    auto call = [&]() -> absl::StatusOr<at::Tensor> {
      if (options_.orders == 2) {
        return kernels::LionAttentionMultiOrder(in->q, in->k, in->v, in->orders, in->g_orders, ao);
      }
      return kernels::LionAttention(in->q, in->k, in->v, in->g, in->lengths, ao);
    };
    double best = std::numeric_limits<double>::infinity(), total = 0;
    for (int calls = 0; calls < options_.min_calls ||
                        (total < options_.min_total_seconds && calls < options_.max_calls);
         ++calls) {
      options_.synchronize();
      const TimePoint start = options_.clock->Now();
      absl::StatusOr<at::Tensor> y = call();
      options_.synchronize();
      const double seconds = std::chrono::duration<double>(options_.clock->Now() - start).count();
      if (!y.ok()) return absl::InternalError(absl::StrCat(what, ": ", y.status().message()));
      best = std::min(best, seconds);
      total += seconds;
    }
    return best / static_cast<double>(batch);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace lion::runtime

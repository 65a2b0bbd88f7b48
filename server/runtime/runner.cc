#include "server/runtime/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/allocator.h"

namespace lion::runtime {
namespace {

int64_t Micros(Duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Batches of at least this many padded tokens return the allocator's free
// memory afterwards (at hidden size 128, one activation is then >= 32 MiB).
constexpr int64_t kReleaseMemoryAfterTokens = 1 << 16;

bool AllFinite(const SequenceOutput& o) {
  for (const std::vector<float>* v : {&o.logits, &o.pooled, &o.token_embeddings, &o.mlm_logits}) {
    for (float x : *v) {
      if (!std::isfinite(x)) return false;
    }
  }
  return true;
}

// Failures inside the model are INTERNAL and name it; input errors keep their code.
absl::Status WithModel(const absl::Status& s, const std::string& model) {
  return absl::Status(s.code(), absl::StrCat("model ", model, ": ", s.message()));
}

}  // namespace

AttentionDims DimsOf(const ModelDescription& d) {
  AttentionDims dims;
  dims.heads = std::max<int64_t>(1, d.num_heads);
  dims.head_dim = std::max<int64_t>(1, d.hidden_size / dims.heads);
  dims.orders = d.order == "natural" ? 2 : 1;
  return dims;
}

absl::StatusOr<std::unique_ptr<Runner>> Runner::Create(std::unique_ptr<Model> model,
                                                       const FormLimits& limits, Clock* clock,
                                                       metrics::Metrics* metrics) {
  if (model == nullptr || clock == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("runner: needs a model, a clock and metrics");
  }
  if (limits.chunk_size < 1 || limits.memory_budget_bytes < 1) {
    return absl::InvalidArgumentError("runner: chunk size and memory budget must be positive");
  }
  return std::unique_ptr<Runner>(new Runner(std::move(model), limits, clock, metrics));
}

Runner::Runner(std::unique_ptr<Model> model, const FormLimits& limits, Clock* clock,
               metrics::Metrics* metrics)
    : model_(std::move(model)),
      description_(model_->description()),
      limits_(limits),
      dims_(DimsOf(description_)),
      clock_(clock),
      metrics_(metrics) {
  thread_ = std::thread([this] { Loop(); });
}

Runner::~Runner() { Stop(); }

void Runner::Submit(Batch batch) {
  std::string why;
  {
    absl::MutexLock lock(&mu_);
    while (!stopping_ && !inbox_.empty()) cv_.Wait(&mu_);
    if (!stopping_) {
      inbox_.push_back(std::move(batch));
      cv_.SignalAll();
      return;
    }
    why = abort_reason_.empty() ? "is stopped" : abort_reason_;
  }
  for (auto& r : batch) {
    r->done(absl::UnavailableError(absl::StrCat("model ", description_.name, " ", why)));
  }
}

void Runner::SetOnIdle(std::function<void(const BatchCost&)> on_idle) {
  absl::MutexLock lock(&mu_);
  on_idle_ = std::move(on_idle);
}

void Runner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void Runner::Abort(const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (abort_reason_.empty()) abort_reason_ = reason;
    aborted_.store(true);
  }
  Stop();
}

void Runner::Loop() {
  while (true) {
    Batch batch;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && inbox_.empty()) cv_.Wait(&mu_);
      if (inbox_.empty()) return;  // stopping, nothing left
      batch = std::move(inbox_.front());
      inbox_.pop_front();
      cv_.SignalAll();  // room for the next batch
    }
    Execute(std::move(batch));
    std::function<void(const BatchCost&)> on_idle;
    {
      absl::MutexLock lock(&mu_);
      if (inbox_.empty()) on_idle = on_idle_;
    }
    if (on_idle) on_idle(batch_cost_.Estimate());
  }
}

absl::Status Runner::Gone(const Request& r, TimePoint now, bool computed) {
  const std::string& name = description_.name;
  if (aborted_.load()) {
    absl::MutexLock lock(&mu_);
    return absl::UnavailableError(absl::StrCat("model ", name, " ", abort_reason_));
  }
  // Deadline first: gRPC cancels a call whose deadline passed, and that is
  // a deadline, not a client that left.
  if (r.deadline <= now) {
    metrics_->RecordReject(name, metrics::RejectReason::kDeadline);
    return absl::DeadlineExceededError(computed ? "deadline passed during compute"
                                                : "deadline passed before compute");
  }
  if (r.IsCancelled()) {
    metrics_->RecordReject(name, metrics::RejectReason::kCancelled);
    return absl::CancelledError("request cancelled");
  }
  return absl::OkStatus();
}

std::vector<absl::StatusOr<SequenceOutput>> Runner::Compute(const Batch& live,
                                                            const BatchOptions& options) {
  auto forward = [&](const std::vector<const Request*>& requests)
      -> absl::StatusOr<std::vector<SequenceOutput>> {
    std::vector<const SequenceInput*> inputs;
    std::vector<const OutputRequest*> outputs;
    for (const Request* r : requests) {
      inputs.push_back(&r->input);
      outputs.push_back(&r->outputs);
    }
    absl::StatusOr<std::vector<SequenceOutput>> result;
    // The last resort that keeps the runner thread (and the server) alive:
    // any Model, not only the LibTorch one, may throw anything. The torch
    // model already turns LibTorch's exceptions into statuses (TorchCall).
    try {
      result = model_->Forward(inputs, outputs, options);
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("forward threw: ", e.what()));
    } catch (...) {
      result = absl::InternalError("forward threw an unknown exception");
    }
    if (result.ok() && result->size() != requests.size()) {
      result = absl::InternalError(absl::StrCat("forward returned ", result->size(),
                                                " outputs for ", requests.size(), " inputs"));
    }
    return result;
  };
  std::vector<const Request*> all;
  for (const auto& r : live) all.push_back(r.get());
  auto batched = forward(all);
  std::vector<absl::StatusOr<SequenceOutput>> results;
  if (batched.ok()) {
    for (auto& out : *batched) results.push_back(std::move(out));
    return results;
  }
  // A stopped forward has nobody to answer; otherwise find who failed it.
  if (live.size() == 1 || batched.status().code() == absl::StatusCode::kCancelled) {
    results.assign(live.size(), batched.status());
    return results;
  }
  for (const Request* r : all) {
    auto alone = forward({r});
    if (alone.ok()) {
      results.push_back(std::move((*alone)[0]));
    } else {
      results.push_back(alone.status());
    }
  }
  return results;
}

void Runner::Execute(Batch batch) {
  const std::string& name = description_.name;
  const TimePoint start = clock_->Now();
  Batch live;
  for (auto& r : batch) {
    if (absl::Status gone = Gone(*r, start, /*computed=*/false); !gone.ok()) {
      r->done(gone);
    } else {
      live.push_back(std::move(r));
    }
  }
  if (live.empty()) return;

  int64_t padded = 0;
  for (const auto& r : live) padded = std::max(padded, r->length);
  const int64_t size = static_cast<int64_t>(live.size());
  BatchOptions options;
  options.chunk_size = limits_.chunk_size;
  options.form = live.front()->forced_form.value_or(ChooseForm(limits_, dims_, size, padded));
  options.should_stop = [this, &live] {
    if (aborted_.load()) return true;
    const TimePoint now = clock_->Now();
    for (const auto& r : live) {
      if (!r->IsCancelled() && r->deadline > now) return false;
    }
    return true;
  };

  std::vector<absl::StatusOr<SequenceOutput>> results = Compute(live, options);
  const TimePoint end = clock_->Now();
  const std::string form(kernels::FormName(options.form));
  metrics_->RecordBatch(name, form, size, size * padded, Seconds(end - start));
  batch_cost_.Add(size * padded, Seconds(end - start));  // for the batcher's wait estimate
  for (size_t i = 0; i < live.size(); ++i) {
    Request& r = *live[i];
    metrics_->ObserveQueueSeconds(name, Seconds(start - r.arrival));
    if (absl::Status gone = Gone(r, clock_->Now(), /*computed=*/true); !gone.ok()) {
      r.done(gone);
    } else if (!results[i].ok()) {
      r.done(WithModel(results[i].status(), name));
    } else if (!AllFinite(*results[i])) {
      r.done(absl::InternalError(absl::StrCat(
          "model ", name, ": the output has non-finite values (NaN or Inf); the input may be "
          "outside the range the model handles")));
    } else {
      Result out;
      out.output = *std::move(results[i]);
      out.usage = Usage{r.length, options.form, size, Micros(start - r.arrival),
                        Micros(end - start), Micros(clock_->Now() - r.arrival)};
      r.done(std::move(out));
    }
  }
  // A huge batch (a long document) leaves its activations cached in the
  // allocator; hand them back so one request does not pin gigabytes. Done
  // after every response is out: the batch's own requests do not wait, the
  // next batch does (306 ms for 4 GiB here; the 1M-token request that frees
  // about that much computes for 7.6 s).
  if (size * padded >= kReleaseMemoryAfterTokens) ReleaseFreeMemory();
}

}  // namespace lion::runtime

#include "server/batching/batcher.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lion::batching {
namespace {

using Dropped = std::vector<std::pair<std::unique_ptr<runtime::Request>, absl::Status>>;

// The policy only batches requests of one group: one per forced form.
int GroupOf(const runtime::Request& r) {
  return r.forced_form.has_value() ? static_cast<int>(*r.forced_form) : 0;
}

BatchLimits LimitsFrom(const config::BatchingOptions& o) {
  BatchLimits limits;
  limits.max_batch_tokens = o.max_batch_tokens;
  limits.max_batch_size = o.max_batch_size;
  limits.max_queue_delay = std::chrono::microseconds(o.max_queue_delay_us);
  return limits;
}

// The longest real-time sleep between looks at the queue; with a FakeClock,
// time only moves when a test says so (and calls Wake()).
constexpr auto kMaxSleep = std::chrono::milliseconds(100);

}  // namespace

absl::StatusOr<std::unique_ptr<Batcher>> Batcher::Create(const BatcherOptions& options,
                                                         Clock* clock, metrics::Metrics* metrics,
                                                         Dispatch dispatch) {
  const config::BatchingOptions& l = options.limits;
  if (l.max_batch_tokens < 1 || l.max_batch_size < 1 || l.max_queue_size < 1 ||
      l.max_queue_tokens < 1 || l.max_queue_delay_us < 0) {
    return absl::InvalidArgumentError("batcher: limits must be positive");
  }
  if (!dispatch || clock == nullptr || metrics == nullptr) {
    return absl::InvalidArgumentError("batcher: needs a clock, metrics and a dispatch");
  }
  return std::unique_ptr<Batcher>(new Batcher(options, clock, metrics, std::move(dispatch)));
}

Batcher::Batcher(const BatcherOptions& options, Clock* clock, metrics::Metrics* metrics,
                 Dispatch dispatch)
    : options_(options),
      limits_(LimitsFrom(options.limits)),
      clock_(clock),
      metrics_(metrics),
      dispatch_(std::move(dispatch)) {
  thread_ = std::thread([this] { Loop(); });
}

Batcher::~Batcher() { Stop(); }

std::string Batcher::RefusalReason(const runtime::Request& request, TimePoint now) const {
  const config::BatchingOptions& l = options_.limits;
  if (std::string full = FullByCount(); !full.empty()) return full;
  if (!queue_.empty() && queued_tokens_ + request.length > l.max_queue_tokens) {
    return absl::StrCat("queue of model ", options_.model, " holds ", queued_tokens_,
                        " tokens; ", request.length, " more exceed --max_queue_tokens=",
                        l.max_queue_tokens);
  }
  if (queue_.empty() || !batch_cost_.known() || request.deadline == TimePoint::max()) return "";
  // The queue ahead of it, in the fewest batches the limits allow, at what
  // batches recently cost (the running batch is not counted: this errs
  // towards admitting).
  const auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  const int64_t batches =
      std::max({int64_t{1}, ceil_div(queued_tokens_, std::max<int64_t>(1, l.max_batch_tokens)),
                ceil_div(static_cast<int64_t>(queue_.size()), std::max<int64_t>(1, l.max_batch_size))});
  const auto wait = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(batch_cost_.Seconds(batches, queued_tokens_)));
  if (now + wait <= request.deadline) return "";
  const auto ms = [](Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  return absl::StrCat("model ", options_.model, ": estimated queue wait of ", ms(wait),
                      " ms exceeds the request's deadline (", ms(request.deadline - now),
                      " ms left)");
}

absl::Status Batcher::CheckRoom() const {
  std::string why;
  {
    absl::MutexLock lock(&mu_);
    why = FullByCount();
  }
  if (why.empty()) return absl::OkStatus();
  metrics_->RecordReject(options_.model, metrics::RejectReason::kOverloaded);
  return absl::ResourceExhaustedError(why);
}

std::string Batcher::FullByCount() const {
  if (static_cast<int64_t>(queue_.size()) < options_.limits.max_queue_size) return "";
  return absl::StrCat("queue of model ", options_.model, " is full (--max_queue_size=",
                      options_.limits.max_queue_size, ")");
}

absl::Status Batcher::Submit(std::unique_ptr<runtime::Request> request) {
  std::string why;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::UnavailableError(absl::StrCat("model ", options_.model, " ", stop_why_));
    }
    const TimePoint now = clock_->Now();
    // Expired already (a deadline shorter than the way here): that is the
    // answer, not overload, whatever the queue holds.
    if (request->deadline <= now) {
      return absl::DeadlineExceededError(
          absl::StrCat("model ", options_.model, ": the deadline passed before the request was queued"));
    }
    why = RefusalReason(*request, now);
    if (why.empty()) {
      request->arrival = now;
      queued_tokens_ += request->length;
      queue_.push_back(std::move(request));
      metrics_->SetQueueDepth(options_.model, static_cast<int64_t>(queue_.size()));
    }
  }
  if (!why.empty()) {
    metrics_->RecordReject(options_.model, metrics::RejectReason::kOverloaded);
    return absl::ResourceExhaustedError(why);
  }
  cv_.Signal();
  return absl::OkStatus();
}

void Batcher::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
  cv_.Signal();
}

void Batcher::RunnerIdle(const runtime::BatchCost& cost) {
  absl::MutexLock lock(&mu_);
  runner_idle_ = true;
  if (cost.known()) batch_cost_ = cost;
  woken_ = true;
  cv_.Signal();
}

void Batcher::Flush() {
  absl::MutexLock lock(&mu_);
  flush_ = true;
  woken_ = true;
  cv_.Signal();
}

int64_t Batcher::depth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

int64_t Batcher::queued_tokens() const {
  absl::MutexLock lock(&mu_);
  return queued_tokens_;
}

bool Batcher::WaitUntilIdleAt(TimePoint at, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto seen = [this, at]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return idle_at_ >= at; };
  return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
}

runtime::Batch Batcher::TakePlanned(const BatchPlan& plan, Dropped* dropped) {
  std::vector<bool> taken(queue_.size(), false);
  for (size_t i : plan.cancelled) {
    dropped->emplace_back(std::move(queue_[i]), absl::CancelledError("request cancelled"));
    taken[i] = true;
  }
  for (size_t i : plan.expired) {
    dropped->emplace_back(std::move(queue_[i]),
                          absl::DeadlineExceededError("deadline passed before compute"));
    taken[i] = true;
  }
  runtime::Batch batch;
  for (size_t i : plan.batch) {
    batch.push_back(std::move(queue_[i]));
    taken[i] = true;
  }
  size_t kept = 0;
  queued_tokens_ = 0;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (taken[i]) continue;
    queued_tokens_ += queue_[i]->length;
    queue_[kept++] = std::move(queue_[i]);
  }
  queue_.resize(kept);
  metrics_->SetQueueDepth(options_.model, static_cast<int64_t>(kept));
  return batch;
}

void Batcher::Loop() {
  mu_.Lock();
  while (!stopping_) {
    std::vector<PendingRequest> pending;
    pending.reserve(queue_.size());
    for (const auto& r : queue_) {
      pending.push_back({r->length, r->arrival, r->deadline, r->IsCancelled(), GroupOf(*r)});
    }
    const TimePoint now = clock_->Now();
    BatchPlan plan = PlanBatch(pending, now, limits_, flush_);
    // Runner busy: keep the batch open (it grows) but still drop what expired.
    if (!plan.batch.empty() && options_.wait_for_idle_runner && !runner_idle_) {
      plan.batch.clear();
      plan.wake_at = now + std::chrono::milliseconds(5);  // RunnerIdle() normally comes first
    }
    Dropped dropped;
    runtime::Batch batch = TakePlanned(plan, &dropped);
    if (!batch.empty() && options_.wait_for_idle_runner) runner_idle_ = false;
    if (!dropped.empty() || !batch.empty()) {
      mu_.Unlock();
      for (auto& [request, status] : dropped) {
        metrics_->RecordReject(options_.model, absl::IsCancelled(status)
                                                   ? metrics::RejectReason::kCancelled
                                                   : metrics::RejectReason::kDeadline);
        request->done(status);
      }
      if (!batch.empty()) dispatch_(std::move(batch));
      mu_.Lock();
      continue;
    }
    // Sleep (releasing mu_) until the plan's wake-up time (capped: with a
    // FakeClock only Wake() moves things), a new arrival, Wake, RunnerIdle,
    // Flush or Stop. With requests queued but no wake-up time, only
    // cancellation can change the plan, so look again now and then.
    idle_at_ = now;
    const bool timed = plan.wake_at.has_value() || !queue_.empty();
    const Duration sleep =
        plan.wake_at.has_value() ? std::min<Duration>(*plan.wake_at - now, kMaxSleep) : kMaxSleep;
    const absl::Time until = absl::Now() + absl::FromChrono(sleep);
    const size_t seen = queue_.size();
    while (!stopping_ && !woken_ && queue_.size() == seen) {
      if (!timed) {
        cv_.Wait(&mu_);
      } else if (cv_.WaitWithDeadline(&mu_, until)) {
        break;  // timed out
      }
    }
    woken_ = false;
  }
  // Leftovers: never computed.
  std::deque<std::unique_ptr<runtime::Request>> leftovers = std::move(queue_);
  queue_.clear();
  queued_tokens_ = 0;
  metrics_->SetQueueDepth(options_.model, 0);
  const absl::Status stopped =
      absl::UnavailableError(absl::StrCat("model ", options_.model, " ", stop_why_));
  mu_.Unlock();
  for (auto& r : leftovers) r->done(stopped);
}

void Batcher::Stop(const std::string& why) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) stop_why_ = why;
    stopping_ = true;
    cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace lion::batching

#include "client/load_generator.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/rate_limiter.h"

namespace lion::client {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Waits on `cv` until signalled or `until` passes.
void WaitUntil(absl::CondVar& cv, absl::Mutex& mu, TimePoint until)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  cv.WaitWithTimeout(&mu, absl::FromChrono(std::max(until - SteadyClock::now(), Duration::zero())));
}

// Shared with the completion callbacks, which may outlive RunLoad when the
// drain times out; hence owned by shared_ptr.
struct RunState {
  absl::Mutex mu;
  absl::CondVar cv;
  int64_t in_flight ABSL_GUARDED_BY(mu) = 0;
  int64_t sent_total ABSL_GUARDED_BY(mu) = 0;
  int64_t completed_total ABSL_GUARDED_BY(mu) = 0;
  int64_t errors_total ABSL_GUARDED_BY(mu) = 0;
  TimePoint last_completion ABSL_GUARDED_BY(mu);
  LoadReport report ABSL_GUARDED_BY(mu);
  double sum_queue_us ABSL_GUARDED_BY(mu) = 0;
  double sum_compute_us ABSL_GUARDED_BY(mu) = 0;
  double sum_total_us ABSL_GUARDED_BY(mu) = 0;
};

void RecordCompletion(RunState& s, TimePoint sent_at, bool measured, const RequestResult& r) {
  const TimePoint now = SteadyClock::now();
  absl::MutexLock lock(&s.mu);
  --s.in_flight;
  ++s.completed_total;
  if (r.code != 0) ++s.errors_total;
  if (measured) {
    LoadReport& rep = s.report;
    ++rep.completed;
    ++rep.codes[r.code];
    if (r.code == 0)
      rep.latency_us.Add(std::chrono::duration<double, std::micro>(now - sent_at).count());
    if (r.has_usage) {
      ++rep.usage_count;
      s.sum_queue_us += static_cast<double>(r.queue_us);
      s.sum_compute_us += static_cast<double>(r.compute_us);
      s.sum_total_us += static_cast<double>(r.total_us);
    }
    s.last_completion = std::max(s.last_completion, now);
  }
  s.cv.SignalAll();
}

// Calls on_progress once per interval; owns the "last interval" counters.
class ProgressTicker {
 public:
  ProgressTicker(const LoadOptions& o, TimePoint start, TimePoint measure_start)
      : options_(o),
        start_(start),
        measure_start_(measure_start),
        next_(start + o.progress_interval) {}
  TimePoint next() const { return next_; }
  void MaybeReport(RunState& s, TimePoint now) {
    if (now < next_) return;
    LoadProgress p;
    {
      absl::MutexLock lock(&s.mu);
      p = {Seconds(now - start_),
           now < measure_start_,
           s.sent_total,
           s.completed_total,
           s.errors_total,
           s.in_flight,
           0};
    }
    p.recent_rate = static_cast<double>(p.completed - last_completed_) / Seconds(now - last_time_);
    last_completed_ = p.completed;
    last_time_ = now;
    next_ = now + options_.progress_interval;
    if (options_.on_progress) options_.on_progress(p);
  }

 private:
  const LoadOptions& options_;
  TimePoint start_, measure_start_, next_;
  TimePoint last_time_ = start_;
  int64_t last_completed_ = 0;
};

// Waits until a request may start or `wake` passes; true when it may start
// now. Closed loop: a free slot. Open loop: a due slot and room in flight
// (a due slot without room is consumed and counted as skipped).
bool WaitForSlot(const LoadOptions& o, RunState& s, std::optional<RateLimiter>& limiter,
                 TimePoint wake, bool measured) {
  if (!limiter) {
    absl::MutexLock lock(&s.mu);
    if (s.in_flight < o.concurrency) return true;
    WaitUntil(s.cv, s.mu, wake);
    return false;
  }
  if (!limiter->TryAcquire(SteadyClock::now())) {
    std::this_thread::sleep_until(std::min(wake, limiter->NextDue()));
    return false;
  }
  absl::MutexLock lock(&s.mu);
  if (s.in_flight < o.max_in_flight) return true;
  if (measured) ++s.report.skipped;
  return false;
}

void Summarise(RunState& s, TimePoint measure_start, TimePoint stop)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
  LoadReport& rep = s.report;
  const TimePoint end = rep.completed > 0 ? s.last_completion : stop;
  rep.elapsed_s = std::max(Seconds(end - measure_start), 1e-9);
  rep.throughput = static_cast<double>(rep.completed) / rep.elapsed_s;
  rep.ok_throughput = static_cast<double>(rep.codes[0]) / rep.elapsed_s;
  if (rep.codes[0] == 0) rep.codes.erase(0);
  if (rep.usage_count > 0) {
    const double n = static_cast<double>(rep.usage_count);
    rep.avg_queue_us = s.sum_queue_us / n;
    rep.avg_compute_us = s.sum_compute_us / n;
    rep.avg_total_us = s.sum_total_us / n;
  }
}

}  // namespace

absl::Status LoadOptions::Validate() const {
  if ((concurrency > 0) == (rate > 0)) {
    return absl::InvalidArgumentError("bench: set exactly one of concurrency (> 0) or rate (> 0)");
  }
  if (max_in_flight < 1) return absl::InvalidArgumentError("bench: max_in_flight must be >= 1");
  if (duration.count() <= 0) return absl::InvalidArgumentError("bench: duration must be positive");
  if (warmup.count() < 0 || requests < 0) {
    return absl::InvalidArgumentError("bench: warmup and requests must not be negative");
  }
  if (progress_interval.count() <= 0)
    return absl::InvalidArgumentError("bench: progress interval must be positive");
  return absl::OkStatus();
}

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& o, const IssueFn& issue) {
  if (auto st = o.Validate(); !st.ok()) return st;
  auto state = std::make_shared<RunState>();
  const TimePoint start = SteadyClock::now();
  const TimePoint measure_start = start + o.warmup;
  const TimePoint stop = measure_start + o.duration;
  std::optional<RateLimiter> limiter;
  if (o.rate > 0) {
    auto created = RateLimiter::Create(o.rate, start);
    if (!created.ok()) return created.status();
    limiter = *created;
  }
  ProgressTicker ticker(o, start, measure_start);
  int64_t measured_sent = 0;
  for (TimePoint now = start; now < stop && (o.requests == 0 || measured_sent < o.requests);
       now = SteadyClock::now()) {
    ticker.MaybeReport(*state, now);
    const bool measured = now >= measure_start;
    const TimePoint wake = std::min({stop, ticker.next(), measured ? stop : measure_start});
    if (!WaitForSlot(o, *state, limiter, wake, measured)) continue;
    {
      absl::MutexLock lock(&state->mu);
      ++state->in_flight;
      ++state->sent_total;
      if (measured) ++state->report.sent;
    }
    if (measured) ++measured_sent;
    const TimePoint sent_at = SteadyClock::now();
    issue([state, sent_at, measured](const RequestResult& r) {
      RecordCompletion(*state, sent_at, measured, r);
    });
  }
  const TimePoint drain_end = SteadyClock::now() + o.drain_timeout;
  while (true) {
    const TimePoint now = SteadyClock::now();
    ticker.MaybeReport(*state, now);
    absl::MutexLock lock(&state->mu);
    if (state->in_flight == 0) break;
    if (now >= drain_end) {
      return absl::DeadlineExceededError("bench: requests still in flight after the drain timeout");
    }
    WaitUntil(state->cv, state->mu, std::min(drain_end, ticker.next()));
  }
  absl::MutexLock lock(&state->mu);
  Summarise(*state, measure_start, stop);
  state->report.mode = limiter ? "rate" : "concurrency";
  state->report.level = limiter ? o.rate : o.concurrency;
  return state->report;
}

}  // namespace lion::client

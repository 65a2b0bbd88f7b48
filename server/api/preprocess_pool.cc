#include "server/api/preprocess_pool.h"

#include "absl/strings/str_cat.h"

namespace lion::api {

absl::StatusOr<std::unique_ptr<PreprocessPool>> PreprocessPool::Create(int threads,
                                                                       int max_waiting) {
  if (threads < 1 || max_waiting < 1) {
    return absl::InvalidArgumentError("preprocess pool: threads and queue must be positive");
  }
  return std::unique_ptr<PreprocessPool>(new PreprocessPool(threads, max_waiting));
}

PreprocessPool::PreprocessPool(int threads, int max_waiting) : max_waiting_(max_waiting) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

PreprocessPool::~PreprocessPool() {
  std::deque<Job> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    left.swap(waiting_);
  }
  for (std::thread& t : threads_) t.join();
  for (Job& job : left) job.abandon();
}

absl::Status PreprocessPool::Post(std::function<void()> job, std::function<void()> abandon) {
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return absl::UnavailableError("lion-serve is shutting down");
  }
  if (static_cast<int>(waiting_.size()) >= max_waiting_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        max_waiting_, " large inputs are already waiting to be tokenized or decoded; retry later"));
  }
  waiting_.push_back({std::move(job), std::move(abandon)});
  return absl::OkStatus();
}

void PreprocessPool::Loop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](PreprocessPool* p) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return p->stopping_ || !p->waiting_.empty();
          },
          this));
      if (stopping_) return;
      job = std::move(waiting_.front());
      waiting_.pop_front();
    }
    job.run();
  }
}

}  // namespace lion::api

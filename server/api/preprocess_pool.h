// PreprocessPool: a few threads that tokenize and decode large inputs, so
// that this work never runs on gRPC's threads (where one 8 MB text would hold
// a thread for a second and several would starve every other call) and at
// most `threads` such inputs are processed at once, beside the runners.
// Small inputs are cheap and stay inline on the gRPC thread.
//
// Thread safety: Post from any thread. Not copyable. The destructor stops
// the threads; jobs still waiting then run their `abandon` instead.
#ifndef LION_SERVER_API_PREPROCESS_POOL_H_
#define LION_SERVER_API_PREPROCESS_POOL_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace lion::api {

class PreprocessPool {
 public:
  // Errors: INVALID_ARGUMENT for threads or max_waiting below 1.
  static absl::StatusOr<std::unique_ptr<PreprocessPool>> Create(int threads, int max_waiting);
  ~PreprocessPool();
  PreprocessPool(const PreprocessPool&) = delete;
  PreprocessPool& operator=(const PreprocessPool&) = delete;

  // Queues `job` (run on a pool thread); when the pool shuts down first,
  // `abandon` runs instead. RESOURCE_EXHAUSTED (neither runs) when
  // max_waiting jobs are already waiting.
  absl::Status Post(std::function<void()> job, std::function<void()> abandon);

 private:
  struct Job {
    std::function<void()> run, abandon;
  };
  PreprocessPool(int threads, int max_waiting);
  void Loop();

  const int max_waiting_;
  absl::Mutex mu_;
  std::deque<Job> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_PREPROCESS_POOL_H_

// SignalWatcher: SIGTERM and SIGINT handled on a thread of their own from the
// first line of main, so that a signal is seen whatever main is doing
// (loading a model, calibrating, draining).
//
// Start() blocks the two signals in the calling thread, which every thread
// created afterwards inherits; call it before any other thread exists. Until
// Serve() is called, a signal runs `on_signal_while_starting` on the watcher
// thread (main may be stuck in a read that never returns, so it cannot be
// asked to stop). After Serve(), signals are counted: WaitFirst() returns the
// first, and second() becomes true on the next.
//
// Thread-safe. Not copyable. The destructor stops the watcher thread.
#ifndef LION_SERVER_COMMON_SIGNAL_WATCHER_H_
#define LION_SERVER_COMMON_SIGNAL_WATCHER_H_

#include <pthread.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace lion {

class SignalWatcher {
 public:
  static std::unique_ptr<SignalWatcher> Start(std::function<void(int signal)> on_signal_while_starting);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Start-up is over: from now on signals are counted, not handled.
  void Serve();
  // Blocks until the first signal after Serve(); returns its number.
  int WaitFirst();
  // True once a further signal arrived after the first.
  const std::atomic<bool>& second() const { return second_; }

 private:
  explicit SignalWatcher(std::function<void(int)> on_signal_while_starting);
  void Loop();

  const std::function<void(int)> on_signal_while_starting_;
  absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  int first_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> second_{false};
  std::thread thread_;
};

}  // namespace lion

#endif  // LION_SERVER_COMMON_SIGNAL_WATCHER_H_

#include "server/common/signal_watcher.h"

#include <signal.h>

namespace lion {
namespace {

// SIGUSR2 only stops the watcher (sent by the destructor to its thread).
sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);
  return set;
}

}  // namespace

std::unique_ptr<SignalWatcher> SignalWatcher::Start(std::function<void(int)> on_signal_while_starting) {
  const sigset_t set = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::unique_ptr<SignalWatcher>(new SignalWatcher(std::move(on_signal_while_starting)));
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal_while_starting)
    : on_signal_while_starting_(std::move(on_signal_while_starting)) {
  thread_ = std::thread([this] { Loop(); });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

void SignalWatcher::Serve() {
  absl::MutexLock lock(&mu_);
  serving_ = true;
}

int SignalWatcher::WaitFirst() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](int* first) { return *first != 0; }, &first_));
  return first_;
}

void SignalWatcher::Loop() {
  const sigset_t set = WatchedSignals();
  while (true) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (signal == SIGUSR2) return;
    bool serving;
    {
      absl::MutexLock lock(&mu_);
      serving = serving_;
      if (serving) {
        if (first_ == 0) {
          first_ = signal;
        } else {
          second_.store(true);
        }
      }
    }
    if (!serving) on_signal_while_starting_(signal);
  }
}

}  // namespace lion

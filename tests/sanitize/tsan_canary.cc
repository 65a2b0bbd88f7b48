// Checks that the TSan setup of scripts/sanitize can be trusted in both
// directions, in one run: data handed over through absl::Mutex, absl::CondVar
// and absl::Notification (the paths the batcher and runner use) must not be
// reported, and one deliberate race on `g_unguarded` must be. scripts/sanitize
// builds and runs it before the real tests and requires exactly one report,
// naming g_unguarded.
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

absl::Mutex g_mu;
absl::CondVar g_cv;
int g_queue_item = 0;      // guarded by g_mu, handed over with g_cv
bool g_queue_full = false;  // guarded by g_mu
int g_after_notify = 0;    // written before Notify, read after WaitForNotification
int g_unguarded = 0;       // the deliberate race

void Consumer(absl::Notification* done, int* seen) {
  absl::MutexLock lock(&g_mu);
  while (!g_queue_full) g_cv.Wait(&g_mu);
  *seen = g_queue_item;
  done->WaitForNotification();
  *seen += g_after_notify;
}

}  // namespace

int main() {
  absl::Notification done;
  int seen = 0;
  std::thread consumer(Consumer, &done, &seen);
  std::thread racer([] { g_unguarded = 1; });
  {
    absl::MutexLock lock(&g_mu);
    g_queue_item = 41;
    g_queue_full = true;
    g_cv.Signal();
  }
  g_after_notify = 1;
  done.Notify();
  g_unguarded = 2;
  racer.join();
  consumer.join();
  // Reading g_unguarded keeps the compiler from dropping its stores.
  return seen == 42 && g_unguarded != 0 ? 0 : 1;
}

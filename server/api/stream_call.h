// One bidirectional stream of Task requests (ClassifyStream, EmbedStream):
// reads a request, admits it, reads the next; writes responses in completion
// order, one write in flight at a time. A request that fails (at admission or
// later) ends the stream with its status once admitted work has finished.
// Deletes itself when gRPC is done with it. Internal to inference_service.cc.
#ifndef LION_SERVER_API_STREAM_CALL_H_
#define LION_SERVER_API_STREAM_CALL_H_

#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/api/inference_service.h"
#include "server/api/status_mapping.h"

namespace lion::api {

template <typename Task>
class StreamCall final : public grpc::ServerBidiReactor<typename Task::Req, typename Task::Resp> {
 public:
  StreamCall(InferenceService* service, grpc::CallbackServerContext* ctx, const char* method)
      : service_(service), ctx_(ctx), method_(method) {
    this->StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
      MaybeFinish();
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      if (!error_.ok()) return;  // the stream is ending: read no more
      ++pending_;
    }
    const TimePoint start = service_->context().clock->Now();
    auto label = std::make_shared<std::string>();  // set once the model resolves
    absl::Status admitted = service_->Submit<Task>(
        *ctx_, in_, cancelled_,
        [this, start, label](absl::StatusOr<typename Task::Resp> r) { OnReply(std::move(r), start, *label); },
        label.get());
    if (!admitted.ok()) {
      OnReply(admitted, start, *label);
      return;
    }
    // A fast failure may already have finished the stream; StartRead does not
    // run OnReadDone inline, so holding mu_ here is safe.
    absl::MutexLock lock(&mu_);
    if (!finished_ && error_.ok()) this->StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    out_.pop_front();
    writing_ = false;
    if (!ok && error_.ok()) error_ = absl::CancelledError("stream write failed");
    WriteNext();
    MaybeFinish();
  }

  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override { delete this; }

 private:
  void OnReply(absl::StatusOr<typename Task::Resp> r, TimePoint start, const std::string& model) {
    service_->context().Record(model, method_, r.status(), start);
    absl::MutexLock lock(&mu_);
    --pending_;
    if (!r.ok()) {
      if (error_.ok()) error_ = r.status();
    } else if (error_.ok()) {
      out_.push_back(*std::move(r));
      WriteNext();
    }
    MaybeFinish();
  }

  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || out_.empty() || finished_) return;
    writing_ = true;
    this->StartWrite(&out_.front());
  }

  void MaybeFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || pending_ > 0 || writing_) return;
    if (error_.ok() && !(reads_done_ && out_.empty())) return;
    finished_ = true;
    this->Finish(ToGrpcStatus(error_));
  }

  InferenceService* const service_;
  grpc::CallbackServerContext* const ctx_;
  const char* const method_;
  typename Task::Req in_;  // the read buffer
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);

  absl::Mutex mu_;
  std::deque<typename Task::Resp> out_ ABSL_GUARDED_BY(mu_);
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lion::api

#endif  // LION_SERVER_API_STREAM_CALL_H_


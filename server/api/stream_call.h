// One bidirectional stream of Task requests (ClassifyStream, EmbedStream).
//
// Flow control: the stream reads the next message only while fewer than
// max_stream_in_flight of its messages are being computed or waiting to be
// written back. A client that sends faster than it is served is slowed by
// gRPC's own flow control (its writes block), and one that stops reading
// holds at most that many responses in the server.
//
// Responses go out in completion order, each with its request's `id`, one
// write at a time. A message that fails (at admission or later) ends the
// stream with its status, but only after every message admitted before it
// has been answered: results already computed are never discarded. A failed
// write (the client is gone) ends it with CANCELLED.
//
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
class StreamCall final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCall(InferenceService* service, grpc::CallbackServerContext* ctx, const char* method)
      : service_(service), ctx_(ctx), method_(method) {
    absl::MutexLock lock(&mu_);
    MaybeRead();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      reads_done_ = true;
      MaybeFinish();
      return;
    }
    grpc::ByteBuffer message;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      message.Swap(&in_);
      ++pending_;
    }
    const TimePoint start = service_->context().clock->Now();
    auto label = std::make_shared<std::string>();  // set once the model resolves
    service_->Start<Task>(
        *ctx_, message, cancelled_,
        [this, start, label](absl::StatusOr<typename Task::Resp> r) {
          OnReply(std::move(r), start, *label);
        },
        label);
    // Start may already have replied (and a fast failure finished the
    // stream); StartRead never runs OnReadDone inline, so holding mu_ is safe.
    absl::MutexLock lock(&mu_);
    MaybeRead();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    out_.pop_front();
    writing_ = false;
    if (!ok) {
      write_failed_ = true;
      if (error_.ok()) error_ = absl::CancelledError("stream write failed (client gone)");
    }
    WriteNext();
    MaybeRead();
    MaybeFinish();
  }

  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override { delete this; }

 private:
  void OnReply(absl::StatusOr<typename Task::Resp> r, TimePoint start, const std::string& model) {
    absl::Status status = r.status();
    grpc::ByteBuffer bytes;
    if (status.ok()) {
      status = SerializeResponse(*r, service_->context().max_message_bytes, &bytes);
    }
    service_->context().Record(model, method_, status, start);
    service_->context().RecordFront("grpc", std::string("lion.v1.Inference/") + method_, status,
                                    start);
    absl::MutexLock lock(&mu_);
    --pending_;
    if (status.ok()) {
      if (!write_failed_) out_.push_back(std::move(bytes));
      WriteNext();
    } else if (error_.ok()) {
      error_ = status;
    }
    MaybeRead();
    MaybeFinish();
  }

  void MaybeRead() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || reads_done_ || finished_ || !error_.ok()) return;
    const int64_t held = pending_ + static_cast<int64_t>(out_.size());
    if (held >= service_->context().max_stream_in_flight) return;
    reading_ = true;
    StartRead(&in_);
  }

  void WriteNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || out_.empty() || finished_ || write_failed_) return;
    writing_ = true;
    StartWrite(&out_.front());
  }

  void MaybeFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || pending_ > 0 || writing_) return;
    if (write_failed_) out_.clear();
    if (!out_.empty()) return;  // still being written
    if (error_.ok() && !reads_done_) return;
    finished_ = true;
    Finish(ToGrpcStatus(error_));
  }

  InferenceService* const service_;
  grpc::CallbackServerContext* const ctx_;
  const char* const method_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);

  // Held while starting gRPC reads, writes and Finish (gRPC never runs a
  // reaction inline from them, so none re-enters mu_); never while calling
  // the service, the dispatcher or the metrics.
  absl::Mutex mu_;
  grpc::ByteBuffer in_ ABSL_GUARDED_BY(mu_);     // the read buffer
  std::deque<grpc::ByteBuffer> out_ ABSL_GUARDED_BY(mu_);  // front: being written
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;     // admitted, not yet answered
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lion::api

#endif  // LION_SERVER_API_STREAM_CALL_H_

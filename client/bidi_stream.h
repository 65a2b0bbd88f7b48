// A typed bidirectional stream (ClassifyStream, EmbedStream) that owns its
// call context. Responses come in completion order, each with its request's
// id. One thread may Write while another Reads; each method by itself is not
// thread-safe. Not copyable or movable (gRPC holds pointers into it).
#ifndef LION_CLIENT_BIDI_STREAM_H_
#define LION_CLIENT_BIDI_STREAM_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "client/grpc_status.h"

namespace lion::client {

template <typename Request, typename Response>
class BidiStream {
 public:
  using Opener = std::function<std::unique_ptr<grpc::ClientReaderWriter<Request, Response>>(
      grpc::ClientContext*)>;

  // `context` is ready (deadline, metadata); `open` starts the call on it.
  BidiStream(std::unique_ptr<grpc::ClientContext> context, const Opener& open)
      : context_(std::move(context)), stream_(open(context_.get())) {}
  BidiStream(const BidiStream&) = delete;
  BidiStream& operator=(const BidiStream&) = delete;

  // False when the stream is broken; Finish() then tells why.
  bool Write(const Request& request) { return stream_->Write(request); }
  // Tells the server that no more requests follow.
  bool WritesDone() { return stream_->WritesDone(); }
  // The next response; nullopt once the server has ended the stream.
  std::optional<Response> Read() {
    Response response;
    if (!stream_->Read(&response)) return std::nullopt;
    return response;
  }
  // After every response was read: the stream's final status.
  absl::Status Finish() { return ToAbslStatus(stream_->Finish()); }
  // Ends the call early from any thread.
  void Cancel() { context_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
};

}  // namespace lion::client

#endif  // LION_CLIENT_BIDI_STREAM_H_

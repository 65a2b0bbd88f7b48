#include "server/api/inference_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "server/api/status_mapping.h"
#include "server/api/stream_call.h"
#include "server/api/tasks.h"
#include "server/common/status_macros.h"

namespace lion::api {
namespace {

// gRPC's deadline (system clock) on our clock.
TimePoint DeadlineOf(const grpc::CallbackServerContext& ctx, const Clock& clock) {
  const auto deadline = ctx.deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return TimePoint::max();
  }
  const auto left = deadline - std::chrono::system_clock::now();
  return clock.Now() + std::chrono::duration_cast<Duration>(left);
}

// A unary call completed later by the runner; deletes itself when gRPC is done.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  void OnCancel() override { cancelled->store(true); }
  void OnDone() override { delete this; }
};

// Inputs above these sizes are tokenized or decoded on the preprocess pool
// (below them it takes well under a millisecond).
constexpr size_t kInlineTextBytes = 16 << 10;
constexpr size_t kInlineImageBytes = 256 << 10;
// Large inputs that may wait for the pool before new ones are refused.
constexpr int kPoolQueue = 64;

template <typename Req>
bool IsLarge(const Req& req) {
  if (req.text().size() > kInlineTextBytes) return true;
  if constexpr (requires { req.image(); }) {
    const v1::Image& image = req.image();
    return image.encoded().size() > kInlineImageBytes ||
           static_cast<size_t>(image.pixels().data_size()) * sizeof(float) > kInlineImageBytes;
  }
  return false;
}

}  // namespace

absl::Status ServiceContext::Authenticate(const grpc::CallbackServerContext& ctx) const {
  if (keys == nullptr) return absl::OkStatus();
  absl::Status s = keys->Check(ctx.client_metadata());
  if (!s.ok()) metrics->RecordReject("", metrics::RejectReason::kUnauthenticated);
  return s;
}

void ServiceContext::Record(const std::string& model, const std::string& method,
                            const absl::Status& status, TimePoint start) const {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    metrics->RecordReject(model, metrics::RejectReason::kInvalid);
  }
  metrics->RecordRequest(model, method, CodeName(status.code()),
                         std::chrono::duration<double>(clock->Now() - start).count());
}

absl::StatusOr<std::unique_ptr<InferenceService>> InferenceService::Create(
    const ServiceContext& context) {
  if (context.models == nullptr || context.metrics == nullptr || context.clock == nullptr) {
    return absl::InvalidArgumentError("inference service: needs models, metrics and a clock");
  }
  ASSIGN_OR_RETURN(auto pool,
                   PreprocessPool::Create(std::max(1, context.preprocess_threads), kPoolQueue));
  return std::unique_ptr<InferenceService>(new InferenceService(context, std::move(pool)));
}

void InferenceService::Preprocess(bool large, std::function<void()> job,
                                  std::function<void(absl::Status)> fail) {
  if (!large) return job();
  absl::Status posted = pool_->Post(std::move(job), [fail] {
    fail(absl::UnavailableError("lion-serve is shutting down"));
  });
  if (!posted.ok()) {
    if (posted.code() == absl::StatusCode::kResourceExhausted) {
      ctx_.metrics->RecordReject("", metrics::RejectReason::kOverloaded);
    }
    fail(posted);
  }
}

template <typename Task>
void InferenceService::Start(const grpc::CallbackServerContext& ctx, const grpc::ByteBuffer& bytes,
                             std::shared_ptr<std::atomic<bool>> cancelled,
                             std::function<void(absl::StatusOr<typename Task::Resp>)> reply,
                             std::shared_ptr<std::string> label) {
  using Req = typename Task::Req;
  using Resp = typename Task::Resp;
  if (ctx_.gate != nullptr) {
    absl::StatusOr<std::shared_ptr<DrainGate::Pass>> pass = ctx_.gate->Enter();
    if (!pass.ok()) return reply(pass.status());
    // The pass is held until the last copy of the reply is gone, which is
    // after the reply went out: a drain waits for it.
    reply = [reply = std::move(reply), pass = *std::move(pass)](absl::StatusOr<Resp> r) {
      reply(std::move(r));
    };
  }
  if (absl::Status s = ctx_.Authenticate(ctx); !s.ok()) return reply(s);
  auto req = std::make_shared<Req>();
  if (absl::Status s = ParseRequest(bytes, ctx_.wire, req.get()); !s.ok()) return reply(s);
  absl::StatusOr<const ServedModel*> found = ctx_.models->Find(req->model());
  if (!found.ok()) return reply(found.status());
  const ServedModel* model = *found;
  *label = model->description.name;
  if constexpr (!requires { &Task::Respond; }) {
    // Overloaded: refuse before spending anything on tokenizing.
    if (absl::Status s = model->batcher->CheckRoom(); !s.ok()) return reply(s);
  }
  const TimePoint deadline = DeadlineOf(ctx, *ctx_.clock);
  const bool large = IsLarge(*req);
  auto job = [this, req, model, deadline, cancelled, reply]() {
    Clock* clock = ctx_.clock;
    auto should_stop = [&cancelled, deadline, clock] {
      return cancelled->load() || clock->Now() >= deadline;
    };
    auto stopped = [&](const absl::Status& s) {
      if (s.code() != absl::StatusCode::kCancelled) return s;
      return clock->Now() >= deadline
                 ? absl::DeadlineExceededError("deadline passed while tokenizing")
                 : absl::CancelledError("request cancelled");
    };
    if constexpr (requires { &Task::Respond; }) {
      absl::StatusOr<Resp> resp = Task::Respond(*req, *model, should_stop);
      return reply(resp.ok() ? std::move(resp) : absl::StatusOr<Resp>(stopped(resp.status())));
    } else {
      absl::StatusOr<std::unique_ptr<runtime::Request>> request =
          Task::Build(*req, *model, should_stop);
      if (!request.ok()) return reply(stopped(request.status()));
      req->clear_input();  // Fill needs only the options; the input may be large
      runtime::Request& r = **request;
      r.deadline = deadline;
      r.cancelled = cancelled;
      ctx_.metrics->ObserveInputTokens(model->description.name, r.length);
      r.done = [model, req, asked = r.outputs, reply](absl::StatusOr<runtime::Result> result) {
        if (!result.ok()) return reply(result.status());
        Resp resp;
        resp.set_id(req->id());
        resp.set_model(model->description.name);
        Task::Fill(*req, *model, asked, *std::move(result), &resp);
        reply(std::move(resp));
      };
      if (absl::Status admitted = model->batcher->Submit(*std::move(request)); !admitted.ok()) {
        reply(admitted);
      }
    }
  };
  Preprocess(large, std::move(job), [reply](absl::Status s) { reply(s); });
}

template <typename Task>
grpc::ServerUnaryReactor* InferenceService::Unary(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* req,
                                                  grpc::ByteBuffer* resp) {
  auto* call = new UnaryCall();
  const TimePoint start = ctx_.clock->Now();
  auto label = std::make_shared<std::string>();  // set once the model resolves
  auto finish = [this, call, resp, start, label](absl::StatusOr<typename Task::Resp> result) {
    absl::Status status = result.status();
    if (status.ok()) status = SerializeResponse(*result, ctx_.max_message_bytes, resp);
    ctx_.Record(*label, Task::kMethod, status, start);
    call->Finish(ToGrpcStatus(status));
  };
  Start<Task>(*ctx, *req, call->cancelled, std::move(finish), label);
  return call;
}

grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* req,
                                                     grpc::ByteBuffer* resp) {
  return Unary<ClassifyTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::Embed(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* req,
                                                  grpc::ByteBuffer* resp) {
  return Unary<EmbedTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::FillMask(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* req,
                                                     grpc::ByteBuffer* resp) {
  return Unary<FillMaskTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* req,
                                                     grpc::ByteBuffer* resp) {
  return Unary<TokenizeTask>(ctx, req, resp);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InferenceService::ClassifyStream(
    grpc::CallbackServerContext* ctx) {
  return new StreamCall<ClassifyTask>(this, ctx, "ClassifyStream");
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InferenceService::EmbedStream(
    grpc::CallbackServerContext* ctx) {
  return new StreamCall<EmbedTask>(this, ctx, "EmbedStream");
}

}  // namespace lion::api

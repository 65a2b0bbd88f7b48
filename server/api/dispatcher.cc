#include "server/api/dispatcher.h"

#include <algorithm>

#include "server/api/tasks.h"
#include "server/common/status_macros.h"

namespace lion::api {
namespace {

// Large inputs that may wait for the pool before new ones are refused.
constexpr int kPoolQueue = 64;

// The lion.v1 message that carries a request's model, input and options.
template <typename Req>
auto& MessageOf(Req& req) {
  if constexpr (std::is_same_v<std::remove_const_t<Req>, InferRow>) {
    return req.input;
  } else {
    return req;
  }
}

template <typename Req>
bool IsLarge(const Req& req) {
  const auto& m = MessageOf(req);
  if (m.text().size() > kInlineTextBytes) return true;
  if constexpr (requires { m.image(); }) {
    const v1::Image& image = m.image();
    return image.encoded().size() > kInlineImageBytes ||
           static_cast<size_t>(image.pixels().data_size()) * sizeof(float) > kInlineImageBytes;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Create(const ServiceContext& context) {
  if (context.models == nullptr || context.metrics == nullptr || context.clock == nullptr) {
    return absl::InvalidArgumentError("dispatcher: needs models, metrics and a clock");
  }
  ASSIGN_OR_RETURN(auto pool,
                   PreprocessPool::Create(std::max(1, context.preprocess_threads), kPoolQueue));
  return std::unique_ptr<Dispatcher>(new Dispatcher(context, std::move(pool)));
}

absl::StatusOr<std::shared_ptr<DrainGate::Pass>> Dispatcher::Enter() const {
  if (ctx_.gate == nullptr) return std::shared_ptr<DrainGate::Pass>();
  return ctx_.gate->Enter();
}

void Dispatcher::Preprocess(bool large, std::function<void()> job,
                            std::function<void(absl::Status)> fail) {
  if (!large) return job();
  absl::Status posted = pool_->Post(
      std::move(job), [fail] { fail(absl::UnavailableError("lion-serve is shutting down")); });
  if (!posted.ok()) {
    if (posted.code() == absl::StatusCode::kResourceExhausted) {
      ctx_.metrics->RecordReject("", metrics::RejectReason::kOverloaded);
    }
    fail(posted);
  }
}

template <typename Task>
void Dispatcher::Run(std::shared_ptr<typename Task::Req> req, const CallOptions& call,
                     Reply<typename Task::Resp> reply, std::shared_ptr<std::string> label) {
  absl::StatusOr<repository::ModelRef> found = ctx_.models->Find(MessageOf(*req).model());
  if (!found.ok()) return reply(found.status());
  repository::ModelRef model = *std::move(found);
  *label = model->description.name;
  if constexpr (!requires { &Task::Respond; }) {
    // Overloaded: refuse before spending anything on tokenizing.
    if (absl::Status s = model->batcher->CheckRoom(); !s.ok()) return reply(s);
  }
  const bool large = IsLarge(*req);
  Preprocess(
      large, [this, req, model, call, reply] { BuildAndSubmit<Task>(req, model, call, reply); },
      [reply](absl::Status s) { reply(s); });
}

template <typename Task>
void Dispatcher::BuildAndSubmit(std::shared_ptr<typename Task::Req> req, repository::ModelRef model,
                                const CallOptions& call, Reply<typename Task::Resp> reply) {
  using Resp = typename Task::Resp;
  Clock* clock = ctx_.clock;
  const TimePoint deadline = call.deadline;
  const std::shared_ptr<std::atomic<bool>>& cancelled = call.cancelled;
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
    MessageOf(*req).clear_input();  // Fill needs only the options; the input may be large
    runtime::Request& r = **request;
    r.deadline = deadline;
    r.cancelled = cancelled;
    ctx_.metrics->ObserveInputTokens(model->description.name, r.length);
    r.done = [model, req, asked = r.outputs, reply](absl::StatusOr<runtime::Result> result) {
      if (!result.ok()) return reply(result.status());
      Resp resp;
      if constexpr (requires { resp.set_id(""); }) {
        resp.set_id(req->id());
        resp.set_model(model->description.name);
      }
      Task::Fill(*req, *model, asked, *std::move(result), &resp);
      reply(std::move(resp));
    };
    if (absl::Status admitted = model->batcher->Submit(*std::move(request)); !admitted.ok()) {
      reply(admitted);
    }
  }
}

#define LION_INSTANTIATE_TASK(Task)                                                                \
  template void Dispatcher::Run<Task>(std::shared_ptr<Task::Req>, const CallOptions&,              \
                                      Reply<Task::Resp>, std::shared_ptr<std::string>);            \
  template void Dispatcher::BuildAndSubmit<Task>(std::shared_ptr<Task::Req>, repository::ModelRef, \
                                                 const CallOptions&, Reply<Task::Resp>);
LION_INSTANTIATE_TASK(ClassifyTask)
LION_INSTANTIATE_TASK(EmbedTask)
LION_INSTANTIATE_TASK(FillMaskTask)
LION_INSTANTIATE_TASK(TokenizeTask)
LION_INSTANTIATE_TASK(InferRowTask)
#undef LION_INSTANTIATE_TASK

}  // namespace lion::api

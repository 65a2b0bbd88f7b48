#include "server/api/oip_call.h"

#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace lion::api {
namespace {

// Collects one result per row and replies when the last arrives.
class Gather {
 public:
  Gather(OipPlan plan, OipResponse header, std::shared_ptr<std::atomic<bool>> cancelled,
         Reply<OipResponse> reply)
      : plan_(std::move(plan)),
        header_(std::move(header)),
        cancelled_(std::move(cancelled)),
        reply_(std::move(reply)),
        results_(plan_.rows.size()),
        left_(plan_.rows.size()) {}

  void Done(size_t row, absl::StatusOr<runtime::Result> result) {
    std::vector<std::optional<runtime::Result>> all;
    absl::Status error;
    {
      absl::MutexLock lock(&mu_);
      if (!result.ok() && error_.ok()) {
        error_ = result.status();
        cancelled_->store(true);  // the call fails: the other rows need not run
      }
      if (result.ok()) results_[row] = *std::move(result);
      if (--left_ > 0) return;
      all.swap(results_);
      error = error_;
    }
    if (!error.ok()) return reply_(error);
    std::vector<runtime::Result> results;
    results.reserve(all.size());
    for (auto& r : all) results.push_back(std::move(*r));
    header_.outputs = AssembleOutputs(plan_, results);
    reply_(std::move(header_));
  }

  const OipPlan& plan() const { return plan_; }

 private:
  const OipPlan plan_;
  OipResponse header_;
  const std::shared_ptr<std::atomic<bool>> cancelled_;
  const Reply<OipResponse> reply_;
  absl::Mutex mu_;
  std::vector<std::optional<runtime::Result>> results_ ABSL_GUARDED_BY(mu_);
  size_t left_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

bool IsLarge(const OipPlan& plan) {
  size_t text = 0, pixels = 0;
  for (const auto& row : plan.rows) {
    text += row->input.text().size();
    pixels += static_cast<size_t>(row->input.image().pixels().data_size()) * sizeof(float);
  }
  return text > kInlineTextBytes || pixels > kInlineImageBytes;
}

}  // namespace

void RunInfer(Dispatcher& dispatcher, std::shared_ptr<OipRequest> req, const CallOptions& call,
              Reply<OipResponse> reply, std::shared_ptr<std::string> label,
              const std::set<std::string>& front_parameters) {
  const ServiceContext& sc = dispatcher.context();
  absl::StatusOr<repository::ModelRef> found = sc.models->Find(req->model_name);
  if (!found.ok()) return reply(found.status());
  repository::ModelRef model = *std::move(found);
  *label = model->description.name;
  if (absl::Status s = CheckVersion(req->model_version, model->description.name); !s.ok()) {
    return reply(s);
  }
  if (absl::Status s = model->batcher->CheckRoom(); !s.ok()) return reply(s);
  // Triton's `timeout` (microseconds) shortens the call's deadline.
  CallOptions options = call;
  if (auto it = req->parameters.find("timeout"); it != req->parameters.end()) {
    const int64_t* us = std::get_if<int64_t>(&it->second);
    if (us == nullptr || *us < 0) {
      return reply(absl::InvalidArgumentError("parameters.timeout: expected microseconds >= 0"));
    }
    if (*us > 0) {
      options.deadline =
          std::min(options.deadline, sc.clock->Now() + std::chrono::microseconds(*us));
    }
  }
  std::set<std::string> accepted = front_parameters;
  accepted.insert("timeout");
  absl::StatusOr<OipPlan> plan = PlanInfer(*req, *model, accepted);
  if (!plan.ok()) return reply(plan.status());
  OipResponse header;
  header.model_name = model->description.name;
  header.model_version = OipVersion();
  header.id = req->id;
  req.reset();  // the rows hold the input now
  const bool large = IsLarge(*plan);
  auto gather =
      std::make_shared<Gather>(*std::move(plan), std::move(header), options.cancelled, reply);
  dispatcher.Preprocess(
      large,
      [&dispatcher, gather, model, call = options] {
        const auto& rows = gather->plan().rows;
        for (size_t i = 0; i < rows.size(); ++i) {
          auto done = [gather, i](absl::StatusOr<runtime::Result> r) {
            gather->Done(i, std::move(r));
          };
          if (call.cancelled->load()) {
            done(absl::CancelledError("request cancelled"));
            continue;
          }
          dispatcher.BuildAndSubmit<InferRowTask>(rows[i], model, call, std::move(done));
        }
      },
      [reply](absl::Status s) { reply(s); });
}

}  // namespace lion::api

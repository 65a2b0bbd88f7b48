#include "client/bench_target.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace lion::client {
namespace {

template <typename Response>
RequestResult ToResult(const grpc::Status& status, const Response& response) {
  RequestResult result;
  result.code = static_cast<int>(status.error_code());
  if constexpr (requires { response.usage(); }) {
    if (status.ok() && response.has_usage()) {
      result.has_usage = true;
      result.queue_us = response.usage().queue_us();
      result.compute_us = response.usage().compute_us();
      result.total_us = response.usage().total_us();
    }
  }
  return result;
}

// Starts `request` with `start` (a call on the stub's async() interface);
// the call's state lives until its callback has run.
template <typename Request, typename Response, typename Start>
void StartCall(LionClient* client, Request request, DoneFn done, Start start) {
  struct Call {
    std::unique_ptr<grpc::ClientContext> context;
    Request request;
    Response response;
  };
  auto call = std::make_shared<Call>(Call{client->MakeContext(), std::move(request), {}});
  start(call->context.get(), &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          done(ToResult(status, call->response));
        });
}

// Fills the common fields and the text-or-image input of a request.
template <typename Request>
Request MakeRequest(const BenchRequestOptions& o, TextSource* texts) {
  Request request;
  request.set_model(o.model);
  request.set_form(o.form);
  if constexpr (requires { request.mutable_image(); }) {
    if (!o.image_bytes.empty()) {
      request.mutable_image()->set_encoded(o.image_bytes);
      return request;
    }
  }
  request.set_text(texts->Next());
  return request;
}

std::string WithMask(std::string text, const std::string& mask) {
  const size_t space = text.find(' ');
  return space == std::string::npos ? mask : mask + text.substr(space);
}

}  // namespace

absl::StatusOr<IssueFn> MakeBenchIssuer(const BenchRequestOptions& o, LionClient* client,
                                        TextSource* texts) {
  auto* async = client->inference_stub()->async();
  if (o.method == "classify") {
    return IssueFn([=](DoneFn done) {
      StartCall<v1::ClassifyRequest, v1::ClassifyResponse>(
          client, MakeRequest<v1::ClassifyRequest>(o, texts), std::move(done),
          [async](auto... args) { async->Classify(args...); });
    });
  }
  if (o.method == "embed") {
    return IssueFn([=](DoneFn done) {
      StartCall<v1::EmbedRequest, v1::EmbedResponse>(
          client, MakeRequest<v1::EmbedRequest>(o, texts), std::move(done),
          [async](auto... args) { async->Embed(args...); });
    });
  }
  if (!o.image_bytes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bench: --image does not apply to ", o.method));
  }
  if (o.method == "fill-mask") {
    return IssueFn([=](DoneFn done) {
      v1::FillMaskRequest request = MakeRequest<v1::FillMaskRequest>(o, texts);
      request.set_text(WithMask(request.text(), o.mask_token));
      StartCall<v1::FillMaskRequest, v1::FillMaskResponse>(
          client, std::move(request), std::move(done),
          [async](auto... args) { async->FillMask(args...); });
    });
  }
  if (o.method == "tokenize") {
    return IssueFn([=](DoneFn done) {
      v1::TokenizeRequest request;
      request.set_model(o.model);
      request.set_text(texts->Next());
      StartCall<v1::TokenizeRequest, v1::TokenizeResponse>(
          client, std::move(request), std::move(done),
          [async](auto... args) { async->Tokenize(args...); });
    });
  }
  return absl::InvalidArgumentError(absl::StrCat("bench: unknown --method '", o.method,
                                                 "' (classify, embed, fill-mask, tokenize)"));
}

}  // namespace lion::client

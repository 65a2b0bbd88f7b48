// LibTorch (the torch wheel's, which carries its own onnx_torch protobuf
// types) and Debian's gRPC + protobuf in one process: a torch op runs inside
// a gRPC callback handler and its result travels back in a protobuf message.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <ATen/ATen.h>

#include <memory>

#include "lion/v1/lion.grpc.pb.h"

namespace {

class TorchTokenize final : public lion::v1::Inference::CallbackService {
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* ctx,
                                     const lion::v1::TokenizeRequest* req,
                                     lion::v1::TokenizeResponse* resp) override {
    // A real ATen op (matmul through LibTorch's BLAS) on data from the request.
    const at::Tensor x = at::arange(static_cast<int64_t>(req->text().size()), at::kFloat);
    const at::Tensor y = at::matmul(x.view({-1, 1}), x.view({1, -1})).sum(1);
    for (int64_t i = 0; i < y.size(0); ++i) resp->add_ids(static_cast<int32_t>(y[i].item<float>()));
    resp->set_id(req->id());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST(TorchInGrpcTest, TorchOpRunsInsideCallbackHandler) {
  TorchTokenize service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);
  auto stub = lion::v1::Inference::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  lion::v1::TokenizeRequest req;
  req.set_text("abcd");
  req.set_id("r1");
  lion::v1::TokenizeResponse resp;
  const grpc::Status status = stub->Tokenize(&ctx, req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.id(), "r1");
  // row i of x x^T summed: i * (0 + 1 + 2 + 3) = 6i
  ASSERT_EQ(resp.ids_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(resp.ids(i), 6 * i);
  server->Shutdown();
}

}  // namespace

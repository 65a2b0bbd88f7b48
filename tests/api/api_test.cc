#include <cstdio>
#include <filesystem>
#include <fstream>

#include <grpcpp/create_channel.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/api_keys.h"
#include "server/api/grpc_server.h"
#include "server/api/status_mapping.h"
#include "server/api/tasks.h"
#include "server/runtime/runner.h"
#include "tests/common/temp_path.h"
#include "tests/runtime/fake_model.h"

namespace lion::api {
namespace {

using ::testing::HasSubstr;

std::string TempFile(const std::string& name, const std::string& content) {
  const std::string path = testing_util::UniqueTempPath(name);
  std::ofstream(path) << content;
  return path;
}

TEST(StatusMappingTest, KeepsCodeAndMessage) {
  grpc::Status s = ToGrpcStatus(absl::ResourceExhaustedError("queue full"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "queue full");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(CodeName(absl::StatusCode::kInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_EQ(CodeName(absl::StatusCode::kOk), "OK");
  EXPECT_EQ(CodeName(absl::StatusCode::kDeadlineExceeded), "DEADLINE_EXCEEDED");
}

TEST(ApiKeysTest, AcceptsBearerOrHeaderAndRejectsOthers) {
  EXPECT_EQ(ApiKeys::Load("/nonexistent/keys").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ApiKeys::Load(TempFile("lion_empty_keys", "# none\n\n")).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto keys = ApiKeys::Load(TempFile("lion_keys", "k1\n  k2  \n"));
  ASSERT_TRUE(keys.ok());
  using Md = std::multimap<grpc::string_ref, grpc::string_ref>;
  EXPECT_TRUE((*keys)->Check(Md{{"authorization", "Bearer k2"}}).ok());
  EXPECT_TRUE((*keys)->Check(Md{{"x-api-key", "k1"}}).ok());
  absl::Status missing = (*keys)->Check(Md{});
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(missing.message(), HasSubstr("missing"));
  EXPECT_EQ((*keys)->Check(Md{{"authorization", "Bearer k3"}}).code(),
            absl::StatusCode::kUnauthenticated);
}

// A text MLM and a vision classifier on fake models, behind batchers and runners.
class ServedFakes {
 public:
  ServedFakes() : metrics_({"t", "t", "t"}) {
    const std::string dir = testing_util::UniqueTempPath("api_test_mlm");
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\n";
    std::vector<std::unique_ptr<ServedModel>> models;
    for (const char* kind : {"mlm", "vision"}) {
      auto desc = runtime::FakeModel::Describe(std::string("fake-") + kind, kind);
      if (desc.vocab_size > 0) desc.vocab_size = 8;
      auto served = std::make_unique<ServedModel>();
      served->description = desc;
      served->max_input_tokens = 6;
      runners_.push_back(*runtime::Runner::Create(std::make_unique<runtime::FakeModel>(desc),
                                                  served->limits, &clock_, &metrics_));
      runtime::Runner* runner = runners_.back().get();
      config::BatchingOptions limits;
      limits.max_queue_delay_us = 0;
      batchers_.push_back(*batching::Batcher::Create(
          {desc.name, limits}, &clock_, &metrics_, [runner](runtime::Batch b) { runner->Submit(std::move(b)); }));
      served->batcher = batchers_.back().get();
      if (std::string(kind) == "mlm") served->tokenizer = *LoadTokenizer(dir, 8);
      models.push_back(std::move(served));
    }
    registry_.Publish(std::move(models));
  }
  ~ServedFakes() {
    for (auto& b : batchers_) b->Stop();
    for (auto& r : runners_) r->Stop();
  }
  const ServedModel& model(const std::string& name) { return **registry_.Find(name); }

  ModelRegistry registry_;
  metrics::Metrics metrics_;

 private:
  std::vector<std::unique_ptr<runtime::Runner>> runners_;
  std::vector<std::unique_ptr<batching::Batcher>> batchers_;
  FakeClock clock_{TimePoint{} + std::chrono::hours(1)};
};

TEST(ModelRegistryTest, UnavailableUntilPublishedThenResolves) {
  ModelRegistry empty;
  EXPECT_EQ(empty.Find("").status().code(), absl::StatusCode::kUnavailable);
  ServedFakes fakes;
  EXPECT_EQ((*fakes.registry_.Find(""))->description.name, "fake-mlm");
  absl::Status missing = fakes.registry_.Find("nope").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("fake-vision"));
}

TEST(TasksTest, BuildValidatesTaskFieldsAndLimits) {
  ServedFakes fakes;
  const ServedModel& mlm = fakes.model("fake-mlm");
  v1::ClassifyRequest classify;
  classify.set_text("the cat");
  EXPECT_EQ(ClassifyTask::Build(classify, mlm, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::EmbedRequest embed;
  EXPECT_THAT(EmbedTask::Build(embed, mlm, {}).status().message(), HasSubstr("input"));
  embed.mutable_token_ids()->add_ids(2);
  embed.mutable_token_ids()->add_ids(9);
  absl::Status out_of_vocab = EmbedTask::Build(embed, mlm, {}).status();
  EXPECT_EQ(out_of_vocab.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out_of_vocab.message(), HasSubstr("token_ids.ids[1]"));
  embed.set_text("the cat sat the cat sat");  // 8 tokens > 6
  EXPECT_THAT(EmbedTask::Build(embed, mlm, {}).status().message(), HasSubstr("6"));
  embed.set_truncation(v1::TRUNCATION_RIGHT);
  auto truncated = EmbedTask::Build(embed, mlm, {});
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ((*truncated)->length, 6);
  embed.set_form(v1::FORM_RNN);
  EXPECT_EQ(*(*EmbedTask::Build(embed, mlm, {}))->forced_form, kernels::Form::kRnn);
  embed.set_form(static_cast<v1::Form>(9));
  EXPECT_THAT(EmbedTask::Build(embed, mlm, {}).status().message(), HasSubstr("form"));
  v1::FillMaskRequest fill;
  fill.set_text("the [MASK] sat");
  auto masked = FillMaskTask::Build(fill, mlm, {});
  ASSERT_TRUE(masked.ok()) << masked.status();
  EXPECT_EQ((*masked)->outputs.mlm_positions, std::vector<int32_t>{2});
  fill.set_text("the cat");
  EXPECT_THAT(FillMaskTask::Build(fill, mlm, {}).status().message(), HasSubstr("mask"));
}

TEST(TasksTest, ClassifyFillGivesSoftmaxTopK) {
  ServedFakes fakes;
  runtime::Result result;
  result.output.logits = {1.0f, 3.0f, 2.0f};
  v1::ClassifyRequest req;
  req.set_top_k(2);
  v1::ClassifyResponse resp;
  ClassifyTask::Fill(req, fakes.model("fake-vision"), {}, result, &resp);
  ASSERT_EQ(resp.predictions_size(), 2);
  EXPECT_EQ(resp.predictions(0).index(), 1);
  EXPECT_EQ(resp.predictions(0).label(), "one");
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(resp.predictions(0).score(), std::exp(3.0) / z, 1e-6);
  EXPECT_NEAR(resp.predictions(1).score(), std::exp(2.0) / z, 1e-6);
}

TEST(GrpcServerTest, ServesFakeModelsEndToEnd) {
  ServedFakes fakes;
  config::ServerOptions options;
  options.grpc_address = "127.0.0.1:0";
  ServiceContext context{&fakes.registry_, nullptr, &fakes.metrics_, Clock::Real()};
  auto server = GrpcServer::Create(options, context);
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->SetServing(true);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Inference::NewStub(channel);
  grpc::ClientContext ctx;
  v1::EmbedRequest req;
  req.set_model("fake-mlm");
  req.set_id("r1");
  req.set_text("the cat");
  v1::EmbedResponse resp;
  grpc::Status status = stub->Embed(&ctx, req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.id(), "r1");
  EXPECT_EQ(resp.embedding_size(), 8);
  EXPECT_EQ(resp.usage().input_tokens(), 4u);  // [CLS] the cat [SEP]
  runtime::FakeModel reference(fakes.model("fake-mlm").description);
  runtime::SequenceInput in;
  in.token_ids = {2, 5, 6, 3};
  runtime::OutputRequest asked;
  asked.pooled = true;
  auto want = reference.Expected(in, asked).pooled;
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(resp.embedding(i), want[i]);

  grpc::ClientContext ctx2;
  req.set_model("missing");
  EXPECT_EQ(stub->Embed(&ctx2, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(fakes.metrics_.Serialize(),
              HasSubstr("lion_requests_total{code=\"OK\",method=\"Embed\",model=\"fake-mlm\"} 1"));
  (*server)->Shutdown(std::chrono::seconds(1));
}

}  // namespace
}  // namespace lion::api

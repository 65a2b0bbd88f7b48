// LionClient against the fake server: status mapping, deadlines, API key,
// retries, health and the bidirectional streams.
#include "client/lion_client.h"

#include <gtest/gtest.h>

#include "tests/client/fake_inference_server.h"

namespace lion::client {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

std::unique_ptr<LionClient> Connect(const testing::FakeInferenceServer& server,
                                    ClientOptions options = {}) {
  options.address = server.address();
  auto client = LionClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(LionClientTest, UnaryCallsReturnTypedResponses) {
  auto server = testing::FakeInferenceServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  v1::EmbedRequest embed;
  embed.set_id("e1");
  embed.set_text("hello");
  auto e = client->Embed(embed);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->id(), "e1");
  EXPECT_EQ(e->embedding_size(), 3);
  v1::ClassifyRequest classify;
  classify.set_text("x");
  auto c = client->Classify(classify);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->predictions(0).label(), "cat");
  auto f = client->FillMask(v1::FillMaskRequest());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->masks(0).candidates(0).token(), "paris");
  auto t = client->Tokenize(v1::TokenizeRequest());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tokens(0), "[CLS]");
  auto list = client->ListModels();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->models(0).name(), "fake");
  EXPECT_TRUE(client->GetModel("fake").ok());
}

TEST(LionClientTest, ErrorsKeepCodeAndMessage) {
  auto server = testing::FakeInferenceServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  const auto missing = client->GetModel("nope");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_EQ(missing.status().message(), "model 'nope' not found");
  v1::EmbedRequest request;
  request.set_model("other");
  EXPECT_TRUE(absl::IsNotFound(client->Embed(request).status()));
}

TEST(LionClientTest, PerCallDeadline) {
  auto server =
      testing::FakeInferenceServer::Start({.delay = [](int64_t) { return microseconds(300000); }});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  const auto late = client->Embed(v1::EmbedRequest(), {.deadline = milliseconds(50)});
  EXPECT_TRUE(absl::IsDeadlineExceeded(late.status())) << late.status();
  EXPECT_TRUE(client->Embed(v1::EmbedRequest(), {.deadline = milliseconds(5000)}).ok());
}

TEST(LionClientTest, SendsTheApiKeyAsBearerToken) {
  auto server = testing::FakeInferenceServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server, {.api_key = "s3cret"});
  ASSERT_TRUE(client->Tokenize(v1::TokenizeRequest()).ok());
  EXPECT_EQ(server->last_authorization(), "Bearer s3cret");
  auto anonymous = Connect(*server);
  ASSERT_TRUE(anonymous->Tokenize(v1::TokenizeRequest()).ok());
  EXPECT_EQ(server->last_authorization(), "");
}

TEST(LionClientTest, RetriesUnavailableWithinTheAttemptBudget) {
  auto server = testing::FakeInferenceServer::Start({.unavailable_first = 2});
  ASSERT_NE(server, nullptr);
  RetryPolicy retry{
      .max_attempts = 3, .initial_backoff = milliseconds(5), .max_backoff = milliseconds(20)};
  auto client = Connect(*server, {.retry = retry});
  EXPECT_TRUE(client->Embed(v1::EmbedRequest()).ok());
  EXPECT_EQ(server->requests(), 3);

  auto server2 = testing::FakeInferenceServer::Start({.unavailable_first = 5});
  ASSERT_NE(server2, nullptr);
  auto client2 = Connect(*server2, {.retry = retry});
  const auto st = client2->Embed(v1::EmbedRequest()).status();
  EXPECT_TRUE(absl::IsUnavailable(st));
  EXPECT_EQ(st.message(), "warming up");
  EXPECT_EQ(server2->requests(), 3);
}

TEST(LionClientTest, ServerDownIsUnavailable) {
  std::string address;
  {
    auto server = testing::FakeInferenceServer::Start({});
    ASSERT_NE(server, nullptr);
    address = server->address();
  }
  auto client = LionClient::Create({.address = address, .retry = {.max_attempts = 1}});
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(absl::IsUnavailable((*client)->ListModels().status()));
  EXPECT_TRUE(absl::IsUnavailable((*client)->Health("").status()));
}

TEST(LionClientTest, HealthCheck) {
  auto server = testing::FakeInferenceServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  auto health = client->Health("");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_TRUE(absl::IsNotFound(client->Health("no.such.Service").status()));
}

TEST(LionClientTest, ClassifyStreamEchoesIds) {
  auto server = testing::FakeInferenceServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = Connect(*server);
  auto stream = client->StartClassifyStream();
  for (const char* id : {"a", "b", "c"}) {
    v1::ClassifyRequest request;
    request.set_id(id);
    ASSERT_TRUE(stream->Write(request));
  }
  ASSERT_TRUE(stream->WritesDone());
  std::vector<std::string> ids;
  while (auto response = stream->Read()) ids.push_back(response->id());
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));

  auto embed = client->StartEmbedStream();
  v1::EmbedRequest request;
  request.set_id("z");
  ASSERT_TRUE(embed->Write(request));
  auto response = embed->Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->id(), "z");
  embed->WritesDone();
  EXPECT_FALSE(embed->Read().has_value());
  EXPECT_TRUE(embed->Finish().ok());
}

TEST(ClientOptionsTest, Validate) {
  EXPECT_TRUE(ClientOptions{}.Validate().ok());
  EXPECT_FALSE(ClientOptions{.address = ""}.Validate().ok());
  EXPECT_FALSE(ClientOptions{.deadline = milliseconds(0)}.Validate().ok());
  EXPECT_FALSE((ClientOptions{.tls = {.client_cert_file = "c.pem"}}.Validate().ok()));
  EXPECT_FALSE(ClientOptions{.api_key = "a\nb"}.Validate().ok());
  // A TLS file that does not exist fails at Create, not at the first call.
  EXPECT_TRUE(absl::IsNotFound(
      LionClient::Create({.tls = {.root_cert_file = "/nonexistent.pem"}}).status()));
}

}  // namespace
}  // namespace lion::client

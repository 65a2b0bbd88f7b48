#include "server/config/flags.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::config {
namespace {

using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(FlagsTest, DefaultsMatchTheProductContract) {
  auto parsed = ParseCommandLine({}, FakeEnv({}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.grpc_address, "0.0.0.0:50051");
  EXPECT_EQ(parsed->options.metrics_address, "0.0.0.0:9464");
  EXPECT_EQ(parsed->options.device, "cpu");
  EXPECT_EQ(parsed->options.log_format, "text");
  EXPECT_FALSE(parsed->help);
}

TEST(FlagsTest, ParsesBothSpellingsAndBareBooleans) {
  auto parsed = ParseCommandLine({"--model_repository=/m", "--max_batch_size", "7",
                                  "--calibrate", "--chunk_size=32", "--log_format=json"},
                                 FakeEnv({}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.model_repository, "/m");
  EXPECT_EQ(parsed->options.batching.max_batch_size, 7);
  EXPECT_TRUE(parsed->options.form.calibrate);
  EXPECT_EQ(parsed->options.form.chunk_size, 32);
  EXPECT_EQ(parsed->options.log_format, "json");
}

TEST(FlagsTest, EnvironmentSetsAndFlagWins) {
  auto parsed = ParseCommandLine(
      {"--max_queue_size=5"},
      FakeEnv({{"LION_MAX_QUEUE_SIZE", "9"}, {"LION_MAX_QUEUE_DELAY_US", "123"},
               {"LION_CALIBRATE", "true"}, {"LION_TLS_CLIENT_CA", "/ca.pem"}}));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->options.batching.max_queue_size, 5);
  EXPECT_EQ(parsed->options.batching.max_queue_delay_us, 123);
  EXPECT_TRUE(parsed->options.form.calibrate);
  EXPECT_EQ(parsed->options.tls.client_ca, "/ca.pem");
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  auto unknown = ParseCommandLine({"--max_batch=3"}, FakeEnv({}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("--max_batch"));
  auto bad_int = ParseCommandLine({"--threads=two"}, FakeEnv({}));
  EXPECT_THAT(bad_int.status().message(), HasSubstr("--threads"));
  auto bad_env = ParseCommandLine({}, FakeEnv({{"LION_MAX_BATCH_SIZE", "x"}}));
  EXPECT_THAT(bad_env.status().message(), HasSubstr("LION_MAX_BATCH_SIZE"));
  auto missing = ParseCommandLine({"--device"}, FakeEnv({}));
  EXPECT_THAT(missing.status().message(), HasSubstr("needs a value"));
  auto positional = ParseCommandLine({"models"}, FakeEnv({}));
  EXPECT_EQ(positional.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FlagsTest, HelpListsEveryContractFlagWithItsVariable) {
  auto parsed = ParseCommandLine({"--help"}, FakeEnv({}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->help);
  const std::string help = HelpText("lion-serve");
  for (const char* flag :
       {"model_repository", "grpc_address", "metrics_address", "device", "threads",
        "max_batch_tokens", "max_batch_size", "max_queue_delay_us", "max_queue_size",
        "max_input_tokens", "full_max_tokens", "chunk_size", "rnn_min_tokens",
        "memory_budget_bytes", "calibrate", "tls_cert", "tls_key", "tls_client_ca",
        "api_key_file", "max_message_bytes", "drain_timeout_s", "log_format", "http_address",
        "model_control", "repository_poll_s"}) {
    EXPECT_THAT(help, HasSubstr(std::string("--") + flag + " ")) << flag;
    // Every flag is also settable from its variable.
    std::string upper = flag;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    EXPECT_THAT(help, HasSubstr("LION_" + upper)) << flag;
  }
}

ServerOptions Valid() {
  ServerOptions o;
  o.model_repository = "/models";
  return o;
}

TEST(ServerOptionsTest, ValidateAcceptsDefaultsWithARepository) {
  EXPECT_TRUE(Valid().Validate().ok());
  EXPECT_THAT(ServerOptions().Validate().message(), HasSubstr("--model_repository"));
}

TEST(ServerOptionsTest, ValidateNamesTheBadFlag) {
  auto expect_bad = [](ServerOptions o, const std::string& flag) {
    absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << flag;
    EXPECT_THAT(s.message(), HasSubstr("--" + flag));
  };
  ServerOptions o = Valid();
  o.batching.max_batch_size = 0;
  expect_bad(o, "max_batch_size");
  o = Valid();
  o.grpc_address = "nohostport";
  expect_bad(o, "grpc_address");
  o = Valid();
  o.device = "tpu";
  expect_bad(o, "device");
  o = Valid();
  o.device = "cuda:1";
  EXPECT_TRUE(o.Validate().ok());
  o = Valid();
  o.tls.cert = "/c.pem";
  expect_bad(o, "tls_key");
  o = Valid();
  o.tls.client_ca = "/ca.pem";
  expect_bad(o, "tls_client_ca");
  o = Valid();
  o.log_format = "xml";
  expect_bad(o, "log_format");
  o = Valid();
  o.form.memory_budget_bytes = 0;
  expect_bad(o, "memory_budget_bytes");
  o = Valid();
  o.model_control = "watch";
  expect_bad(o, "model_control");
  o = Valid();
  o.repository_poll_s = 0;
  expect_bad(o, "repository_poll_s");
  o = Valid();
  o.http_address = "8080";
  expect_bad(o, "http_address");
  o = Valid();
  o.http_address = "";  // off
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(Valid().http_address, "0.0.0.0:8080");
  EXPECT_EQ(Valid().model_control, "none");
}

}  // namespace
}  // namespace lion::config

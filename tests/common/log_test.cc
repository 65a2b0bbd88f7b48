// server/common/log: the two line formats the server's operators and the
// Python tests parse, and whole lines when many threads log at once.
#include "server/common/log.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace lion {
namespace {

using ::testing::MatchesRegex;

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { SetLogFormat(LogFormat::kText); }
};

TEST_F(LogTest, TextLineHasTimeLevelMessageAndSortedFields) {
  SetLogFormat(LogFormat::kText);
  testing::internal::CaptureStderr();
  Log("INFO", "listening", {{"grpc_port", "50051"}, {"http_port", "off"}});
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
                                "INFO listening grpc_port=50051 http_port=off\n"));
}

TEST_F(LogTest, JsonLineHasTsLevelMsgAndFields) {
  SetLogFormat(LogFormat::kJson);
  testing::internal::CaptureStderr();
  Log("WARN", "drain cut short", {{"reason", "timeout"}, {"in_flight", "3"}});
  const std::string out = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  const nlohmann::json line = nlohmann::json::parse(out);
  EXPECT_EQ(line["level"], "WARN");
  EXPECT_EQ(line["msg"], "drain cut short");
  EXPECT_EQ(line["reason"], "timeout");
  EXPECT_EQ(line["in_flight"], "3");
  EXPECT_THAT(line["ts"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_EQ(line.size(), 5u);
}

TEST_F(LogTest, JsonLineSurvivesInvalidUtf8) {
  SetLogFormat(LogFormat::kJson);
  testing::internal::CaptureStderr();
  Log("ERROR", "cannot open", {{"path", std::string("bad\xff")}});
  const nlohmann::json line = nlohmann::json::parse(testing::internal::GetCapturedStderr());
  EXPECT_EQ(line["path"], "bad\xEF\xBF\xBD");  // U+FFFD
}

TEST_F(LogTest, ConcurrentLinesNeverInterleave) {
  SetLogFormat(LogFormat::kJson);
  constexpr int kThreads = 8, kLines = 200;
  testing::internal::CaptureStderr();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < kLines; ++i) {
          Log("INFO", "model ready",
              {{"model", std::string(100, static_cast<char>('a' + t))}, {"i", std::to_string(i)}});
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  const std::string out = testing::internal::GetCapturedStderr();
  int parsed = 0;
  for (absl::string_view text : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    const nlohmann::json line = nlohmann::json::parse(text);  // throws on a torn line
    EXPECT_EQ(line["msg"], "model ready");
    ++parsed;
  }
  EXPECT_EQ(parsed, kThreads * kLines);
}

}  // namespace
}  // namespace lion

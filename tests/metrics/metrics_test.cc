#include "server/metrics/metrics.h"

#include <httplib.h>

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/metrics_server.h"

namespace lion::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Metrics MakeMetrics() { return Metrics(BuildInfo{"0.1.0", "abc123", "2.15.0"}); }

TEST(MetricsTest, EveryContractFamilyIsPresentFromStartup) {
  Metrics m(BuildInfo{"0.1.0", "abc123", "2.15.0"});
  m.AddModel({"digits", "lion_vit", "d", "classification", "cpu"});
  m.SetDeviceMemory("cpu", 0, 0, 0);
  const std::string text = m.Serialize();
  for (const char* family :
       {"lion_requests_total", "lion_request_duration_seconds", "lion_queue_duration_seconds",
        "lion_batch_duration_seconds", "lion_batch_size", "lion_batch_tokens",
        "lion_input_tokens", "lion_form_batches_total", "lion_queue_depth",
        "lion_rejected_total", "lion_model_info", "lion_device_memory_bytes",
        "lion_build_info"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + " ")) << family;
  }
  EXPECT_THAT(text, HasSubstr("lion_requests_total{code=\"OK\",method=\"Classify\",model=\"digits\"} 0"));
  // Error codes too, so that rate() sees a code's first increment.
  EXPECT_THAT(text, HasSubstr("lion_requests_total{code=\"INVALID_ARGUMENT\",method=\"EmbedStream\",model=\"digits\"} 0"));
  EXPECT_THAT(text, HasSubstr("lion_requests_total{code=\"UNAVAILABLE\",method=\"Classify\",model=\"digits\"} 0"));
  EXPECT_THAT(text, HasSubstr("lion_form_batches_total{form=\"rnn\",model=\"digits\"} 0"));
  EXPECT_THAT(text, HasSubstr("lion_rejected_total{model=\"digits\",reason=\"unauthenticated\"} 0"));
  EXPECT_THAT(text, HasSubstr("lion_build_info{git_sha=\"abc123\",torch=\"2.15.0\",version=\"0.1.0\"} 1"));
  EXPECT_THAT(text, HasSubstr("lion_model_info{architecture=\"lion_vit\",device=\"cpu\",model=\"digits\",task=\"classification\",variant=\"d\"} 1"));
}

TEST(MetricsTest, DurationBucketsSpan100MicrosecondsTo60Seconds) {
  Metrics m = MakeMetrics();
  m.AddModel({"m", "lion_bert", "lit", "mlm", "cpu"});
  m.ObserveQueueSeconds("m", 50e-6);   // below the first bucket
  m.ObserveQueueSeconds("m", 30.0);
  const std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("lion_queue_duration_seconds_bucket{model=\"m\",le=\"0.0001\"} 1"));
  EXPECT_THAT(text, HasSubstr("lion_queue_duration_seconds_bucket{model=\"m\",le=\"60\"} 2"));
  EXPECT_THAT(text, HasSubstr("lion_queue_duration_seconds_count{model=\"m\"} 2"));
}

TEST(MetricsTest, RecordsCountsWithLabels) {
  Metrics m = MakeMetrics();
  m.AddModel({"m", "lion_bert", "lit", "mlm", "cpu"});
  m.RecordRequest("m", "Embed", "OK", 0.01);
  m.RecordRequest("m", "Embed", "OK", 0.02);
  m.RecordRequest("m", "Embed", "INVALID_ARGUMENT", 0.001);
  m.RecordReject("m", RejectReason::kOverloaded);
  m.RecordBatch("m", "chunk", 3, 300, 0.5);
  m.SetQueueDepth("m", 4);
  const std::string text = m.Serialize();
  EXPECT_THAT(text, HasSubstr("lion_requests_total{code=\"OK\",method=\"Embed\",model=\"m\"} 2"));
  EXPECT_THAT(text, HasSubstr("lion_requests_total{code=\"INVALID_ARGUMENT\",method=\"Embed\",model=\"m\"} 1"));
  EXPECT_THAT(text, HasSubstr("lion_rejected_total{model=\"m\",reason=\"overloaded\"} 1"));
  EXPECT_THAT(text, HasSubstr("lion_form_batches_total{form=\"chunk\",model=\"m\"} 1"));
  EXPECT_THAT(text, HasSubstr("lion_batch_tokens_sum{form=\"chunk\",model=\"m\"} 300"));
  EXPECT_THAT(text, HasSubstr("lion_batch_size_sum{form=\"chunk\",model=\"m\"} 3"));
  EXPECT_THAT(text, HasSubstr("lion_queue_depth{model=\"m\"} 4"));
}

TEST(MetricsServerTest, ServesTheScrapeOverHttp) {
  Metrics m = MakeMetrics();
  m.AddModel({"m", "lion_bert", "lit", "mlm", "cpu"});
  std::atomic<int> hooks{0};
  auto server = MetricsServer::Create("127.0.0.1:0", &m, [&] {
    m.SetQueueDepth("m", 7);
    ++hooks;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  httplib::Client client("127.0.0.1", (*server)->port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("text/plain"));
  EXPECT_EQ(res->body, m.Serialize());
  EXPECT_EQ(hooks.load(), 1);  // ran before the scrape it refreshed
  EXPECT_THAT(res->body, HasSubstr("lion_queue_depth{model=\"m\"} 7"));
}

TEST(MetricsServerTest, RejectsBadAddressAndBusyPort) {
  Metrics m = MakeMetrics();
  EXPECT_EQ(MetricsServer::Create("nonsense", &m).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = MetricsServer::Create("127.0.0.1:0", &m);
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::Create("127.0.0.1:" + std::to_string((*first)->port()), &m);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace lion::metrics

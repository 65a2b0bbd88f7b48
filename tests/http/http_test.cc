#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/http/http_status.h"
#include "server/http/json_util.h"
#include "server/http/oip_json.h"

namespace lion::http {
namespace {

using ::testing::HasSubstr;

TEST(HttpStatusTest, EveryCodeHasItsStatusAndAJsonBody) {
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDataLoss), 500);
  const nlohmann::json body =
      nlohmann::json::parse(ErrorBody(absl::NotFoundError(std::string(5000, 'x') + "\xff")));
  EXPECT_EQ(body["code"], "NOT_FOUND");
  EXPECT_LT(body["error"].get<std::string>().size(), 1100u);  // cut like a gRPC trailer
}

TEST(JsonUtilTest, DepthIsBoundedAndFloatsRoundTrip) {
  EXPECT_THAT(ParseJson(std::string(100, '[') + std::string(100, ']'), "body").status().message(),
              HasSubstr("nested deeper"));
  EXPECT_TRUE(ParseJson("[\"[[[[\"]", "body").ok());  // brackets inside strings do not count
  EXPECT_EQ(ParseJson("{bad", "body").status().code(), absl::StatusCode::kInvalidArgument);
  const float values[] = {0.1f, -3.4028235e38f, 1e-45f, 12345.678f};
  std::string out;
  AppendFloatArray(values, 4, &out);
  const nlohmann::json parsed = nlohmann::json::parse(out);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(parsed[i].get<float>(), values[i]) << out;
}

TEST(OipJsonTest, BinaryTensorsAndNestedData) {
  const std::string header =
      R"({"id":"r","inputs":[{"name":"input_ids","datatype":"INT64","shape":[1,2],)"
      R"("parameters":{"binary_data_size":16}},{"name":"attention_mask","datatype":"INT64",)"
      R"("shape":[1,2],"data":[[1,1]]}],"outputs":[{"name":"embeddings","parameters":{"binary_data":true}}]})";
  std::string body = header;
  const int64_t ids[] = {2, 3};
  body.append(reinterpret_cast<const char*>(ids), sizeof(ids));
  absl::StatusOr<OipJsonRequest> parsed = ParseInferRequest(body, header.size(), "m", "");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->request.id, "r");
  EXPECT_EQ(parsed->request.inputs[0].ints, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(parsed->request.inputs[0].parameters.empty());
  EXPECT_EQ(parsed->request.inputs[1].ints, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(parsed->binary_output_names.count("embeddings"), 1u);
  EXPECT_THAT(ParseInferRequest(body + "xx", header.size(), "m", "").status().message(),
              HasSubstr("no input claims"));
  EXPECT_THAT(ParseInferRequest(body, body.size() + 1, "m", "").status().message(),
              HasSubstr("longer than the body"));

  api::OipResponse response;
  response.model_name = "m";
  response.model_version = "1";
  response.outputs.push_back({"embeddings", {1, 2}, {0.5f, 2.0f}});
  std::optional<size_t> out_header;
  const std::string out = WriteInferResponse(response, *parsed, &out_header);
  ASSERT_TRUE(out_header.has_value());
  EXPECT_EQ(out.size(), *out_header + 8);
  EXPECT_EQ(nlohmann::json::parse(
                out.substr(0, *out_header))["outputs"][0]["parameters"]["binary_data_size"],
            8);
}

}  // namespace
}  // namespace lion::http

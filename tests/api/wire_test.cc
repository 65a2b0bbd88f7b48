#include "server/api/wire.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lion/v1/lion.pb.h"
#include "server/api/status_mapping.h"

namespace lion::api {
namespace {

using ::testing::HasSubstr;

grpc::ByteBuffer Bytes(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(WireTest, ParsesAValidRequest) {
  v1::EmbedRequest sent;
  sent.set_model("m");
  sent.set_text("hello");
  sent.set_normalize(true);
  v1::EmbedRequest got;
  ASSERT_TRUE(ParseRequest(Bytes(sent.SerializeAsString()), {}, &got).ok());
  EXPECT_EQ(got.text(), "hello");
  EXPECT_TRUE(got.normalize());
}

TEST(WireTest, GarbageIsInvalidArgumentNamingTheMessage) {
  v1::ClassifyRequest got;
  absl::Status s = ParseRequest(Bytes("\xff\xff\xff\xff\xff\x01garbage"), {}, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("lion.v1.ClassifyRequest"));
}

TEST(WireTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  v1::EmbedRequest sent;
  sent.set_model("m");
  // proto3 `string`: set through the bytes API, the serializer does not check.
  sent.set_text(std::string("ok \xc3\x28 bad"));
  std::string bytes;
  ASSERT_TRUE(sent.SerializePartialToString(&bytes));
  v1::EmbedRequest got;
  absl::Status s = ParseRequest(Bytes(bytes), {}, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("text: not valid UTF-8"));
  EXPECT_THAT(s.message(), HasSubstr("offset 3"));
}

TEST(WireTest, OversizedTextIsRefusedFromItsLengthAlone) {
  v1::EmbedRequest sent;
  sent.set_text(std::string(5000, 'a'));
  WireLimits limits;
  limits.max_text_bytes = 4096;
  v1::EmbedRequest got;
  absl::Status s = ParseRequest(Bytes(sent.SerializeAsString()), limits, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("text: 5000 bytes, more than the limit of 4096"));
  EXPECT_TRUE(got.text().empty());  // never parsed
  v1::GetModelRequest long_name;
  long_name.set_name(std::string(2000, 'n'));
  v1::GetModelRequest got_name;
  EXPECT_THAT(ParseRequest(Bytes(long_name.SerializeAsString()), limits, &got_name).message(),
              HasSubstr("name: 2000 bytes, more than the limit of 1024"));
}

TEST(WireTest, SerializeRefusesAResponseOverTheLimit) {
  v1::EmbedResponse resp;
  for (int i = 0; i < 1000; ++i) resp.add_embedding(1.0f);
  grpc::ByteBuffer out;
  EXPECT_TRUE(SerializeResponse(resp, 1 << 20, &out).ok());
  EXPECT_EQ(out.Length(), resp.ByteSizeLong());
  absl::Status s = SerializeResponse(resp, 1000, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--max_message_bytes=1000"));
}

TEST(WireTest, QuotedCutsLongValuesAtACharacterBoundary) {
  EXPECT_EQ(Quoted("abc"), "'abc'");
  const std::string long_value = std::string(127, 'x') + "\xc3\xa9" + std::string(100, 'y');
  const std::string q = Quoted(long_value);
  EXPECT_EQ(q, "'" + std::string(127, 'x') + "...' (229 bytes)");
}

TEST(StatusMappingTest, LongMessagesAreCutToFitATrailer) {
  grpc::Status s = ToGrpcStatus(absl::NotFoundError(std::string(100000, 'm')));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(s.error_message().size(), 1100u);
  EXPECT_THAT(s.error_message(), HasSubstr("(message cut)"));
}

}  // namespace
}  // namespace lion::api

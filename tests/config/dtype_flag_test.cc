// --dtype: parsed from the flag and LION_DTYPE, validated against its three
// values and against a CPU device (16-bit models run on a GPU only).
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/flags.h"

namespace lion::config {
namespace {

using ::testing::HasSubstr;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(DtypeFlagTest, DefaultFlagAndEnvironment) {
  auto parsed = ParseCommandLine({}, Env({}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->options.dtype, "float32");
  parsed = ParseCommandLine({"--dtype=bfloat16", "--device=cuda:1"}, Env({}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->options.dtype, "bfloat16");
  parsed = ParseCommandLine({}, Env({{"LION_DTYPE", "float16"}}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->options.dtype, "float16");
  EXPECT_THAT(HelpText("lion-serve"), HasSubstr("--dtype "));
}

TEST(DtypeFlagTest, Validation) {
  ServerOptions o;
  o.model_repository = "/models";
  o.device = "cuda";
  for (const char* ok : {"float32", "bfloat16", "float16"}) {
    o.dtype = ok;
    EXPECT_TRUE(o.Validate().ok()) << ok;
  }
  o.dtype = "fp8";
  EXPECT_THAT(o.Validate().message(), HasSubstr("--dtype"));
  o.dtype = "bfloat16";
  o.device = "cpu";
  const absl::Status s = o.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--dtype: bfloat16 needs --device=cuda"));
}

}  // namespace
}  // namespace lion::config

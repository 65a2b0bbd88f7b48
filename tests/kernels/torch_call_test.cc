// TorchCall (lion/kernels/torch_call.h): the one boundary where LibTorch's
// exceptions become statuses. Each kind of exception maps to the documented
// status; values and statuses pass through untouched.
#include "lion/kernels/torch_call.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::kernels {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(TorchCallTest, ValueBecomesOkStatusOr) {
  absl::StatusOr<int> r = TorchCall("ctx", [] { return 7; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
}

TEST(TorchCallTest, StatusOrAndStatusPassThrough) {
  absl::StatusOr<int> r =
      TorchCall("ctx", []() -> absl::StatusOr<int> { return absl::NotFoundError("gone"); });
  EXPECT_EQ(r.status(), absl::NotFoundError("gone"));
  absl::Status s = TorchCall("ctx", [] { return absl::FailedPreconditionError("no head"); });
  EXPECT_EQ(s, absl::FailedPreconditionError("no head"));
  EXPECT_TRUE(TorchCall("ctx", [] { return absl::OkStatus(); }).ok());
}

TEST(TorchCallTest, C10ErrorIsInternalWithoutBacktrace) {
  absl::StatusOr<at::Tensor> r = TorchCall("lion_bert forward failed", []() -> at::Tensor {
    TORCH_CHECK(false, "shapes do not match");
  });
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("lion_bert forward failed: shapes do not match"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("Exception raised from")));
}

TEST(TorchCallTest, RealLibTorchErrorIsCaught) {
  absl::StatusOr<at::Tensor> r = TorchCall("view", [] { return at::zeros({2, 3}).view({4}); });
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("view: shape '[4]' is invalid"));
}

TEST(TorchCallTest, StandardExceptionIsInternalWithItsMessage) {
  absl::Status s = TorchCall("copy to cuda:0 failed",
                             []() -> absl::Status { throw std::out_of_range("index 9"); });
  EXPECT_EQ(s, absl::InternalError("copy to cuda:0 failed: index 9"));
}

TEST(TorchCallTest, GivenCodeIsUsed) {
  absl::StatusOr<at::Device> d = TorchCall(absl::StatusCode::kInvalidArgument, "bad device gpu7",
                                           [] { return at::Device("gpu7"); });
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), StartsWith("bad device gpu7: "));
  absl::Status s = TorchCall(absl::StatusCode::kUnavailable, "device",
                             []() -> absl::Status { throw std::runtime_error("no driver"); });
  EXPECT_EQ(s, absl::UnavailableError("device: no driver"));
}

TEST(TorchCallTest, NonStandardExceptionPropagates) {
  EXPECT_THROW(TorchCall("ctx", []() -> int { throw 42; }), int);
}

}  // namespace
}  // namespace lion::kernels

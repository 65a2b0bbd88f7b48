// The attention timer on a CUDA device: tensors on the device, the default
// synchronisation hook. Skips where there is no GPU or no CUDA attention core.
#include <ATen/ATen.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/runtime/attention_timer.h"

namespace lion::runtime {
namespace {

using kernels::Form;

// On a GPU the tensors live on the device and the default hook waits for it.
TEST(AttentionTimerGpuTest, TimesTheCoreOnCuda) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device or no LibTorch CUDA in this build";
  AttentionTimerOptions o;
  o.heads = 2;
  o.head_dim = 8;
  o.device = "cuda";
  auto timer = AttentionTimer::Create(o);
  ASSERT_TRUE(timer.ok()) << timer.status();
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    auto t = (*timer)->SecondsPerSequence(form, 256, 4, 64);
    if (!t.ok() && absl::StrContains(t.status().message(), "not built in this binary")) {
      GTEST_SKIP() << "the attention core has no CUDA path in this build: " << t.status();
    }
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_GT(*t, 0);
  }
}

}  // namespace
}  // namespace lion::runtime

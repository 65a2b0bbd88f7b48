#include "server/api/drain_gate.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::api {
namespace {

using ::testing::HasSubstr;

TEST(DrainGateTest, CountsPassesAndRefusesAfterDrainBegins) {
  DrainGate gate;
  auto a = gate.Enter();
  auto b = gate.Enter();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(gate.in_flight(), 2);
  a->reset();
  EXPECT_EQ(gate.in_flight(), 1);
  gate.BeginDrain();
  auto refused = gate.Enter();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("draining"));
  EXPECT_EQ(gate.in_flight(), 1);  // a pass taken before the drain still counts
  b->reset();
  EXPECT_EQ(gate.in_flight(), 0);
}

TEST(DrainGateTest, WaitIdleReturnsWhenTheLastPassLeaves) {
  DrainGate gate;
  auto pass = *gate.Enter();
  std::thread leaver([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pass.reset();
  });
  EXPECT_TRUE(gate.WaitIdle(absl::Now() + absl::Seconds(30), nullptr));
  leaver.join();
  EXPECT_EQ(gate.in_flight(), 0);
}

TEST(DrainGateTest, WaitIdleGivesUpAtTheDeadlineOrOnInterrupt) {
  DrainGate gate;
  auto pass = *gate.Enter();
  EXPECT_FALSE(gate.WaitIdle(absl::Now() + absl::Milliseconds(30), nullptr));
  std::atomic<bool> interrupt{false};
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    interrupt.store(true);
  });
  EXPECT_FALSE(gate.WaitIdle(absl::Now() + absl::Seconds(30), &interrupt));
  interrupter.join();
  EXPECT_EQ(gate.in_flight(), 1);
}

TEST(DrainGateTest, WaitIdleWithNothingInFlightReturnsAtOnce) {
  DrainGate gate;
  EXPECT_TRUE(gate.WaitIdle(absl::Now(), nullptr));
}

}  // namespace
}  // namespace lion::api

#include "server/common/allocator.h"

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"
#include "server/common/process_memory.h"

namespace lion {
namespace {

int64_t ResidentBytes() { return ReadProcessMemory().resident_bytes; }

// This binary links lion_fast_malloc, as lion-serve does.
TEST(AllocatorTest, ReportsTheAllocatorTheBuildLinked) {
  EXPECT_EQ(AllocatorName(), LION_EXPECTED_ALLOCATOR);
}

TEST(AllocatorTest, ReleaseHandsFreedMemoryBackToTheSystem) {
  constexpr size_t kBytes = size_t{256} << 20;
  const int64_t before = ResidentBytes();
  void* block = std::malloc(kBytes);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);  // touch every page
  const int64_t touched = ResidentBytes();
  EXPECT_GT(touched - before, static_cast<int64_t>(kBytes) * 9 / 10);
  std::free(block);  // tcmalloc keeps the span cached; glibc unmaps it here
  ReleaseFreeMemory();
  EXPECT_LT(ResidentBytes() - before, static_cast<int64_t>(kBytes) / 10);
}

}  // namespace
}  // namespace lion

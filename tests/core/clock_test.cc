#include "core/clock.h"

#include <gtest/gtest.h>

namespace pigtail {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(HybridClockTest, NowIsStrictlyIncreasingWhenPhysicalTimeStalls) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(500 * kMs, [&] { return physical; });
  Hlc a = clock.Now();
  Hlc b = clock.Now();
  EXPECT_LT(a, b);
  EXPECT_EQ(a.time, physical);
  EXPECT_EQ(b.time, physical);
  EXPECT_EQ(b.count, a.count + 1);
  physical += kMs;
  Hlc c = clock.Now();
  EXPECT_EQ(c.time, physical);
  EXPECT_EQ(c.count, 0u);
}

TEST(HybridClockTest, PhysicalClockGoingBackwardsDoesNotMoveHlcBack) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(500 * kMs, [&] { return physical; });
  Hlc a = clock.Now();
  physical -= 10 * kMs;
  EXPECT_GT(clock.Now(), a);
}

TEST(HybridClockTest, ObserveWithinOffsetAdvancesPastRemote) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(500 * kMs, [&] { return physical; });
  Hlc remote{0, physical + 200 * kMs, 5};
  ASSERT_TRUE(clock.Observe(remote).ok());
  EXPECT_GT(clock.Last(), remote);
  EXPECT_GT(clock.Now(), remote);
}

TEST(HybridClockTest, ObserveBeyondMaxOffsetIsRefusedAndLeavesClock) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(500 * kMs, [&] { return physical; });
  Hlc before = clock.Now();
  Status s = clock.Observe(Hlc{0, physical + 501 * kMs, 0});
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("ahead of the local clock"), std::string::npos) << s.message();
  EXPECT_EQ(clock.Last(), before);
}

TEST(HybridClockTest, CountOverflowCarriesIntoTime) {
  uint64_t physical = 10;
  HybridClock clock(kMs, [&] { return physical; });
  ASSERT_TRUE(clock.Observe(Hlc{0, 10, 4294967295u}).ok());
  Hlc last = clock.Last();
  EXPECT_EQ(last.time, 11u);
  EXPECT_EQ(last.count, 0u);
}

TEST(HybridClockTest, SystemClockIsPlausible) {
  HybridClock clock(kMs);
  // 2020-01-01 in ns; a real clock is past it.
  EXPECT_GT(clock.Now().time, 1577836800ull * 1'000'000'000ull);
}

}  // namespace
}  // namespace pigtail

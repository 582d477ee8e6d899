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

TEST(HybridClockTest, CountAtItsBoundCarriesIntoTime) {
  uint64_t physical = 10;
  HybridClock clock(kMs, [&] { return physical; });
  ASSERT_TRUE(clock.Observe(Hlc{0, 10, kMaxHlcCount}).ok());
  Hlc last = clock.Last();
  EXPECT_EQ(last.time, 11u);
  EXPECT_EQ(last.count, 0u);
}

TEST(HybridClockTest, NowNeverWritesACountAboveTheBound) {
  uint64_t physical = 10;
  HybridClock clock(kMs, [&] { return physical; });
  ASSERT_TRUE(clock.Observe(Hlc{0, 10, kMaxHlcCount - 1}).ok());
  Hlc a = clock.Now();
  EXPECT_EQ(a.time, 11u);
  EXPECT_EQ(a.count, 0u);
}

// Issue 12: [4294967295,[now+15s],4294967295] moved the clock to epoch
// 4294967295 for good, because only the time part was bounded.
TEST(HybridClockTest, ObserveRefusesAnEpochAboveItsOwn) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(60'000 * kMs, [&] { return physical; });
  Hlc before = clock.Now();
  std::string reason;
  Status s = clock.Observe(Hlc{4294967295u, physical + 15'000 * kMs, 4294967295u}, &reason);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(reason, kEpochReason);
  EXPECT_EQ(clock.Last(), before);
  EXPECT_EQ(clock.Now().epoch, 0u);
  s = clock.Observe(Hlc{1, physical, 0}, &reason);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.message();
  EXPECT_NE(s.message().find("epoch"), std::string::npos) << s.message();
}

TEST(HybridClockTest, ObserveRefusesACountAboveTheBound) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(60'000 * kMs, [&] { return physical; });
  Hlc before = clock.Now();
  std::string reason;
  Status s = clock.Observe(Hlc{0, physical, kMaxHlcCount + 1}, &reason);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(reason, kCountReason);
  EXPECT_EQ(clock.Last(), before);
}

TEST(HybridClockTest, ObserveNamesTheTimeBound) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(500 * kMs, [&] { return physical; });
  std::string reason;
  EXPECT_FALSE(clock.Observe(Hlc{0, UINT64_MAX, 0}, &reason).ok());
  EXPECT_EQ(reason, kAheadReason);
  EXPECT_LT(clock.Last().time, UINT64_MAX);
}

TEST(HybridClockTest, EarlierEpochIsFollowedButDoesNotLowerTheEpoch) {
  uint64_t physical = 1000 * kMs;
  HybridClock clock(
      500 * kMs, [&] { return physical; }, /*epoch=*/2);
  EXPECT_TRUE(clock.Observe(Hlc{1, physical + 100 * kMs, 0}).ok());
  EXPECT_TRUE(clock.Observe(Hlc{2, physical + 100 * kMs, 0}).ok());
  Hlc now = clock.Now();
  EXPECT_EQ(now.epoch, 2u);
  EXPECT_GT(now, (Hlc{2, physical + 100 * kMs, 0}));
}

TEST(CheckHlcBoundsTest, IsAFunctionOfItsArguments) {
  EXPECT_TRUE(CheckHlcBounds(Hlc{0, 1500, kMaxHlcCount}, 1000, 500, 0).ok());
  EXPECT_FALSE(CheckHlcBounds(Hlc{0, 1501, 0}, 1000, 500, 0).ok());
  EXPECT_TRUE(CheckHlcBounds(Hlc{0, UINT64_MAX, 0}, UINT64_MAX - 5, 500, 0).ok());
  EXPECT_FALSE(CheckHlcBounds(Hlc{3, 0, 0}, 1000, 500, 2).ok());
  EXPECT_TRUE(CheckHlcBounds(Hlc{2, 0, 0}, 1000, 500, 2).ok());
}

TEST(HybridClockTest, SystemClockIsPlausible) {
  HybridClock clock(kMs);
  // 2020-01-01 in ns; a real clock is past it.
  EXPECT_GT(clock.Now().time, 1577836800ull * 1'000'000'000ull);
}

}  // namespace
}  // namespace pigtail

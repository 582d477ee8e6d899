#include "core/claim_route.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::TestId;

std::vector<Uuid> Tasks(int n) {
  std::vector<Uuid> out;
  for (int i = 0; i < n; ++i) out.push_back(Uuid::Random());
  return out;
}

TEST(ClaimRouteTest, TheHomeDependsOnTheSetOfMembersNotTheirOrder) {
  const std::vector<Uuid> members = {TestId(1), TestId(2), TestId(3)};
  const std::vector<Uuid> reversed(members.rbegin(), members.rend());
  for (const Uuid& task : Tasks(200)) {
    const Uuid home = HomeOf(task, members);
    EXPECT_NE(std::ranges::find(members, home), members.end());
    EXPECT_EQ(HomeOf(task, reversed), home);
  }
}

TEST(ClaimRouteTest, HomesSpreadOverTheMembers) {
  const std::vector<Uuid> members = {TestId(1), TestId(2), TestId(3)};
  std::map<Uuid, int> homes;
  for (const Uuid& task : Tasks(3000)) ++homes[HomeOf(task, members)];
  ASSERT_EQ(homes.size(), 3u);
  for (const auto& [member, count] : homes) {
    EXPECT_GT(count, 800) << member.ToString();
    EXPECT_LT(count, 1200) << member.ToString();
  }
}

TEST(ClaimRouteTest, AMemberLeavingMovesOnlyItsTasks) {
  const std::vector<Uuid> all = {TestId(1), TestId(2), TestId(3), TestId(4)};
  const std::vector<Uuid> without_3 = {TestId(1), TestId(2), TestId(4)};
  int moved = 0;
  for (const Uuid& task : Tasks(1000)) {
    const Uuid before = HomeOf(task, all);
    const Uuid after = HomeOf(task, without_3);
    if (before == TestId(3)) {
      EXPECT_NE(after, TestId(3));
      ++moved;
    } else {
      EXPECT_EQ(after, before) << "a task of a member that stayed moved";
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(ClaimRouteTest, TasksOfAnUnreachableMemberAreHomedAmongTheReachableOnes) {
  const ClaimRoute route{TestId(1), {TestId(1), TestId(2), TestId(3)}, {TestId(3)}};
  const std::vector<Uuid> reachable = {TestId(1), TestId(2)};
  int own = 0;
  int remote = 0;
  int taken_over = 0;
  for (const Uuid& task : Tasks(300)) {
    const Uuid home = HomeOf(task, route.members);
    const Uuid reachable_home = HomeOf(task, reachable);
    if (home != TestId(3)) {
      EXPECT_EQ(reachable_home, home) << "a reachable member's task moved";
    } else {
      ++taken_over;
    }
    std::optional<Uuid> decided_by = RemoteHome(route, task);
    if (reachable_home == TestId(2)) {
      ASSERT_TRUE(decided_by.has_value());
      EXPECT_EQ(*decided_by, TestId(2));
      ++remote;
    } else {
      EXPECT_FALSE(decided_by.has_value()) << "decided here: " << task.ToString();
      ++own;
    }
  }
  EXPECT_GT(own, 0);
  EXPECT_GT(remote, 0);
  EXPECT_GT(taken_over, 0);
  // Alone, or with every peer unreachable, a node decides every task.
  const ClaimRoute alone{TestId(1), {TestId(1)}, {}};
  const ClaimRoute cut_off{TestId(1), {TestId(1), TestId(2), TestId(3)}, {TestId(2), TestId(3)}};
  for (const Uuid& task : Tasks(50)) {
    EXPECT_FALSE(RemoteHome(alone, task).has_value());
    EXPECT_FALSE(RemoteHome(cut_off, task).has_value());
  }
}

}  // namespace
}  // namespace pigtail

#include "core/task_view.h"

#include <gtest/gtest.h>

#include "core/projector.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::OpEvent;
using testing::TestId;

using testing::kMs;

class TaskViewTest : public ::testing::Test {
 protected:
  void SetUp() override { Apply(900, AtMs(1), CreateOp{"q", 100, 3, 10}); }
  void Apply(uint64_t id, Hlc when, const QueueOp& op) {
    ApplyEvent(OpEvent(TestId(id), TestId(7000), when, op), &state_);
  }
  void Add(uint64_t id, Hlc when, int64_t priority = 0, uint64_t delay_ms = 0,
           std::optional<uint32_t> max_attempts = {}, std::optional<uint64_t> timeout_ms = {}) {
    Apply(id, when,
          AddOp{"q", "t" + std::to_string(id), "{}", priority, delay_ms, max_attempts, timeout_ms});
  }
  std::vector<Uuid> ClaimableIds(uint64_t now_ms, size_t limit = 100) {
    std::vector<Uuid> ids;
    for (const TaskRecord* t : ClaimableTasks(state_, "q", now_ms * kMs, limit))
      ids.push_back(t->id);
    return ids;
  }
  State state_;
};

TEST_F(TaskViewTest, ClaimOrderIsPriorityThenOldest) {
  Add(1, AtMs(10));
  Add(2, AtMs(5));
  Add(3, AtMs(20), /*priority=*/5);
  Add(4, AtMs(20), /*priority=*/-1);
  EXPECT_EQ(ClaimableIds(30), (std::vector<Uuid>{TestId(3), TestId(2), TestId(1), TestId(4)}));
  EXPECT_EQ(ClaimableIds(30, 2), (std::vector<Uuid>{TestId(3), TestId(2)}));
}

TEST_F(TaskViewTest, DelayedTaskIsNotClaimableBeforeItsTime) {
  Add(1, AtMs(10), 0, /*delay_ms=*/50);
  EXPECT_TRUE(ClaimableIds(59).empty());
  EXPECT_EQ(ClaimableIds(60), std::vector<Uuid>{TestId(1)});
}

TEST_F(TaskViewTest, WorkingTasksAreSkippedUntilTheirLeaseExpires) {
  Add(1, AtMs(10));
  Add(2, AtMs(11));
  Apply(3, AtMs(20), ProgressOp{"q", TestId(1), TestId(500), 0});
  EXPECT_EQ(ClaimableIds(21), std::vector<Uuid>{TestId(2)});
  EXPECT_EQ(ClaimableIds(120), (std::vector<Uuid>{TestId(1), TestId(2)}));
}

TEST_F(TaskViewTest, PerTaskTimeoutOverridesTheQueue) {
  Add(1, AtMs(10), 0, 0, {}, /*timeout_ms=*/5);
  Apply(3, AtMs(20), ProgressOp{"q", TestId(1), TestId(500), 0});
  EXPECT_EQ(ClaimableIds(25), std::vector<Uuid>{TestId(1)});
}

TEST_F(TaskViewTest, ExpiredLeasesMergeWithPendingTasksInClaimOrder) {
  Add(1, AtMs(10));
  Add(2, AtMs(12));
  Add(3, AtMs(14), /*priority=*/5);
  Add(4, AtMs(16));
  Add(5, AtMs(11), 0, 0, {}, /*timeout_ms=*/1000);  // a lease that outlives the others
  Apply(11, AtMs(20), ProgressOp{"q", TestId(1), TestId(500), 0});
  Apply(13, AtMs(21), ProgressOp{"q", TestId(3), TestId(500), 0});
  Apply(15, AtMs(19), ProgressOp{"q", TestId(5), TestId(500), 0});
  // Leases of 100 ms: at 50 ms only 2 and 4 are claimable.
  EXPECT_EQ(ClaimableIds(50), (std::vector<Uuid>{TestId(2), TestId(4)}));
  // At 130 ms the leases of 1 and 3 ran out; 5's runs until 1019 ms.
  EXPECT_EQ(ClaimableIds(130), (std::vector<Uuid>{TestId(3), TestId(1), TestId(2), TestId(4)}));
  EXPECT_EQ(ClaimableIds(130, 2), (std::vector<Uuid>{TestId(3), TestId(1)}));
  EXPECT_EQ(ClaimableIds(1019),
            (std::vector<Uuid>{TestId(3), TestId(1), TestId(5), TestId(2), TestId(4)}));
  // A heartbeat moves the lease on.
  Apply(16, AtMs(125), ProgressOp{"q", TestId(1), TestId(500), 0});
  EXPECT_EQ(ClaimableIds(130), (std::vector<Uuid>{TestId(3), TestId(2), TestId(4)}));
}

TEST_F(TaskViewTest, ANewQueueTimeoutAppliesToLeasesAlreadyRunning) {
  Add(1, AtMs(10));
  Apply(2, AtMs(20), ProgressOp{"q", TestId(1), TestId(500), 0});
  EXPECT_TRUE(ClaimableIds(60).empty());  // 100 ms lease
  Apply(3, AtMs(30), CreateOp{"q", 10, 3, 10});
  EXPECT_EQ(ClaimableIds(60), std::vector<Uuid>{TestId(1)});  // now 10 ms
  Apply(4, AtMs(40), CreateOp{"q", 5000, 3, 10});
  EXPECT_TRUE(ClaimableIds(60).empty());
  EXPECT_EQ(ClaimableIds(5020), std::vector<Uuid>{TestId(1)});
}

TEST_F(TaskViewTest, TerminalTasksLeaveTheClaimIndex) {
  Add(1, AtMs(10));
  Add(2, AtMs(11));
  Apply(3, AtMs(20), DoneOp{"q", TestId(1), TestId(500), 0});
  Apply(4, AtMs(20), CancelOp{"q", TestId(2)});
  EXPECT_TRUE(ClaimableIds(1000).empty());
  EXPECT_TRUE(state_.FindSlot("q")->open.empty());
  EXPECT_TRUE(state_.FindSlot("q")->leased.empty());
  QueueCounts c = CountTasks(state_, "q", 1000 * kMs);
  EXPECT_EQ(c.done, 1u);
  EXPECT_EQ(c.cancelled, 1u);
  EXPECT_EQ(c.pending + c.working + c.dead + c.claimable, 0u);
}

TEST_F(TaskViewTest, CountsByReadTimeState) {
  Add(1, AtMs(10));
  Add(2, AtMs(11));
  Add(3, AtMs(12));
  Apply(4, AtMs(20), ProgressOp{"q", TestId(1), TestId(500), 0});
  Apply(5, AtMs(20), FailOp{"q", TestId(2), TestId(500), 2, "x", 0, true});
  QueueCounts c = CountTasks(state_, "q", 50 * kMs);
  EXPECT_EQ(c.working, 1u);
  EXPECT_EQ(c.dead, 1u);
  EXPECT_EQ(c.pending, 1u);
  EXPECT_EQ(c.claimable, 1u);
  QueueCounts later = CountTasks(state_, "q", 500 * kMs);  // lease of task 1 ran out
  EXPECT_EQ(later.working, 0u);
  EXPECT_EQ(later.pending, 2u);
  EXPECT_EQ(later.claimable, 2u);
}

TEST_F(TaskViewTest, DecideFailBacksOffExponentiallyThenGivesUp) {
  Add(1, AtMs(10));
  const TaskRecord& task = *state_.FindTask("q", TestId(1));
  const QueueRecord& queue = *state_.FindQueue("q");  // max_attempts 3, backoff 10 ms
  FailOp first = DecideFail(task, queue, TestId(500), 0, "e");
  EXPECT_FALSE(first.dead);
  EXPECT_EQ(first.retry_in_ms, 10u);
  FailOp second = DecideFail(task, queue, TestId(500), 1, "e");
  EXPECT_FALSE(second.dead);
  EXPECT_EQ(second.retry_in_ms, 20u);
  FailOp third = DecideFail(task, queue, TestId(500), 2, "e");
  EXPECT_TRUE(third.dead);
  EXPECT_EQ(third.error, "e");
}

TEST_F(TaskViewTest, TaskMaxAttemptsOverridesTheQueueAndBackoffIsCapped) {
  Add(1, AtMs(10), 0, 0, /*max_attempts=*/100);
  const TaskRecord& task = *state_.FindTask("q", TestId(1));
  FailOp op = DecideFail(task, *state_.FindQueue("q"), TestId(500), 60, "e");
  EXPECT_FALSE(op.dead);
  EXPECT_EQ(op.retry_in_ms, 3'600'000u);
}

// Issue 12: a queue with timeout_ms = UINT64_MAX handed out leases that had
// already run out (time + timeout * 10^6 wrapped around).
TEST(LeaseExpiresAtNsTest, Saturates) {
  const uint64_t now = 1'800'000'000'000'000'000ull;
  EXPECT_EQ(LeaseExpiresAtNs(now, 1000), now + 1000 * kMs);
  EXPECT_EQ(LeaseExpiresAtNs(now, UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(LeaseExpiresAtNs(now, UINT64_MAX / kMs), UINT64_MAX);
  EXPECT_EQ(LeaseExpiresAtNs(UINT64_MAX, 1), UINT64_MAX);
}

TEST_F(TaskViewTest, ALeaseOfUint64MaxNeverRunsOut) {
  Apply(901, AtMs(2), CreateOp{"q", UINT64_MAX, 3, 10});
  Add(1, AtMs(10));
  Apply(2, AtMs(20), ProgressOp{"q", TestId(1), TestId(500), 0});
  const TaskRecord* task = state_.FindTask("q", TestId(1));
  ASSERT_NE(task, nullptr);
  TaskView view = ViewTask(*task, *state_.FindQueue("q"), UINT64_MAX - 1);
  EXPECT_EQ(view.state, TaskState::kWorking);
  EXPECT_EQ(view.expires_at_ns, UINT64_MAX);
  EXPECT_TRUE(ClaimableIds(UINT64_MAX / kMs).empty());
}

TEST(TaskStateNameTest, NamesMatchTheOriginalApi) {
  EXPECT_EQ(TaskStateName(TaskState::kPending), "pending");
  EXPECT_EQ(TaskStateName(TaskState::kWorking), "working");
  EXPECT_EQ(TaskStateName(TaskState::kDone), "done");
  EXPECT_EQ(TaskStateName(TaskState::kDead), "dead");
  EXPECT_EQ(TaskStateName(TaskState::kCancelled), "cancelled");
}

}  // namespace
}  // namespace pigtail

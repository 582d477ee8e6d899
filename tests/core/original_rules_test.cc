// The register rules of DESIGN.md §5, one named test each: the original
// Pigtail rules (Pending < Working < Done, nothing goes back) and the
// extensions (leases, fencing, fail, cancel, queue deletion).
#include <gtest/gtest.h>

#include "core/projector.h"
#include "core/task_view.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::OpEvent;
using testing::TestId;

using testing::kMs;

class OriginalRulesTest : public ::testing::Test {
 protected:
  const Uuid node_a_ = TestId(1000);
  const Uuid node_b_ = TestId(2000);
  const Uuid task_ = TestId(1);
  const Uuid worker1_ = TestId(501);
  const Uuid worker2_ = TestId(502);

  ApplyOutcome Apply(uint64_t event, Hlc when, const QueueOp& op, const Uuid* owner = nullptr) {
    return ApplyEvent(OpEvent(TestId(event), owner ? *owner : node_a_, when, op), &state_);
  }
  void CreateQueue(uint64_t timeout_ms = 1000) {
    Apply(900, AtMs(1), CreateOp{"q", timeout_ms, std::nullopt, std::nullopt});
  }
  // The task id is the Add's event id.
  void AddTask(Hlc when = AtMs(10)) {
    ASSERT_EQ(
        ApplyEvent(OpEvent(task_, node_a_, when, AddOp{"q", "job", "{}", 0, 0, {}, {}}), &state_)
            .kind,
        ApplyKind::kChanged);
  }
  ProgressOp Progress(const Uuid& worker, uint64_t lease = 0) {
    return ProgressOp{"q", task_, worker, lease};
  }
  DoneOp Done(const Uuid& worker, uint64_t lease = 0) { return DoneOp{"q", task_, worker, lease}; }
  const TaskRecord& Task() {
    const TaskRecord* t = state_.FindTask("q", task_);
    EXPECT_NE(t, nullptr);
    return *t;
  }
  TaskState StateAt(uint64_t now_ms) {
    return ViewTask(Task(), *state_.FindQueue("q"), now_ms * kMs).state;
  }

  State state_;
};

TEST_F(OriginalRulesTest, AddMakesAPendingTask) {
  CreateQueue();
  AddTask();
  EXPECT_EQ(StateAt(10), TaskState::kPending);
  EXPECT_EQ(Task().add->task_name, "job");
}

TEST_F(OriginalRulesTest, ProgressAppliesToAPendingTask) {
  CreateQueue();
  AddTask();
  EXPECT_EQ(Apply(2, AtMs(20), Progress(worker1_)).kind, ApplyKind::kChanged);
  EXPECT_EQ(StateAt(20), TaskState::kWorking);
  EXPECT_EQ(Task().status.worker, worker1_);
}

TEST_F(OriginalRulesTest, NewerProgressReplacesAWorkingOne) {
  CreateQueue();
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_));
  EXPECT_EQ(Apply(3, AtMs(30), Progress(worker2_)).kind, ApplyKind::kChanged);
  EXPECT_EQ(Task().status.worker, worker2_);
}

TEST_F(OriginalRulesTest, OlderProgressIsDiscarded) {
  CreateQueue();
  AddTask();
  Apply(3, AtMs(30), Progress(worker2_));
  EXPECT_EQ(Apply(2, AtMs(20), Progress(worker1_)).kind, ApplyKind::kUnchanged);
  EXPECT_EQ(Task().status.worker, worker2_);
}

TEST_F(OriginalRulesTest, DoneAppliesToPendingAndWorkingTasks) {
  CreateQueue();
  AddTask();
  EXPECT_EQ(Apply(2, AtMs(20), Done(worker1_)).kind, ApplyKind::kChanged);
  EXPECT_EQ(StateAt(20), TaskState::kDone);

  State other;
  state_.Clear();
  CreateQueue();
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_));
  EXPECT_EQ(Apply(3, AtMs(25), Done(worker1_)).kind, ApplyKind::kChanged);
  EXPECT_EQ(StateAt(25), TaskState::kDone);
}

TEST_F(OriginalRulesTest, NothingGoesBackFromDone) {
  CreateQueue();
  AddTask();
  Apply(2, AtMs(20), Done(worker1_));
  // A Progress newer than the Done still loses: Done outranks every live key.
  EXPECT_EQ(Apply(3, AtMs(99), Progress(worker2_, 5)).kind, ApplyKind::kUnchanged);
  EXPECT_EQ(StateAt(99), TaskState::kDone);
}

TEST_F(OriginalRulesTest, DoneAppliesUnlessANewerDoneIsThere) {
  CreateQueue();
  AddTask();
  Apply(2, AtMs(20), Done(worker1_));
  EXPECT_EQ(Apply(3, AtMs(30), Done(worker2_)).kind, ApplyKind::kChanged);
  EXPECT_EQ(Task().status.worker, worker2_);
  EXPECT_EQ(Apply(4, AtMs(25), Done(worker1_)).kind, ApplyKind::kUnchanged);
  EXPECT_EQ(Task().status.worker, worker2_);
}

TEST_F(OriginalRulesTest, ReapplyingAnEventChangesNothing) {
  CreateQueue();
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_));
  Digest before = state_.total_digest();
  EXPECT_EQ(Apply(2, AtMs(20), Progress(worker1_)).kind, ApplyKind::kUnchanged);
  EXPECT_EQ(state_.total_digest(), before);
}

TEST_F(OriginalRulesTest, EqualHlcsAreOrderedByEventId) {
  CreateQueue();
  AddTask();
  Apply(7, AtMs(20), Progress(worker1_), &node_a_);
  Apply(8, AtMs(20), Progress(worker2_), &node_b_);  // same HLC, greater id wins
  EXPECT_EQ(Task().status.worker, worker2_);
  EXPECT_EQ(Apply(7, AtMs(20), Progress(worker1_), &node_a_).kind, ApplyKind::kUnchanged);
}

TEST_F(OriginalRulesTest, StatusBeforeAddIsKeptAndTheTaskAppearsWithItsAdd) {
  CreateQueue();
  Apply(2, AtMs(20), Progress(worker1_));
  EXPECT_TRUE(ClaimableTasks(state_, "q", 20 * kMs, 10).empty());
  EXPECT_EQ(CountTasks(state_, "q", 20 * kMs), QueueCounts{});  // not visible yet
  AddTask(AtMs(10));
  EXPECT_EQ(StateAt(20), TaskState::kWorking);
  EXPECT_EQ(Task().status.worker, worker1_);
}

TEST_F(OriginalRulesTest, AnExpiredLeaseReadsPendingAndClaimable) {
  CreateQueue(/*timeout_ms=*/100);
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_));
  EXPECT_EQ(StateAt(119), TaskState::kWorking);
  EXPECT_FALSE(ViewTask(Task(), *state_.FindQueue("q"), 119 * kMs).claimable);
  TaskView expired = ViewTask(Task(), *state_.FindQueue("q"), 120 * kMs);
  EXPECT_EQ(expired.state, TaskState::kPending);
  EXPECT_TRUE(expired.claimable);
  EXPECT_EQ(expired.next_lease, 1u);
}

TEST_F(OriginalRulesTest, ReclaimWithTheNextLeaseFencesTheOldWorker) {
  CreateQueue(100);
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_, 0));
  Apply(3, AtMs(200), Progress(worker2_, 1));  // re-claim after expiry
  // The old worker's later heartbeat carries lease 0 and loses.
  EXPECT_EQ(Apply(4, AtMs(210), Progress(worker1_, 0)).kind, ApplyKind::kUnchanged);
  EXPECT_EQ(Task().status.worker, worker2_);
  EXPECT_EQ(Task().status.key.lease, 1u);
}

TEST_F(OriginalRulesTest, HeartbeatRenewsTheLease) {
  CreateQueue(100);
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_));
  Apply(3, AtMs(110), Progress(worker1_));  // heartbeat with the same lease
  EXPECT_EQ(StateAt(200), TaskState::kWorking);
  EXPECT_EQ(StateAt(210), TaskState::kPending);
}

TEST_F(OriginalRulesTest, FailRetriesAfterBackoffWithTheNextLease) {
  CreateQueue(100);
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_, 0));
  Apply(3, AtMs(30), FailOp{"q", task_, worker1_, 0, "timeout talking to SMTP", 50, false});
  TaskView v = ViewTask(Task(), *state_.FindQueue("q"), 79 * kMs);
  EXPECT_EQ(v.state, TaskState::kPending);
  EXPECT_FALSE(v.claimable);
  EXPECT_EQ(v.ready_at_ns, 80 * kMs);
  EXPECT_TRUE(ViewTask(Task(), *state_.FindQueue("q"), 80 * kMs).claimable);
  EXPECT_EQ(Task().status.key.lease, 1u);
  EXPECT_EQ(Task().status.error, "timeout talking to SMTP");
  // A late heartbeat of the failed attempt does not revive it.
  EXPECT_EQ(Apply(4, AtMs(40), Progress(worker1_, 0)).kind, ApplyKind::kUnchanged);
}

TEST_F(OriginalRulesTest, FailWhenAttemptsRunOutIsDead) {
  CreateQueue();
  AddTask();
  Apply(3, AtMs(30), FailOp{"q", task_, worker1_, 2, "gave up", 0, true});
  EXPECT_EQ(StateAt(30), TaskState::kDead);
  EXPECT_EQ(Apply(4, AtMs(40), Progress(worker2_, 9)).kind, ApplyKind::kUnchanged);
}

TEST_F(OriginalRulesTest, CancelOutranksLiveAndDeadButNotDone) {
  CreateQueue();
  AddTask();
  Apply(2, AtMs(20), Progress(worker1_, 4));
  EXPECT_EQ(Apply(3, AtMs(15), CancelOp{"q", task_}).kind, ApplyKind::kChanged);
  EXPECT_EQ(StateAt(30), TaskState::kCancelled);
  EXPECT_EQ(Apply(4, AtMs(10), Done(worker1_)).kind, ApplyKind::kChanged);
  EXPECT_EQ(StateAt(30), TaskState::kDone);
}

TEST_F(OriginalRulesTest, DeleteHidesOlderTasksAndRecreateDoesNotResurrectThem) {
  CreateQueue();
  AddTask(AtMs(10));
  Apply(50, AtMs(20), DeleteOp{"q"});
  EXPECT_EQ(state_.FindQueue("q")->alive, false);
  EXPECT_TRUE(ClaimableTasks(state_, "q", 30 * kMs, 10).empty());
  Apply(51, AtMs(30), CreateOp{"q", 1000, std::nullopt, std::nullopt});
  EXPECT_TRUE(ClaimableTasks(state_, "q", 40 * kMs, 10).empty());
  ApplyEvent(OpEvent(TestId(60), node_a_, AtMs(35), AddOp{"q", "new", "1", 0, 0, {}, {}}), &state_);
  auto claimable = ClaimableTasks(state_, "q", 40 * kMs, 10);
  ASSERT_EQ(claimable.size(), 1u);
  EXPECT_EQ(claimable[0]->id, TestId(60));
}

TEST_F(OriginalRulesTest, QueueIsLastWriterWinsOverCreateAndDelete) {
  Apply(1, AtMs(30), DeleteOp{"q"});
  Apply(2, AtMs(20), CreateOp{"q", 5, std::nullopt, std::nullopt});  // older: loses
  EXPECT_FALSE(state_.FindQueue("q")->alive);
  Apply(3, AtMs(40), CreateOp{"q", 7, 3, std::nullopt});
  EXPECT_TRUE(state_.FindQueue("q")->alive);
  EXPECT_EQ(state_.FindQueue("q")->timeout_ms, 7u);
  EXPECT_EQ(state_.FindQueue("q")->last_delete->hlc, AtMs(30));
}

TEST_F(OriginalRulesTest, MalformedOpsAreRejectedWithAReasonAndForeignDataIsSkipped) {
  Event bad = testing::DataEvent(TestId(5), node_a_, AtMs(1), R"({"Add":{"queue_name":"q"}})");
  ApplyOutcome out = ApplyEvent(bad, &state_);
  EXPECT_EQ(out.kind, ApplyKind::kRejected);
  EXPECT_NE(out.reason.find("task_name"), std::string::npos) << out.reason;
  EXPECT_EQ(state_.rejected().at(TestId(5)), out.reason);
  Digest after_reject = state_.total_digest();
  EXPECT_FALSE(after_reject.IsZero());
  Event foreign = testing::DataEvent(TestId(6), node_a_, AtMs(1), R"({"Set":{"k":"v"}})");
  EXPECT_EQ(ApplyEvent(foreign, &state_).kind, ApplyKind::kForeign);
  EXPECT_EQ(state_.total_digest(), after_reject);
}

}  // namespace
}  // namespace pigtail

// Every decision of core/decide.h and every conflict reason, on a State
// built from events, without a sequencer or threads.
#include "core/decide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/claim_route.h"
#include "core/projector.h"
#include "core/task_view.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::OpEvent;
using testing::PlainAdd;
using testing::TestId;

using testing::kMs;
const Uuid kWorker = TestId(500);
const Uuid kOther = TestId(501);
const Uuid kOwner = TestId(7000);

class DecideTest : public ::testing::Test {
 protected:
  // Queue "q": leases of 100 ms, 2 attempts, backoff 10 ms.
  void SetUp() override { Apply(900, AtMs(1), CreateOp{"q", 100, 2, 10}); }

  void Apply(uint64_t id, Hlc when, const QueueOp& op) {
    ApplyEvent(OpEvent(TestId(id), kOwner, when, op), &state_);
  }
  // Task `id`, added at `ms`.
  void Add(uint64_t id, uint64_t ms, uint64_t delay_ms = 0, int64_t priority = 0) {
    Apply(id, AtMs(ms),
          AddOp{"q", "t" + std::to_string(id), "{\"n\":1}", priority, delay_ms, {}, {}});
  }
  // `worker` claims task `id` with `lease` at `ms`.
  void Claimed(uint64_t id, const Uuid& worker, uint64_t lease, uint64_t ms) {
    Apply(id * 100 + lease, AtMs(ms), ProgressOp{"q", TestId(id), worker, lease});
  }

  // The context at now_ms_: entries stamped at now_ms_ with counts 1, 2, ...
  DecideContext Context() {
    DecideContext ctx;
    ctx.now_ns = now_ms_ * kMs;
    ctx.stamp = [this] { return AtMs(now_ms_, ++stamps_); };
    ctx.batch_ops = batch_ops_;
    return ctx;
  }
  template <typename Request>
  Decision Run(const Request& request) {
    BatchView view(state_);
    return Decide(view, request, Context());
  }
  // Applies a decision's entries, as the sequencer does once they are in
  // the log.
  void Commit(const Decision& d) {
    for (const DecidedEntry& e : d.entries) {
      ApplyEvent(MakeOpEvent(Uuid::Random(), kOwner, std::nullopt, e.when, e.op), &state_);
    }
  }
  TaskState StateOf(uint64_t id) {
    return ViewTask(*state_.FindTask("q", TestId(id)), *state_.FindQueue("q"), now_ms_ * kMs).state;
  }

  static ClaimOneRequest ClaimOne(uint64_t id, const Uuid& worker,
                                  std::optional<uint64_t> lease = {}) {
    return ClaimOneRequest{"q", TestId(id), worker, lease};
  }
  static DoneRequest DoneOne(uint64_t id, const Uuid& worker, std::optional<uint64_t> lease = {}) {
    return DoneRequest{"q", worker, {DoneItem{TestId(id), lease}}};
  }
  static FailRequest FailOne(uint64_t id, const Uuid& worker, std::optional<uint64_t> lease) {
    return FailRequest{"q", TestId(id), worker, lease, "boom"};
  }

  State state_;
  uint64_t now_ms_ = 1000;
  uint32_t stamps_ = 0;
  bool batch_ops_ = true;
};

// A Conflict with `reason`, nothing written.
void ExpectConflict(const Decision& d, ConflictReason reason) {
  EXPECT_EQ(d.reply.status.code(), StatusCode::kConflict) << d.reply.status.ToString();
  EXPECT_EQ(d.reply.reason, reason) << ToString(d.reply.reason);
  EXPECT_TRUE(d.entries.empty());
  EXPECT_TRUE(d.written.empty());
  EXPECT_TRUE(d.reply.claimed.empty());
}

void ExpectItem(const ItemResult& item, ConflictReason reason) {
  EXPECT_EQ(item.status.code(), StatusCode::kConflict) << item.status.ToString();
  EXPECT_EQ(item.reason, reason) << ToString(item.reason);
}

TEST(ConflictReasonTest, WireNames) {
  EXPECT_EQ(ToString(ConflictReason::kNone), "");
  EXPECT_EQ(ToString(ConflictReason::kDone), "done");
  EXPECT_EQ(ToString(ConflictReason::kDoneByAnotherWorker), "done_by_another_worker");
  EXPECT_EQ(ToString(ConflictReason::kLeasedByAnotherWorker), "leased_by_another_worker");
  EXPECT_EQ(ToString(ConflictReason::kLeaseLost), "lease_lost");
  EXPECT_EQ(ToString(ConflictReason::kDead), "dead");
  EXPECT_EQ(ToString(ConflictReason::kCancelled), "cancelled");
  EXPECT_EQ(ToString(ConflictReason::kNotReady), "not_ready");
  EXPECT_EQ(ToString(ConflictReason::kBusy), "busy");
  EXPECT_EQ(ToString(ConflictReason::kSuperseded), "superseded");
  EXPECT_EQ(ToString(ConflictReason::kQueueExists), "queue_exists");
  EXPECT_EQ(ToString(ConflictReason::kNotDead), "not_dead");
  EXPECT_EQ(ToString(ConflictReason::kPaused), "paused");
}

// ---- claim next

TEST_F(DecideTest, ClaimNextTakesClaimableTasksInClaimOrderInOneBatchEntry) {
  Add(1, 10);
  Add(2, 20, 0, /*priority=*/5);
  Add(3, 30);
  Decision d = Run(ClaimNextRequest{"q", kWorker, 2});
  ASSERT_TRUE(d.reply.status.ok()) << d.reply.status.ToString();
  ASSERT_EQ(d.reply.claimed.size(), 2u);
  EXPECT_EQ(d.reply.claimed[0].id, TestId(2));
  EXPECT_EQ(d.reply.claimed[1].id, TestId(1));
  EXPECT_EQ(d.reply.claimed[0].task_name, "t2");
  EXPECT_EQ(d.reply.claimed[0].info_json, "{\"n\":1}");
  EXPECT_EQ(d.reply.claimed[0].lease, 0u);
  EXPECT_EQ(d.reply.claimed[0].worker, kWorker);
  EXPECT_FALSE(d.reply.claimed[0].heartbeat);
  EXPECT_EQ(d.reply.claimed[0].expires_at_ms, now_ms_ + 100);
  ASSERT_EQ(d.entries.size(), 1u);
  const auto* batch = std::get_if<BatchOp>(&d.entries[0].op);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->ops.size(), 2u);
  EXPECT_EQ(d.entries[0].when, AtMs(now_ms_, 1));
  EXPECT_EQ(d.written, (std::vector<Uuid>{TestId(2), TestId(1)}));
  ASSERT_EQ(d.claims.size(), 2u);
  EXPECT_EQ(d.claims[1].entry, 0u);
  EXPECT_EQ(d.claims[1].timeout_ms, 100u);
  Commit(d);
  EXPECT_EQ(StateOf(1), TaskState::kWorking);
  EXPECT_EQ(StateOf(2), TaskState::kWorking);
  EXPECT_EQ(StateOf(3), TaskState::kPending);
}

TEST_F(DecideTest, ClaimNextWithoutBatchOpsWritesAnEntryPerClaim) {
  batch_ops_ = false;
  Add(1, 10);
  Add(2, 20);
  Decision d = Run(ClaimNextRequest{"q", kWorker, 5});
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<ProgressOp>(d.entries[0].op));
  EXPECT_LT(d.entries[0].when, d.entries[1].when);
  EXPECT_EQ(d.claims[1].entry, 1u);
}

TEST_F(DecideTest, ClaimNextSplitsBatchesAtTheirLimit) {
  for (uint64_t id = 1; id <= kMaxBatchOps + 1; ++id) Add(id, 10);
  Decision d = Run(ClaimNextRequest{"q", kWorker, kMaxBatchOps + 1});
  ASSERT_EQ(d.reply.claimed.size(), kMaxBatchOps + 1);
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(std::get<BatchOp>(d.entries[0].op).ops.size(), kMaxBatchOps);
  EXPECT_TRUE(std::holds_alternative<ProgressOp>(d.entries[1].op));
  EXPECT_EQ(d.claims.back().entry, 1u);
}

TEST_F(DecideTest, ClaimNextWithNothingClaimableWritesNothing) {
  Add(1, 10, /*delay_ms=*/5000);
  Decision d = Run(ClaimNextRequest{"q", kWorker, 1});
  EXPECT_TRUE(d.reply.status.ok());
  EXPECT_TRUE(d.reply.claimed.empty());
  EXPECT_TRUE(d.entries.empty());
}

TEST_F(DecideTest, ClaimNextOfAnUnknownOrDeletedQueueIsNotFound) {
  EXPECT_EQ(Run(ClaimNextRequest{"nope", kWorker, 1}).reply.status.code(), StatusCode::kNotFound);
  Apply(901, AtMs(2), DeleteOp{"q"});
  EXPECT_EQ(Run(ClaimNextRequest{"q", kWorker, 1}).reply.status.code(), StatusCode::kNotFound);
}

TEST_F(DecideTest, ClaimsInOneBatchNeverShareATask) {
  Add(1, 10);
  Add(2, 20);
  BatchView view(state_);
  Decision first = Decide(view, ClaimNextRequest{"q", kWorker, 1}, Context());
  view.Accept(first);
  Decision second = Decide(view, ClaimNextRequest{"q", kOther, 2}, Context());
  view.Accept(second);
  Decision third = Decide(view, ClaimNextRequest{"q", kOther, 1}, Context());
  ASSERT_EQ(first.reply.claimed.size(), 1u);
  ASSERT_EQ(second.reply.claimed.size(), 1u);
  EXPECT_EQ(first.reply.claimed[0].id, TestId(1));
  EXPECT_EQ(second.reply.claimed[0].id, TestId(2));
  EXPECT_TRUE(third.reply.claimed.empty());
}

TEST_F(DecideTest, ADecisionNotAcceptedLeavesItsTasksToTheBatch) {
  Add(1, 10);
  BatchView view(state_);
  Decision dropped = Decide(view, ClaimNextRequest{"q", kWorker, 1}, Context());
  ASSERT_EQ(dropped.reply.claimed.size(), 1u);
  Decision next = Decide(view, ClaimNextRequest{"q", kOther, 1}, Context());
  ASSERT_EQ(next.reply.claimed.size(), 1u);
  EXPECT_EQ(next.reply.claimed[0].id, TestId(1));
}

TEST_F(DecideTest, ClaimNextTakesOverAnExpiredLease) {
  Add(1, 10);
  Claimed(1, kOther, 0, 20);  // runs out at 120 ms
  Decision d = Run(ClaimNextRequest{"q", kWorker, 1});
  ASSERT_EQ(d.reply.claimed.size(), 1u);
  EXPECT_EQ(d.reply.claimed[0].lease, 1u);
  EXPECT_TRUE(d.claims[0].took_expired_lease);
}

TEST_F(DecideTest, ClaimsCarryTheLeaseLengthAndTheAttempt) {
  Add(1, 10);
  Apply(2, AtMs(10), AddOp{"q", "own timeout", "{}", /*priority=*/9, 0, {}, /*timeout_ms=*/250});
  Claimed(1, kOther, 0, 20);  // runs out at 120 ms: the next claim is attempt 2
  Decision d = Run(ClaimNextRequest{"q", kWorker, 2});
  ASSERT_EQ(d.reply.claimed.size(), 2u);
  EXPECT_EQ(d.reply.claimed[0].id, TestId(2));
  EXPECT_EQ(d.reply.claimed[0].lease_ms, 250u);  // the task's own timeout_ms
  EXPECT_EQ(d.reply.claimed[0].attempt, 1u);
  EXPECT_EQ(d.reply.claimed[1].lease_ms, 100u);  // the queue's
  EXPECT_EQ(d.reply.claimed[1].attempt, 2u);
}

TEST_F(DecideTest, ClaimOneCountsAttemptsAcrossFailsAndHeartbeats) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 20);
  Apply(2, AtMs(30), FailOp{"q", TestId(1), kWorker, 0, "x", 0, false});  // lease 1 next
  Decision claim = Run(ClaimOne(1, kWorker));
  ASSERT_TRUE(claim.reply.status.ok()) << claim.reply.status.ToString();
  EXPECT_EQ(claim.reply.claimed.at(0).attempt, 2u);
  EXPECT_EQ(claim.reply.claimed[0].lease_ms, 100u);
  Commit(claim);
  Decision heartbeat = Run(ClaimOne(1, kWorker, 1));
  ASSERT_TRUE(heartbeat.reply.status.ok()) << heartbeat.reply.status.ToString();
  EXPECT_TRUE(heartbeat.reply.claimed.at(0).heartbeat);
  EXPECT_EQ(heartbeat.reply.claimed[0].attempt, 2u);
}

// ---- claim next under claim routing (core/claim_route.h)

const Uuid kSelf = TestId(601);
const Uuid kPeer = TestId(602);

std::shared_ptr<const ClaimRoute> TwoNodeRoute(bool peer_reachable = true) {
  auto route = std::make_shared<ClaimRoute>();
  route->self = kSelf;
  route->members = {kSelf, kPeer};
  std::ranges::sort(route->members);
  if (!peer_reachable) route->unreachable = {kPeer};
  return route;
}

TEST_F(DecideTest, RoutedClaimNextLeavesTasksOfAReachableHomeToIt) {
  auto route = TwoNodeRoute();
  std::vector<uint64_t> own;
  std::vector<uint64_t> peers;
  for (uint64_t id = 1; id <= 20; ++id) {
    Add(id, id);
    (HomeOf(TestId(id), route->members) == kSelf ? own : peers).push_back(id);
  }
  ASSERT_FALSE(own.empty());
  ASSERT_FALSE(peers.empty());
  ClaimNextRequest request{"q", kWorker, 20};
  request.route = route;
  Decision d = Run(request);
  ASSERT_TRUE(d.reply.status.ok());
  ASSERT_EQ(d.reply.claimed.size(), own.size());
  for (size_t i = 0; i < own.size(); ++i) EXPECT_EQ(d.reply.claimed[i].id, TestId(own[i]));
  ASSERT_EQ(d.reply.forward_to.size(), 1u);
  EXPECT_EQ(d.reply.forward_to[0].home, kPeer);
  ASSERT_EQ(d.reply.forward_to[0].tasks.size(), peers.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    EXPECT_EQ(d.reply.forward_to[0].tasks[i], TestId(peers[i]));
  }

  // A quiet home is not named until its quiet time is over.
  request.quiet_homes = {kPeer};
  request.quiet_until_ns = (now_ms_ + 1) * kMs;
  EXPECT_TRUE(Run(request).reply.forward_to.empty());
  now_ms_ += 1;
  EXPECT_EQ(Run(request).reply.forward_to.size(), 1u);

  // Unreachable, the peer decides nothing: every task is claimed here.
  request.route = TwoNodeRoute(/*peer_reachable=*/false);
  Decision alone = Run(request);
  EXPECT_EQ(alone.reply.claimed.size(), 20u);
  EXPECT_TRUE(alone.reply.forward_to.empty());
}

TEST_F(DecideTest, ClaimOfCandidatesTakesOnlyThoseStillClaimableAndHomedHere) {
  auto route = TwoNodeRoute();
  std::vector<uint64_t> own;
  uint64_t peers_task = 0;
  for (uint64_t id = 1; id <= 12; ++id) {
    Add(id, id);
    if (HomeOf(TestId(id), route->members) == kSelf) {
      own.push_back(id);
    } else {
      peers_task = id;
    }
  }
  ASSERT_GE(own.size(), 3u);
  ASSERT_NE(peers_task, 0u);
  Claimed(own[0], kOther, 0, 990);  // leased until 1090 ms, not claimable
  ClaimNextRequest request{"q", kWorker, 10};
  request.route = route;
  request.return_entries = true;
  // Named out of claim order, with a task of the other home and an unknown one.
  request.candidates = {TestId(own[2]), TestId(peers_task), TestId(own[0]), TestId(999),
                        TestId(own[1])};
  Decision d = Run(request);
  ASSERT_TRUE(d.reply.status.ok());
  ASSERT_EQ(d.reply.claimed.size(), 2u);
  EXPECT_EQ(d.reply.claimed[0].id, TestId(own[2]));
  EXPECT_EQ(d.reply.claimed[1].id, TestId(own[1]));
  EXPECT_TRUE(d.reply.forward_to.empty());
  request.max = 1;
  EXPECT_EQ(Run(request).reply.claimed.size(), 1u);
}

// ---- claim one (PUT)

TEST_F(DecideTest, ClaimOneClaimsAPendingTask) {
  Add(1, 10);
  Decision d = Run(ClaimOne(1, kWorker));
  ASSERT_TRUE(d.reply.status.ok()) << d.reply.status.ToString();
  ASSERT_EQ(d.reply.claimed.size(), 1u);
  EXPECT_FALSE(d.reply.claimed[0].heartbeat);
  EXPECT_EQ(d.reply.claimed[0].lease, 0u);
  EXPECT_EQ(std::get<ProgressOp>(d.entries.at(0).op), (ProgressOp{"q", TestId(1), kWorker, 0}));
  EXPECT_FALSE(d.claims[0].took_expired_lease);
}

TEST_F(DecideTest, ClaimOneByTheHolderIsAHeartbeat) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 990);
  for (std::optional<uint64_t> lease : {std::optional<uint64_t>(), std::optional<uint64_t>(0)}) {
    Decision d = Run(ClaimOne(1, kWorker, lease));
    ASSERT_TRUE(d.reply.status.ok()) << d.reply.status.ToString();
    EXPECT_TRUE(d.reply.claimed.at(0).heartbeat);
    EXPECT_EQ(d.reply.claimed[0].lease, 0u);
    EXPECT_EQ(d.reply.claimed[0].expires_at_ms, now_ms_ + 100);
  }
}

TEST_F(DecideTest, ClaimOneOfALeasedTaskIsLeasedByAnotherWorker) {
  Add(1, 10);
  Claimed(1, kOther, 0, 990);
  ExpectConflict(Run(ClaimOne(1, kWorker)), ConflictReason::kLeasedByAnotherWorker);
}

TEST_F(DecideTest, ClaimOneWithAStaleLeaseIsLeaseLost) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 20);
  Claimed(1, kWorker, 1, 990);
  ExpectConflict(Run(ClaimOne(1, kWorker, 0)), ConflictReason::kLeaseLost);
}

TEST_F(DecideTest, ClaimOneWithAnExpiredLeaseIsLeaseLost) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 20);  // ran out at 120 ms: the next claim takes lease 1
  ExpectConflict(Run(ClaimOne(1, kWorker, 0)), ConflictReason::kLeaseLost);
  Decision again = Run(ClaimOne(1, kWorker, 1));
  ASSERT_TRUE(again.reply.status.ok()) << again.reply.status.ToString();
  EXPECT_TRUE(again.claims.at(0).took_expired_lease);
}

TEST_F(DecideTest, ClaimOneOfADelayedTaskIsNotReady) {
  Add(1, 10, /*delay_ms=*/5000);
  ExpectConflict(Run(ClaimOne(1, kWorker)), ConflictReason::kNotReady);
}

TEST_F(DecideTest, ClaimOneOfAFinishedTask) {
  Add(1, 10);
  Apply(2, AtMs(20), DoneOp{"q", TestId(1), kWorker, 0});
  ExpectConflict(Run(ClaimOne(1, kWorker)), ConflictReason::kDone);
  ExpectConflict(Run(ClaimOne(1, kOther)), ConflictReason::kDoneByAnotherWorker);
  Add(3, 10);
  Apply(4, AtMs(20), CancelOp{"q", TestId(3)});
  ExpectConflict(Run(ClaimOne(3, kWorker)), ConflictReason::kCancelled);
  Add(5, 10);
  Apply(6, AtMs(20), FailOp{"q", TestId(5), kWorker, 1, "x", 0, true});
  ExpectConflict(Run(ClaimOne(5, kWorker)), ConflictReason::kDead);
}

TEST_F(DecideTest, ClaimOneOfATaskWrittenEarlierInTheBatchIsBusy) {
  Add(1, 10);
  BatchView view(state_);
  Decision cancel = Decide(view, CancelRequest{"q", TestId(1)}, Context());
  view.Accept(cancel);
  ExpectConflict(Decide(view, ClaimOne(1, kWorker), Context()), ConflictReason::kBusy);
}

TEST_F(DecideTest, ClaimOneOfAnUnknownTaskIsNotFound) {
  EXPECT_EQ(Run(ClaimOne(1, kWorker)).reply.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(Run(ClaimOneRequest{"nope", TestId(1), kWorker, {}}).reply.status.code(),
            StatusCode::kNotFound);
}

// ---- done (DELETE and batched done)

TEST_F(DecideTest, DoneByTheHolder) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 990);
  Decision d = Run(DoneOne(1, kWorker, 0));
  ASSERT_TRUE(d.reply.status.ok());
  ASSERT_EQ(d.reply.items.size(), 1u);
  EXPECT_TRUE(d.reply.items[0].status.ok());
  EXPECT_EQ(std::get<DoneOp>(d.entries.at(0).op), (DoneOp{"q", TestId(1), kWorker, 0}));
  Commit(d);
  EXPECT_EQ(StateOf(1), TaskState::kDone);
  EXPECT_TRUE(d.reply.items[0].changed);
  // A repeat is not an error, writes nothing and says so.
  Decision repeat = Run(DoneOne(1, kWorker, 0));
  EXPECT_TRUE(repeat.reply.items.at(0).status.ok());
  EXPECT_FALSE(repeat.reply.items[0].changed);
  EXPECT_EQ(repeat.reply.items[0].reason, ConflictReason::kDone);
  EXPECT_TRUE(repeat.entries.empty());
}

TEST_F(DecideTest, DoneOfATaskDoneByAnotherWorkerChangesNothing) {
  Add(1, 10);
  Add(2, 10);
  Claimed(2, kWorker, 0, 990);
  Apply(3, AtMs(20), DoneOp{"q", TestId(1), kOther, 0});
  for (std::optional<uint64_t> lease : {std::optional<uint64_t>(), std::optional<uint64_t>(0)}) {
    Decision d = Run(DoneRequest{"q", kWorker, {{TestId(1), lease}, {TestId(2), 0}}});
    ASSERT_EQ(d.reply.items.size(), 2u);
    EXPECT_TRUE(d.reply.items[0].status.ok()) << d.reply.items[0].status.ToString();
    EXPECT_FALSE(d.reply.items[0].changed);
    EXPECT_EQ(d.reply.items[0].reason, ConflictReason::kDoneByAnotherWorker);
    EXPECT_TRUE(d.reply.items[1].changed);
    EXPECT_EQ(d.reply.items[1].reason, ConflictReason::kNone);
    EXPECT_EQ(d.written, std::vector<Uuid>{TestId(2)});
  }
}

TEST_F(DecideTest, DoneItemsAreDecidedOneByOne) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 990);
  Add(2, 10);
  Apply(3, AtMs(20), CancelOp{"q", TestId(2)});
  Add(4, 10);
  Apply(5, AtMs(20), FailOp{"q", TestId(4), kWorker, 1, "x", 0, true});
  Add(6, 10);
  Claimed(6, kOther, 0, 990);
  DoneRequest request{"q",
                      kWorker,
                      {{TestId(1), 0},
                       {TestId(2), {}},
                       {TestId(4), {}},
                       {TestId(6), 0},
                       {TestId(1), {}},
                       {TestId(99), {}}}};
  Decision d = Run(request);
  ASSERT_TRUE(d.reply.status.ok());
  ASSERT_EQ(d.reply.items.size(), 6u);
  EXPECT_TRUE(d.reply.items[0].status.ok());
  ExpectItem(d.reply.items[1], ConflictReason::kCancelled);
  ExpectItem(d.reply.items[2], ConflictReason::kDead);
  ExpectItem(d.reply.items[3], ConflictReason::kLeaseLost);
  ExpectItem(d.reply.items[4], ConflictReason::kBusy);  // named twice
  EXPECT_EQ(d.reply.items[5].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(d.reply.items[5].reason, ConflictReason::kNone);
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_EQ(d.written, std::vector<Uuid>{TestId(1)});
}

TEST_F(DecideTest, DoneWithALeaseNotHeldIsLeaseLost) {
  Add(1, 10);
  ExpectItem(Run(DoneOne(1, kWorker, 0)).reply.items.at(0), ConflictReason::kLeaseLost);
  Claimed(1, kWorker, 0, 990);
  ExpectItem(Run(DoneOne(1, kWorker, 1)).reply.items.at(0), ConflictReason::kLeaseLost);
  ExpectItem(Run(DoneOne(1, kOther, 0)).reply.items.at(0), ConflictReason::kLeaseLost);
}

TEST_F(DecideTest, DoneOfATaskWrittenEarlierInTheBatchIsBusy) {
  Add(1, 10);
  BatchView view(state_);
  Decision claim = Decide(view, ClaimOne(1, kWorker), Context());
  view.Accept(claim);
  Decision done = Decide(view, DoneOne(1, kWorker), Context());
  ExpectItem(done.reply.items.at(0), ConflictReason::kBusy);
  EXPECT_TRUE(done.entries.empty());
}

TEST_F(DecideTest, DoneInAnUnknownQueueIsNotFound) {
  EXPECT_EQ(Run(DoneRequest{"nope", kWorker, {{TestId(1), {}}}}).reply.status.code(),
            StatusCode::kNotFound);
}

// ---- fail

TEST_F(DecideTest, FailRetriesWithBackoffThenIsDead) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 990);
  Decision first = Run(FailOne(1, kWorker, 0));
  ASSERT_TRUE(first.reply.status.ok()) << first.reply.status.ToString();
  ASSERT_TRUE(first.reply.fail.has_value());
  EXPECT_FALSE(first.reply.fail->dead);
  EXPECT_EQ(first.reply.fail->retry_in_ms, 10u);
  EXPECT_EQ(std::get<FailOp>(first.entries.at(0).op), *first.reply.fail);
  Commit(first);
  now_ms_ += 20;
  Claimed(1, kWorker, 1, now_ms_);
  Decision second = Run(FailOne(1, kWorker, 1));
  ASSERT_TRUE(second.reply.fail.has_value());
  EXPECT_TRUE(second.reply.fail->dead);  // 2 attempts used
  Commit(second);
  EXPECT_EQ(StateOf(1), TaskState::kDead);
}

TEST_F(DecideTest, FailWithoutTheLeaseIsLeaseLost) {
  Add(1, 10);
  ExpectConflict(Run(FailOne(1, kWorker, 0)), ConflictReason::kLeaseLost);  // pending
  Claimed(1, kWorker, 0, 990);
  ExpectConflict(Run(FailOne(1, kOther, 0)), ConflictReason::kLeaseLost);
  ExpectConflict(Run(FailOne(1, kWorker, 1)), ConflictReason::kLeaseLost);
  EXPECT_TRUE(Run(FailOne(1, kWorker, {})).reply.status.ok());
}

TEST_F(DecideTest, FailOfAFinishedTask) {
  Add(1, 10);
  Apply(2, AtMs(20), DoneOp{"q", TestId(1), kWorker, 0});
  ExpectConflict(Run(FailOne(1, kWorker, 0)), ConflictReason::kDone);
  ExpectConflict(Run(FailOne(1, kOther, 0)), ConflictReason::kDoneByAnotherWorker);
  Add(3, 10);
  Apply(4, AtMs(20), CancelOp{"q", TestId(3)});
  ExpectConflict(Run(FailOne(3, kWorker, 0)), ConflictReason::kCancelled);
  Add(5, 10);
  Apply(6, AtMs(20), FailOp{"q", TestId(5), kWorker, 1, "x", 0, true});
  ExpectConflict(Run(FailOne(5, kWorker, 1)), ConflictReason::kDead);
}

TEST_F(DecideTest, FailOfATaskWrittenEarlierInTheBatchIsBusy) {
  Add(1, 10);
  Claimed(1, kWorker, 0, 990);
  BatchView view(state_);
  Decision heartbeat = Decide(view, ClaimOne(1, kWorker, 0), Context());
  view.Accept(heartbeat);
  ExpectConflict(Decide(view, FailOne(1, kWorker, 0), Context()), ConflictReason::kBusy);
}

// ---- cancel

TEST_F(DecideTest, CancelOfAPendingOrWorkingTask) {
  Add(1, 10);
  Add(2, 10);
  Claimed(2, kWorker, 0, 990);
  for (uint64_t id : {1, 2}) {
    Decision d = Run(CancelRequest{"q", TestId(id)});
    ASSERT_TRUE(d.reply.status.ok()) << d.reply.status.ToString();
    Commit(d);
    EXPECT_EQ(StateOf(id), TaskState::kCancelled);
  }
}

TEST_F(DecideTest, CancelOfAFinishedTask) {
  Add(1, 10);
  Apply(2, AtMs(20), DoneOp{"q", TestId(1), kWorker, 0});
  ExpectConflict(Run(CancelRequest{"q", TestId(1)}), ConflictReason::kDone);
  Add(3, 10);
  Apply(4, AtMs(20), CancelOp{"q", TestId(3)});
  ExpectConflict(Run(CancelRequest{"q", TestId(3)}), ConflictReason::kCancelled);
  Add(5, 10);
  Apply(6, AtMs(20), FailOp{"q", TestId(5), kWorker, 1, "x", 0, true});
  ExpectConflict(Run(CancelRequest{"q", TestId(5)}), ConflictReason::kDead);
  EXPECT_EQ(Run(CancelRequest{"q", TestId(99)}).reply.status.code(), StatusCode::kNotFound);
}

TEST_F(DecideTest, CancelWinsOverAWriteEarlierInTheBatch) {
  Add(1, 10);
  BatchView view(state_);
  Decision claim = Decide(view, ClaimOne(1, kWorker), Context());
  view.Accept(claim);
  EXPECT_TRUE(Decide(view, CancelRequest{"q", TestId(1)}, Context()).reply.status.ok());
}

// ---- local writes

// ---- retry

TEST_F(DecideTest, RetryStartsTheNextRoundOfADeadTaskWithFreshAttempts) {
  Add(1, 10);
  Apply(2, AtMs(20), FailOp{"q", TestId(1), kWorker, 1, "x", 0, true});
  ASSERT_EQ(StateOf(1), TaskState::kDead);
  Decision retry = Run(RetryRequest{"q", TestId(1)});
  ASSERT_TRUE(retry.reply.status.ok()) << retry.reply.status.ToString();
  ASSERT_TRUE(retry.reply.retry.has_value());
  EXPECT_EQ(retry.reply.retry->round, 1u);
  EXPECT_EQ(std::get<RetryOp>(retry.entries.at(0).op), *retry.reply.retry);
  EXPECT_EQ(retry.written, std::vector<Uuid>{TestId(1)});
  Commit(retry);
  EXPECT_EQ(StateOf(1), TaskState::kPending);

  // The new round's ops carry it; its attempts start from the first.
  Decision claim = Run(ClaimOne(1, kWorker));
  ASSERT_TRUE(claim.reply.status.ok()) << claim.reply.status.ToString();
  EXPECT_EQ(claim.reply.claimed.at(0).lease, 0u);
  EXPECT_EQ(claim.reply.claimed.at(0).attempt, 1u);
  EXPECT_EQ(std::get<ProgressOp>(claim.entries.at(0).op).round, 1u);
  Commit(claim);
  Decision fail = Run(FailOne(1, kWorker, 0));
  ASSERT_TRUE(fail.reply.fail.has_value());
  EXPECT_FALSE(fail.reply.fail->dead) << "the first attempt of round 1";
  EXPECT_EQ(fail.reply.fail->round, 1u);

  // A write of the earlier round, from a node that had not seen the retry,
  // loses: the task stays in round 1, claimed by kWorker.
  Apply(3, AtMs(2000), DoneOp{"q", TestId(1), kOther, 1});
  EXPECT_EQ(StateOf(1), TaskState::kWorking);
  EXPECT_EQ(state_.FindTask("q", TestId(1))->status.key.round, 1u);
}

// ---- history and results

TEST_F(DecideTest, HeartbeatProgressDoneResultAndFailuresAreKept) {
  Add(1, 10);
  ClaimOneRequest claim = ClaimOne(1, kWorker);
  claim.progress_json = "{\"pct\":10}";
  Decision first = Run(claim);
  ASSERT_TRUE(first.reply.status.ok()) << first.reply.status.ToString();
  Commit(first);
  Commit(Run(FailOne(1, kWorker, 0)));
  const TaskRecord* task = state_.FindTask("q", TestId(1));
  ASSERT_EQ(History(*task).failures.size(), 1u);
  EXPECT_EQ(History(*task).failures[0].error, "boom");
  EXPECT_EQ(History(*task).failures[0].stamp.lease, 0u);
  EXPECT_EQ(History(*task).failures[0].worker, kWorker);
  EXPECT_EQ(AttemptsStarted(*task), 1u);

  now_ms_ += 50;  // past the 10 ms backoff
  Commit(Run(ClaimOne(1, kOther)));
  ClaimOneRequest beat = ClaimOne(1, kOther, 1);
  beat.progress_json = "{\"pct\":90}";
  Commit(Run(beat));
  Commit(Run(ClaimOne(1, kOther, 1)));  // a heartbeat without progress keeps it
  DoneRequest done = DoneOne(1, kOther, 1);
  done.items[0].result_json = "[1,2]";
  Commit(Run(done));
  task = state_.FindTask("q", TestId(1));
  EXPECT_EQ(StateOf(1), TaskState::kDone);
  EXPECT_EQ(History(*task).result_json, "[1,2]");
  ASSERT_TRUE(History(*task).progress.has_value());
  EXPECT_EQ(History(*task).progress->json, "{\"pct\":90}");
  EXPECT_EQ(History(*task).progress->stamp.lease, 1u);
  EXPECT_EQ(History(*task).failures.size(), 1u);
  EXPECT_EQ(AttemptsStarted(*task), 2u);
}

TEST_F(DecideTest, RunAtDelaysTheFirstClaim) {
  Apply(1, AtMs(10), AddOp{"q", "t", "{}", 0, /*delay_ms=*/5, {}, {}, /*run_at_ms=*/1500});
  ExpectConflict(Run(ClaimOne(1, kWorker)), ConflictReason::kNotReady);
  EXPECT_TRUE(Run(ClaimNextRequest{"q", kWorker, 10}).reply.claimed.empty());
  now_ms_ = 1500;
  EXPECT_EQ(Run(ClaimNextRequest{"q", kWorker, 10}).reply.claimed.size(), 1u);
  // The later of the two bounds counts: here the delay.
  Apply(2, AtMs(2000), AddOp{"q", "t", "{}", 0, /*delay_ms=*/100, {}, {}, /*run_at_ms=*/1});
  now_ms_ = 2050;
  ExpectConflict(Run(ClaimOne(2, kWorker)), ConflictReason::kNotReady);
}

// ---- purge

TEST_F(DecideTest, PurgeWritesAPurgeForEachMatchingFinishedTask) {
  for (uint64_t id = 1; id <= 5; ++id) Add(id, 10);
  Apply(11, AtMs(20), DoneOp{"q", TestId(1), kWorker, 0});
  Apply(12, AtMs(30), FailOp{"q", TestId(2), kWorker, 1, "x", 0, true});
  Apply(13, AtMs(40), CancelOp{"q", TestId(3)});
  Apply(14, AtMs(50), DoneOp{"q", TestId(4), kWorker, 0});
  // Task 5 stays pending.
  PurgeRequest dead_only{"q", false, true, false, std::nullopt, 10};
  Decision d = Run(dead_only);
  ASSERT_TRUE(d.reply.status.ok());
  EXPECT_EQ(d.reply.purged, 1u);
  EXPECT_EQ(d.written, std::vector<Uuid>{TestId(2)});
  // Finished before 45 ms: tasks 1 and 3 of the rest (4 finished at 50).
  PurgeRequest before{"q", true, true, true, 45 * kMs, 10};
  d = Run(before);
  EXPECT_EQ(d.reply.purged, 3u);
  EXPECT_FALSE(d.reply.more);
  // At most `max`, saying that more remain.
  PurgeRequest one{"q", true, true, true, std::nullopt, 1};
  d = Run(one);
  EXPECT_EQ(d.reply.purged, 1u);
  EXPECT_TRUE(d.reply.more);
  PurgeRequest all{"q", true, true, true, std::nullopt, 10};
  d = Run(all);
  EXPECT_EQ(d.reply.purged, 4u);
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_EQ(std::get<BatchOp>(d.entries[0].op).ops.size(), 4u);
  Commit(d);
  for (uint64_t id = 1; id <= 4; ++id) {
    const TaskRecord* task = state_.FindTask("q", TestId(id));
    ASSERT_NE(task, nullptr);
    EXPECT_TRUE(Purged(*task));
    EXPECT_FALSE(task->add.has_value());
    EXPECT_FALSE(TaskVisible(*task, state_.FindQueue("q")));
  }
  EXPECT_EQ(StateOf(5), TaskState::kPending);
  EXPECT_EQ(Run(all).reply.purged, 0u);
  EXPECT_EQ(Run(ClaimOne(1, kWorker)).reply.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(Run(RetryRequest{"q", TestId(2)}).reply.status.code(), StatusCode::kNotFound);
  // Nothing brings a purged task back: a late Add, a Retry or a Done of a
  // later round from a peer.
  Apply(2, AtMs(10), AddOp{"q", "t2", "{\"n\":1}", 0, 0, {}, {}});
  Apply(21, AtMs(5000), RetryOp{"q", TestId(2), 7});
  Apply(22, AtMs(5000), DoneOp{"q", TestId(2), kWorker, 0, 9, "[1]"});
  EXPECT_TRUE(Purged(*state_.FindTask("q", TestId(2))));
  EXPECT_FALSE(state_.FindTask("q", TestId(2))->add.has_value());
  EXPECT_EQ(Run(PurgeRequest{"nope", true, true, true, std::nullopt, 1}).reply.status.code(),
            StatusCode::kNotFound);
}

TEST_F(DecideTest, RetryOfATaskThatIsNotDead) {
  Add(1, 10);
  ExpectConflict(Run(RetryRequest{"q", TestId(1)}), ConflictReason::kNotDead);  // pending
  Claimed(1, kWorker, 0, 990);
  ExpectConflict(Run(RetryRequest{"q", TestId(1)}), ConflictReason::kNotDead);  // working
  Apply(2, AtMs(995), DoneOp{"q", TestId(1), kWorker, 0});
  ExpectConflict(Run(RetryRequest{"q", TestId(1)}), ConflictReason::kDone);
  Add(3, 10);
  Apply(4, AtMs(20), CancelOp{"q", TestId(3)});
  ExpectConflict(Run(RetryRequest{"q", TestId(3)}), ConflictReason::kCancelled);
  EXPECT_EQ(Run(RetryRequest{"q", TestId(99)}).reply.status.code(), StatusCode::kNotFound);
}

TEST_F(DecideTest, RetryOfATaskWrittenEarlierInTheBatchIsBusy) {
  Add(1, 10);
  Apply(2, AtMs(20), FailOp{"q", TestId(1), kWorker, 1, "x", 0, true});
  BatchView view(state_);
  Decision first = Decide(view, RetryRequest{"q", TestId(1)}, Context());
  ASSERT_TRUE(first.reply.status.ok());
  view.Accept(first);
  ExpectConflict(Decide(view, RetryRequest{"q", TestId(1)}, Context()), ConflictReason::kBusy);
}

// ---- pause

TEST_F(DecideTest, APausedQueueHandsOutNoClaimsButHeartbeatsAndDonesGoOn) {
  Add(1, 10);
  Add(2, 10);
  Claimed(1, kWorker, 0, 990);
  Decision pause = Run(PauseRequest{"q", true});
  ASSERT_TRUE(pause.reply.status.ok()) << pause.reply.status.ToString();
  EXPECT_EQ(std::get<PauseOp>(pause.entries.at(0).op), (PauseOp{"q", true}));
  Commit(pause);
  ASSERT_TRUE(QueuePaused(*state_.FindQueue("q")));

  Decision next = Run(ClaimNextRequest{"q", kOther, 10, 0});
  EXPECT_TRUE(next.reply.status.ok());
  EXPECT_TRUE(next.reply.claimed.empty());
  EXPECT_TRUE(next.entries.empty());
  ExpectConflict(Run(ClaimOne(2, kOther)), ConflictReason::kPaused);
  EXPECT_TRUE(Run(ClaimOne(1, kWorker, 0)).reply.status.ok()) << "a heartbeat";
  EXPECT_TRUE(Run(DoneOne(1, kWorker, 0)).reply.items.at(0).changed);

  Commit(Run(PauseRequest{"q", false}));
  EXPECT_FALSE(QueuePaused(*state_.FindQueue("q")));
  EXPECT_EQ(Run(ClaimNextRequest{"q", kOther, 10, 0}).reply.claimed.size(), 1u);
}

TEST_F(DecideTest, PauseOfAnUnknownQueueIsNotFoundAndARecreatedQueueStartsUnpaused) {
  EXPECT_EQ(Run(PauseRequest{"nope", true}).reply.status.code(), StatusCode::kNotFound);
  Commit(Run(PauseRequest{"q", true}));
  Apply(901, AtMs(now_ms_, 50), DeleteOp{"q"});
  Apply(902, AtMs(now_ms_, 51), CreateOp{"q", 100, 2, 10});
  EXPECT_FALSE(QueuePaused(*state_.FindQueue("q")));
}

TEST_F(DecideTest, LocalQueueWritesStampedBehindTheRegisterAreSuperseded) {
  // A Delete stamped far ahead of the clocks (beyond the bounds).
  Apply(901, AtMs(1'000'000), DeleteOp{"q"});
  BatchView view(state_);
  Event create = OpEvent(TestId(10), kOwner, AtMs(now_ms_), CreateOp{"q", 100, {}, {}});
  WriteResult r = DecideLocal(view, std::span(&create, 1));
  EXPECT_EQ(r.status.code(), StatusCode::kConflict);
  EXPECT_EQ(r.reason, ConflictReason::kSuperseded);
  EXPECT_TRUE(r.ids.empty());
  Event data = testing::DataEvent(TestId(11), kOwner, AtMs(now_ms_), "{\"x\":1}");
  Event del = OpEvent(TestId(12), kOwner, AtMs(2'000'000), DeleteOp{"q"});
  std::vector<Event> fine{data, del};
  WriteResult ok = DecideLocal(view, fine);
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  EXPECT_EQ(ok.ids, (std::vector<Uuid>{TestId(11), TestId(12)}));
}

TEST_F(DecideTest, LocalAddBehindALaterDeleteIsSuperseded) {
  Apply(901, AtMs(1'000'000), DeleteOp{"q"});
  Apply(902, AtMs(1'000'001), CreateOp{"q", 100, {}, {}});
  BatchView view(state_);
  Event add = OpEvent(TestId(10), kOwner, AtMs(now_ms_), AddOp{"q", "t", "{}", 0, 0, {}, {}});
  WriteResult r = DecideLocal(view, std::span(&add, 1));
  EXPECT_EQ(r.reason, ConflictReason::kSuperseded);
}

// ---- add

TEST_F(DecideTest, AddsGoInBatchEntriesOfAtMostMaxBatchOps) {
  AddRequest request;
  for (size_t i = 0; i < 2 * kMaxBatchOps + 5; ++i) {
    request.tasks.push_back(PlainAdd("q", "t" + std::to_string(i), "{}"));
  }
  Decision d = Run(request);
  ASSERT_TRUE(d.reply.status.ok()) << d.reply.status.ToString();
  ASSERT_EQ(d.entries.size(), 3u);
  size_t next = 0;
  for (const DecidedEntry& e : d.entries) {
    const BatchOp& batch = std::get<BatchOp>(e.op);
    EXPECT_TRUE(batch.ops.empty());
    for (const AddOp& add : batch.adds) EXPECT_EQ(add, request.tasks[next++]);
  }
  EXPECT_EQ(next, request.tasks.size());
  EXPECT_EQ(std::get<BatchOp>(d.entries[2].op).adds.size(), 5u);
  EXPECT_LT(d.entries[0].when, d.entries[1].when);  // one stamp per entry
  EXPECT_TRUE(d.written.empty());                   // new tasks: no other request can name them
  EXPECT_TRUE(d.reply.ids.empty());                 // the caller fills them in from the minted ids

  // A task alone stays a plain Add, as the original Pigtail writes it.
  Decision one = Run(AddRequest{{PlainAdd("q", "solo", "1")}});
  ASSERT_EQ(one.entries.size(), 1u);
  EXPECT_EQ(std::get<AddOp>(one.entries[0].op), (PlainAdd("q", "solo", "1")));

  // Committed, the batch entries' tasks are claimable in the order added.
  Commit(d);
  ClaimNextRequest claim{"q", kWorker, 3};
  Decision claimed = Run(claim);
  ASSERT_EQ(claimed.reply.claimed.size(), 3u);
  EXPECT_EQ(claimed.reply.claimed[0].task_name, "t0");
  EXPECT_EQ(claimed.reply.claimed[2].task_name, "t2");
}

TEST_F(DecideTest, AddsWithoutBatchOpsAreAnEntryEach) {
  batch_ops_ = false;
  Decision d = Run(AddRequest{{PlainAdd("q", "a", "1"), PlainAdd("q", "b", "2")}});
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(std::get<AddOp>(d.entries[1].op).task_name, "b");
  EXPECT_LT(d.entries[0].when, d.entries[1].when);
}

TEST_F(DecideTest, AddsBehindALaterDeleteAreSuperseded) {
  Apply(901, AtMs(1'000'000), DeleteOp{"q"});
  Apply(902, AtMs(1'000'001), CreateOp{"q", 100, {}, {}});
  Decision d = Run(AddRequest{{PlainAdd("q", "a", "1"), PlainAdd("q", "b", "2")}});
  ExpectConflict(d, ConflictReason::kSuperseded);
  now_ms_ = 1'000'002;
  Decision later = Run(AddRequest{{PlainAdd("q", "a", "1"), PlainAdd("q", "b", "2")}});
  ASSERT_TRUE(later.reply.status.ok()) << later.reply.status.ToString();
  EXPECT_EQ(later.entries.size(), 1u);
}

// ---- create and settings

TEST_F(DecideTest, CreateOfALiveQueueWithOtherSettingsIsQueueExists) {
  Decision same = Run(CreateRequest{CreateOp{"q", 100, 2, 10}, false});
  ASSERT_TRUE(same.reply.status.ok()) << same.reply.status.ToString();
  ASSERT_EQ(same.entries.size(), 1u);  // written again, as before: idempotent
  EXPECT_EQ(std::get<CreateOp>(same.entries[0].op), (CreateOp{"q", 100, 2, 10}));
  Decision other = Run(CreateRequest{CreateOp{"q", 500, 2, 10}, false});
  EXPECT_EQ(other.reply.status.code(), StatusCode::kConflict);
  EXPECT_EQ(other.reply.reason, ConflictReason::kQueueExists);
  EXPECT_EQ(other.reply.queue, (CreateOp{"q", 100, 2, 10}));
  EXPECT_TRUE(other.entries.empty());
  // No max_attempts is other settings too.
  EXPECT_EQ(Run(CreateRequest{CreateOp{"q", 100, {}, 10}, false}).reply.reason,
            ConflictReason::kQueueExists);
  // A new name, or a deleted queue, is created.
  EXPECT_TRUE(Run(CreateRequest{CreateOp{"r", 5, {}, {}}, false}).reply.status.ok());
  Apply(901, AtMs(2), DeleteOp{"q"});
  EXPECT_TRUE(Run(CreateRequest{CreateOp{"q", 500, {}, {}}, false}).reply.status.ok());
}

TEST_F(DecideTest, SettingsChangeOfALiveQueueWritesACreate) {
  Decision d = Run(CreateRequest{CreateOp{"q", 500, {}, 10}, true});
  ASSERT_TRUE(d.reply.status.ok()) << d.reply.status.ToString();
  ASSERT_EQ(d.entries.size(), 1u);
  Commit(d);
  EXPECT_EQ(QueueSettings(*state_.FindQueue("q")), (CreateOp{"q", 500, {}, 10}));
  EXPECT_EQ(Run(CreateRequest{CreateOp{"nope", 5, {}, {}}, true}).reply.status.code(),
            StatusCode::kNotFound);
  Apply(901, AtMs(2'000), DeleteOp{"q"});  // after the Create committed above
  EXPECT_EQ(Run(CreateRequest{CreateOp{"q", 5, {}, {}}, true}).reply.status.code(),
            StatusCode::kNotFound);
}

TEST_F(DecideTest, CreateBehindARegisterStampedAheadIsSuperseded) {
  Apply(901, AtMs(1'000'000), CreateOp{"q", 100, 2, 10});
  for (bool replace : {false, true}) {
    Decision d = Run(CreateRequest{CreateOp{"q", 100, 2, 10}, replace});
    EXPECT_EQ(d.reply.reason, ConflictReason::kSuperseded) << replace;
    EXPECT_TRUE(d.entries.empty());
  }
}

// ---- external entries

TEST(AdmitExternalTest, OwnEntriesAreRefusedAndEntriesAheadDeferred) {
  const uint64_t now = 1'000 * kMs;
  HybridClock clock(/*max_offset_ns=*/10 * kMs, [now] { return now; });
  const Uuid me = TestId(1);
  Event mine = testing::DataEvent(TestId(10), me, AtMs(900), "{}");
  Event peer = testing::DataEvent(TestId(11), TestId(2), AtMs(900), "{}");
  Event ahead = testing::DataEvent(TestId(12), TestId(2), AtMs(5'000), "{}");

  Admission refused = AdmitExternal(ExternalRequest{{peer, mine}}, me, clock, false);
  EXPECT_EQ(refused.reply.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(refused.admitted.empty());

  Admission deferred = AdmitExternal(ExternalRequest{{ahead, peer}}, me, clock, false);
  ASSERT_TRUE(deferred.reply.status.ok());
  EXPECT_EQ(deferred.admitted, std::vector<size_t>{1});
  ASSERT_EQ(deferred.reply.deferred.size(), 1u);
  EXPECT_EQ(deferred.reply.deferred[0].index, 0u);
  EXPECT_EQ(deferred.reply.deferred[0].reason, kAheadReason);
  EXPECT_EQ(deferred.reply.deferred[0].status.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(deferred.beyond_bounds, 1u);
  EXPECT_LT(clock.Last(), AtMs(5'000));

  Admission attached = AdmitExternal(ExternalRequest{{ahead}}, me, clock, true);
  EXPECT_EQ(attached.admitted, std::vector<size_t>{0});
  EXPECT_TRUE(attached.reply.deferred.empty());
  EXPECT_EQ(attached.beyond_bounds, 1u);
}

TEST_F(DecideTest, RestampMovesTheExpiryOfTheClaimsItHolds) {
  batch_ops_ = false;
  Add(1, 10);
  Add(2, 20);
  Decision d = Run(ClaimNextRequest{"q", kWorker, 2});
  ASSERT_EQ(d.entries.size(), 2u);
  Restamp(&d, 1, AtMs(now_ms_ + 50));
  EXPECT_EQ(d.entries[1].when, AtMs(now_ms_ + 50));
  EXPECT_EQ(d.reply.claimed[0].expires_at_ms, now_ms_ + 100);
  EXPECT_EQ(d.reply.claimed[1].expires_at_ms, now_ms_ + 150);
}

}  // namespace
}  // namespace pigtail

// A Batch entry applies exactly as its ops would, each as an entry of its
// own carrying the batch's id and time (docs/queue_ops.md).
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "core/projector.h"
#include "core/state.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::OpEvent;
using testing::PlainAdd;
using testing::TestId;

const Uuid kOwner = TestId(1000);

// Tasks 1..n in queue "q" (and "r"), some already claimed or finished.
void Seed(std::mt19937_64& rng, int n, State* state) {
  ApplyEvent(OpEvent(TestId(500), kOwner, AtMs(1), CreateOp{"q", 30000, {}, {}}), state);
  for (int i = 1; i <= n; ++i) {
    const Uuid task = TestId(static_cast<uint64_t>(i));
    const char* queue = i % 5 == 0 ? "r" : "q";
    ApplyEvent(OpEvent(task, kOwner, AtMs(2), AddOp{queue, "t", "{}", 0, 0, {}, {}}), state);
    const Uuid worker = TestId(2000 + rng() % 3);
    const Uuid id = TestId(600 + static_cast<uint64_t>(i));
    switch (rng() % 3) {
      case 0:
        ApplyEvent(OpEvent(id, kOwner, AtMs(3 + rng() % 20), ProgressOp{queue, task, worker, 1}),
                   state);
        break;
      case 1:
        ApplyEvent(OpEvent(id, kOwner, AtMs(3 + rng() % 20), DoneOp{queue, task, worker, 0}),
                   state);
        break;
      default:
        break;
    }
  }
}

TEST(BatchApplyTest, EqualsItsOpsAsEntriesWithTheBatchStamp) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::mt19937_64 seed_rng(round);
    State with_batch;
    Seed(seed_rng, 12, &with_batch);
    seed_rng.seed(round);
    State with_entries;
    Seed(seed_rng, 12, &with_entries);
    BatchOp batch;
    for (int i = 1; i <= 12; ++i) {
      if (rng() % 2) continue;
      const Uuid task = TestId(static_cast<uint64_t>(i));
      const std::string queue = rng() % 8 == 0 ? "r" : "q";  // sometimes the wrong queue
      const Uuid worker = TestId(2000 + rng() % 3);
      const uint64_t lease = rng() % 3;
      switch (rng() % 4) {
        case 0:
          batch.ops.emplace_back(ProgressOp{queue, task, worker, lease});
          break;
        case 1:
          batch.ops.emplace_back(DoneOp{queue, task, worker, lease});
          break;
        case 2:
          batch.ops.emplace_back(FailOp{queue, task, worker, lease, "e", 10, rng() % 4 == 0});
          break;
        default:
          batch.ops.emplace_back(CancelOp{queue, task});
      }
    }
    if (batch.ops.empty()) continue;
    const Uuid id = TestId(900);
    const Hlc when = AtMs(15, static_cast<uint32_t>(rng() % 2));
    ApplyOutcome outcome = ApplyEvent(OpEvent(id, kOwner, when, batch), &with_batch);
    bool any_changed = false;
    for (const TaskOp& op : batch.ops) {
      any_changed |= ApplyEvent(OpEvent(id, kOwner, when, ToQueueOp(op)), &with_entries).kind ==
                     ApplyKind::kChanged;
    }
    ASSERT_TRUE(with_batch.SameRegisters(with_entries)) << "round " << round;
    ASSERT_EQ(with_batch.total_digest(), with_entries.total_digest());
    EXPECT_EQ(outcome.kind, any_changed ? ApplyKind::kChanged : ApplyKind::kUnchanged);
    // Applying it again changes nothing.
    EXPECT_EQ(ApplyEvent(OpEvent(id, kOwner, when, batch), &with_batch).kind,
              ApplyKind::kUnchanged);
  }
}

TEST(BatchApplyTest, AnOpThatCannotApplyRejectsTheEntryAndTheOthersStillApply) {
  std::mt19937_64 rng(1);
  State state;
  Seed(rng, 2, &state);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  BatchOp batch{
      {FailOp{"q", TestId(1), TestId(2000), max, "e", 0, false}, CancelOp{"q", TestId(2)}}};
  ApplyOutcome outcome = ApplyEvent(OpEvent(TestId(900), kOwner, AtMs(30), batch), &state);
  EXPECT_EQ(outcome.kind, ApplyKind::kRejected);
  EXPECT_NE(outcome.reason.find("lease is at its maximum"), std::string::npos) << outcome.reason;
  EXPECT_EQ(state.rejected().count(TestId(900)), 1u);
  EXPECT_EQ(state.FindTask("q", TestId(2))->status.key.outcome, Outcome::kCancelled);
}

// The Add at index k applies as an Add entry with the batch's time and the
// id BatchTaskId(batch id, k).
TEST(BatchApplyTest, AddsApplyAsEntriesWithTheirTasksIds) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 100; ++round) {
    State with_batch;
    State with_entries;
    for (State* s : {&with_batch, &with_entries}) {
      ApplyEvent(OpEvent(TestId(500), kOwner, AtMs(1), CreateOp{"q", 30000, {}, {}}), s);
    }
    BatchOp batch;
    for (uint64_t n = 1 + rng() % 30; n > 0; --n) {
      AddOp add = PlainAdd(rng() % 4 == 0 ? "r" : "q", "t" + std::to_string(rng() % 5), "{}");
      add.priority = static_cast<int64_t>(rng() % 3);
      batch.adds.push_back(std::move(add));
    }
    const Uuid id = Uuid::Random();
    const Hlc when = AtMs(15, static_cast<uint32_t>(rng() % 2));
    EXPECT_EQ(ApplyEvent(OpEvent(id, kOwner, when, batch), &with_batch).kind, ApplyKind::kChanged);
    for (size_t k = 0; k < batch.adds.size(); ++k) {
      ApplyEvent(OpEvent(BatchTaskId(id, k), kOwner, when, batch.adds[k]), &with_entries);
    }
    ASSERT_TRUE(with_batch.SameRegisters(with_entries)) << "round " << round;
    ASSERT_EQ(with_batch.total_digest(), with_entries.total_digest());
    for (size_t k = 0; k < batch.adds.size(); ++k) {
      const TaskRecord* task = with_batch.FindTask(batch.adds[k].queue_name, BatchTaskId(id, k));
      ASSERT_NE(task, nullptr);
      EXPECT_EQ(task->add->task_name, batch.adds[k].task_name);
      EXPECT_EQ(task->add->hlc, when);
    }
    EXPECT_EQ(ApplyEvent(OpEvent(id, kOwner, when, batch), &with_batch).kind,
              ApplyKind::kUnchanged);
  }
}

// Two entries whose Adds name one task (a Batch's derived id meeting
// another entry's): every order of applying them leaves the least Add.
TEST(BatchApplyTest, TheLeastOfTwoAddsOfOneTaskWins) {
  const Uuid first = TestId(700);
  const Event plain = OpEvent(BatchTaskId(first, 1), kOwner, AtMs(20), PlainAdd("q", "late", "2"));
  const Event batch = OpEvent(first, kOwner, AtMs(10),
                              BatchOp{{}, {PlainAdd("q", "a", "0"), PlainAdd("q", "early", "1")}});
  const Event same_time = OpEvent(BatchTaskId(first, 1), kOwner, AtMs(10), PlainAdd("q", "b", "1"));
  const std::vector<std::vector<const Event*>> orders = {
      {&plain, &batch, &same_time}, {&batch, &plain, &same_time}, {&same_time, &plain, &batch}};
  std::vector<State> states(orders.size());
  for (size_t i = 0; i < orders.size(); ++i) {
    for (const Event* e : orders[i]) ApplyEvent(*e, &states[i]);
    const TaskRecord* task = states[i].FindTask("q", BatchTaskId(first, 1));
    ASSERT_NE(task, nullptr);
    EXPECT_EQ(task->add->task_name, "b");  // the earliest time, then the least name
    EXPECT_TRUE(states[i].SameRegisters(states[0])) << i;
    EXPECT_EQ(states[i].total_digest(), states[0].total_digest()) << i;
  }
}

}  // namespace
}  // namespace pigtail

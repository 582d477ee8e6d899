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

}  // namespace
}  // namespace pigtail

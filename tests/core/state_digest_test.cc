// State's lazy task digests: whatever the sequence of writes and of reads
// in between, the digests read equal those of a state settled after every
// event (what the eager digests computed) and a from-scratch sum, and the
// batches TakeChanges returns are the same.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/codec.h"
#include "core/projector.h"
#include "core/state.h"
#include "core/task_view.h"
#include "tests/core/state_checks.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::DigestFromScratch;
using testing::kMs;
using testing::OpEvent;
using testing::PlainAdd;
using testing::TestId;

const char* const kQueues[] = {"alpha", "beta", "gamma"};

// Random ops over a few queues and a few tasks, so tasks change many times.
std::vector<Event> RandomEvents(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<Uuid> tasks;
  std::vector<Event> events;
  for (int i = 0; i < count; ++i) {
    Uuid id = TestId(static_cast<uint64_t>(i) + 1);
    Uuid owner = TestId(1000 + static_cast<uint64_t>(pick(1, 3)));
    Hlc when = AtMs(static_cast<uint64_t>(pick(0, 500)), static_cast<uint32_t>(pick(0, 1)));
    std::string queue = kQueues[pick(0, 2)];
    Uuid worker = TestId(2000 + static_cast<uint64_t>(pick(1, 4)));
    uint64_t lease = static_cast<uint64_t>(pick(0, 3));
    int roll = pick(0, 99);
    QueueOp op;
    if (roll < 5) {
      op = CreateOp{queue, static_cast<uint64_t>(pick(1, 9)) * 1000, std::nullopt, std::nullopt};
    } else if (roll < 7) {
      op = DeleteOp{queue};
    } else if (roll < 30 || tasks.empty()) {
      AddOp add;
      add.queue_name = queue;
      add.task_name = "t" + std::to_string(i);
      add.info_json = "{\"n\":" + std::to_string(i) + "}";
      add.priority = pick(0, 2);
      op = add;
      tasks.push_back(id);
    } else {
      Uuid task = tasks[static_cast<size_t>(pick(0, static_cast<int>(tasks.size()) - 1))];
      // Status events sometimes name a task under another queue, or arrive
      // for ids that never get an Add.
      if (pick(0, 9) == 0) task = TestId(9000 + static_cast<uint64_t>(pick(0, 20)));
      if (roll < 70) {
        op = ProgressOp{queue, task, worker, lease};
      } else if (roll < 82) {
        op = DoneOp{queue, task, worker, lease};
      } else if (roll < 94) {
        op = FailOp{queue, task, worker, lease, "boom", 100, pick(0, 3) == 0};
      } else {
        op = CancelOp{queue, task};
      }
    }
    events.push_back(OpEvent(id, owner, when, op));
  }
  return events;
}

void ExpectSameDigests(State& lazy, State& eager) {
  ASSERT_EQ(lazy.total_digest(), eager.total_digest());
  EXPECT_EQ(lazy.total_digest(), DigestFromScratch(lazy));
  EXPECT_FALSE(lazy.digests_stale());
  for (const auto& [name, slot] : eager.queues()) {
    EXPECT_EQ(lazy.QueueDigest(name), slot.digest) << name;
    const State::QueueSlot* mine = lazy.FindSlot(name);
    ASSERT_NE(mine, nullptr) << name;
    State::OpenIndex open;  // the claim indexes, recomputed
    State::LeaseIndex leased;
    const uint64_t queue_timeout_ms = mine->record ? mine->record->timeout_ms : 0;
    for (const auto& [id, task] : mine->tasks) {
      EXPECT_EQ(task.digest, Digest::Of(EncodeTaskRecord(task))) << id.ToString();
      if (!task.add || task.status.key.outcome != Outcome::kLive) continue;
      if (task.status.key.phase == Phase::kWorking) {
        LeaseOrder order{LeaseExpiresAtNs(task, queue_timeout_ms), id};
        leased.insert(order);
        EXPECT_EQ(*task.leased_it, order) << id.ToString();  // points at its own element
      } else {
        ClaimOrder order{task.add->priority, task.add->hlc, id};
        open.insert(order);
        EXPECT_EQ(*task.open_it, order) << id.ToString();
      }
    }
    EXPECT_EQ(mine->open, open) << name;
    EXPECT_EQ(mine->leased, leased) << name;
    EXPECT_EQ(mine->finished, slot.finished) << name;
    EXPECT_FALSE(mine->recount) << name;
  }
  EXPECT_TRUE(lazy.SameRegisters(eager));
}

void ExpectSameBatch(const StateBatch& a, const StateBatch& b) {
  EXPECT_EQ(a.checkpoint, b.checkpoint);
  EXPECT_EQ(a.total_digest, b.total_digest);
  EXPECT_EQ(a.queue_digests, b.queue_digests);
  EXPECT_EQ(a.queues, b.queues);
  EXPECT_EQ(a.tasks, b.tasks);
  EXPECT_EQ(a.task_bytes, b.task_bytes);
  ASSERT_EQ(a.task_bytes.size(), a.tasks.size());
  for (size_t i = 0; i < a.tasks.size(); ++i) {
    EXPECT_EQ(a.task_bytes[i], EncodeTaskRecord(a.tasks[i])) << i;
  }
  EXPECT_EQ(a.rejected, b.rejected);
}

TEST(StateDigestTest, LazyDigestsEqualEagerOnesAfterAnySequenceOfWrites) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Event> events = RandomEvents(seed, 400);
    std::mt19937_64 rng(seed * 7919);
    State lazy;
    State eager;
    StateBatch reused;  // lazy's batches reuse one StateBatch
    for (size_t i = 0; i < events.size(); ++i) {
      ApplyEvent(events[i], &lazy);
      ApplyEvent(events[i], &eager);
      eager.SettleDigests();
      ASSERT_FALSE(eager.digests_stale());
      switch (rng() % 16) {
        case 0:
          ASSERT_EQ(lazy.total_digest(), eager.total_digest()) << "event " << i;
          break;
        case 1: {
          const char* queue = kQueues[rng() % 3];
          ASSERT_EQ(lazy.QueueDigest(queue), eager.QueueDigest(queue)) << "event " << i;
          const State::QueueSlot* mine = lazy.FindSlot(queue);  // settles
          const State::QueueSlot* theirs = eager.FindSlot(queue);
          ASSERT_EQ(mine == nullptr, theirs == nullptr) << "event " << i;
          if (mine != nullptr) {
            ASSERT_EQ(mine->finished, theirs->finished) << "event " << i;
          }
          break;
        }
        case 2: {
          uint64_t checkpoint = i + 1;
          lazy.TakeChangesInto(checkpoint, &reused);
          ExpectSameBatch(reused, eager.TakeChanges(checkpoint));
          break;
        }
        default:
          break;
      }
    }
    ExpectSameDigests(lazy, eager);
    ExpectSameBatch(lazy.TakeChanges(99), eager.TakeChanges(99));
  }
}

TEST(StateDigestTest, WritesMarkDigestsStaleAndReadsSettleThem) {
  State state;
  EXPECT_FALSE(state.digests_stale());
  ApplyEvent(
      OpEvent(TestId(1), TestId(100), AtMs(1), CreateOp{"q", 1000, std::nullopt, std::nullopt}),
      &state);
  AddOp add;
  add.queue_name = "q";
  add.task_name = "t";
  add.info_json = "{}";
  ApplyEvent(OpEvent(TestId(2), TestId(100), AtMs(2), add), &state);
  EXPECT_TRUE(state.digests_stale());
  Digest total = state.total_digest();
  EXPECT_FALSE(state.digests_stale());
  EXPECT_EQ(total, DigestFromScratch(state));

  // A claim changes the task again: stale until the next settle. The const
  // accessors that readers share only read: they leave the digests stale.
  ApplyEvent(OpEvent(TestId(3), TestId(100), AtMs(3), ProgressOp{"q", TestId(2), TestId(7), 1}),
             &state);
  EXPECT_TRUE(state.digests_stale());
  const State& reader = state;
  EXPECT_EQ(reader.queues().size(), 1u);
  ASSERT_NE(reader.FindSlot("q"), nullptr);
  EXPECT_EQ(reader.FindSlot("q")->digest, total);  // the last settled value
  EXPECT_TRUE(state.digests_stale());
  state.SettleDigests();
  EXPECT_FALSE(state.digests_stale());
  EXPECT_NE(state.total_digest(), total);
  EXPECT_EQ(state.total_digest(), DigestFromScratch(state));

  // A write that loses (an older claim) changes nothing, digests included.
  Digest before = state.total_digest();
  ApplyEvent(OpEvent(TestId(4), TestId(100), AtMs(1), ProgressOp{"q", TestId(2), TestId(8), 0}),
             &state);
  EXPECT_FALSE(state.digests_stale());
  EXPECT_EQ(state.total_digest(), before);
}

TEST(StateDigestTest, PutTaskOfLoadedRecordsGivesTheSameDigests) {
  std::vector<Event> events = RandomEvents(77, 300);
  State source;
  for (const Event& e : events) ApplyEvent(e, &source);
  State loaded;
  loaded.set_track_changes(false);
  for (const auto& [name, slot] : source.queues()) {
    if (slot.record) loaded.PutQueue(*slot.record);
    for (const auto& [id, task] : slot.tasks) loaded.PutTask(task);
  }
  for (const auto& [id, reason] : source.rejected()) loaded.PutRejected(id, reason);
  EXPECT_TRUE(loaded.digests_stale());
  ExpectSameDigests(loaded, source);
}

// With the claim index off for a stretch of writes (as a replay does), it
// is empty meanwhile, and turning it on rebuilds exactly the index an
// always-on state kept (ExpectSameDigests recomputes it, iterators too).
TEST(StateDigestTest, ClaimIndexRebuiltWhenTurnedBackOn) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<Event> events = RandomEvents(seed + 100, 600);
    State toggled;
    State always;
    for (size_t i = 0; i < events.size(); ++i) {
      if (i % 200 == 50) toggled.set_claim_index(false);
      if (i % 200 == 150) toggled.set_claim_index(true);
      ApplyEvent(events[i], &toggled);
      ApplyEvent(events[i], &always);
      if (!toggled.claim_index()) {
        for (const auto& [name, slot] : toggled.queues()) {
          ASSERT_TRUE(slot.open.empty() && slot.leased.empty()) << name;
        }
      }
      if (i % 200 == 199) ExpectSameDigests(toggled, always);
    }
    toggled.set_claim_index(true);
    ExpectSameDigests(toggled, always);
    size_t open = 0;
    size_t leased = 0;
    for (const auto& [name, slot] : always.queues()) {
      open += slot.open.size();
      leased += slot.leased.size();
    }
    EXPECT_GT(open, 0u);  // the comparison covered both indexes
    EXPECT_GT(leased, 0u);
  }
}

// The claim indexes answer ClaimableTasks as a scan of every task would,
// at any time, after any sequence of writes (queue timeouts changing too).
TEST(StateDigestTest, ClaimableTasksEqualsAScanOfEveryTask) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<Event> events = RandomEvents(seed, 600);
    State state;
    for (size_t i = 0; i < events.size(); ++i) {
      ApplyEvent(events[i], &state);
      if (i % 37 != 0) continue;
      for (const char* queue : kQueues) {
        const State::QueueSlot* slot = state.FindSlot(queue);
        for (uint64_t now_ms : {0, 250, 600, 2000, 20000}) {
          const uint64_t now_ns = now_ms * 1'000'000;
          std::vector<std::pair<ClaimOrder, Uuid>> scan;
          if (slot != nullptr && slot->record && slot->record->alive) {
            for (const auto& [id, task] : slot->tasks) {
              if (task.add && TaskVisible(task, &*slot->record) &&
                  ViewTask(task, *slot->record, now_ns).claimable) {
                scan.emplace_back(ClaimOrder{task.add->priority, task.add->hlc, id}, id);
              }
            }
          }
          std::sort(scan.begin(), scan.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
          std::vector<Uuid> want;
          for (const auto& [order, id] : scan) want.push_back(id);
          std::vector<Uuid> got;
          for (const TaskRecord* t : ClaimableTasks(state, queue, now_ns, 1'000'000)) {
            got.push_back(t->id);
          }
          ASSERT_EQ(got, want) << "seed " << seed << " event " << i << " queue " << queue << " now "
                               << now_ms << " ms";
        }
      }
    }
  }
}

// Deleting or creating a queue again changes which of its finished tasks
// count; they are counted again once, at the next settle, and readers
// sharing the State see the last settled counts until then.
TEST(StateDigestTest, FinishedCountsOfAQueueDeletedAndCreatedAgainSettleOnce) {
  State state;
  const CreateOp create{"q", 1000, std::nullopt, std::nullopt};
  const Uuid worker = TestId(7);
  ApplyEvent(OpEvent(TestId(1), TestId(100), AtMs(1), create), &state);
  ApplyEvent(OpEvent(TestId(2), TestId(100), AtMs(2), PlainAdd("q", "t", "{}")), &state);
  ApplyEvent(OpEvent(TestId(3), TestId(100), AtMs(3), ProgressOp{"q", TestId(2), worker, 1}),
             &state);
  ApplyEvent(OpEvent(TestId(4), TestId(100), AtMs(4), DoneOp{"q", TestId(2), worker, 1}), &state);
  state.SettleDigests();
  const State& reader = state;
  ASSERT_EQ(reader.FindSlot("q")->finished.done, 1u);

  ApplyEvent(OpEvent(TestId(5), TestId(100), AtMs(5), DeleteOp{"q"}), &state);
  EXPECT_TRUE(state.digests_stale());
  EXPECT_TRUE(reader.FindSlot("q")->recount);
  EXPECT_EQ(reader.FindSlot("q")->finished.done, 1u);  // the last settled count
  ApplyEvent(OpEvent(TestId(6), TestId(100), AtMs(6), create), &state);
  state.SettleDigests();
  EXPECT_FALSE(state.digests_stale());
  EXPECT_FALSE(reader.FindSlot("q")->recount);
  EXPECT_EQ(reader.FindSlot("q")->finished.done, 0u);  // added before the Delete: gone for good
  EXPECT_EQ(CountTasks(state, "q", 10 * kMs), QueueCounts{});
}

// A task added after a Delete's stamp and finished while its queue is
// deleted may not leave memory (a Create would show it). When the Create
// comes and the task leaves memory before the next settle, the queue's
// finished tasks are counted first, so the count still holds the task.
TEST(StateDigestTest, FinishedTaskShownByACreateIsCountedBeforeItLeavesMemory) {
  State state;
  state.set_evict_finished(true);
  const CreateOp create{"q", 1000, std::nullopt, std::nullopt};
  const Uuid worker = TestId(7);
  ApplyEvent(OpEvent(TestId(1), TestId(100), AtMs(1), create), &state);
  ApplyEvent(OpEvent(TestId(2), TestId(100), AtMs(2), DeleteOp{"q"}), &state);
  ApplyEvent(OpEvent(TestId(3), TestId(101), AtMs(3), PlainAdd("q", "t", "{}")), &state);
  ApplyEvent(OpEvent(TestId(4), TestId(101), AtMs(4), ProgressOp{"q", TestId(3), worker, 1}),
             &state);
  ApplyEvent(OpEvent(TestId(5), TestId(101), AtMs(5), DoneOp{"q", TestId(3), worker, 1}), &state);
  (void)state.TakeChanges(1);  // settles
  ASSERT_EQ(state.FindSlot("q")->finished.done, 0u);

  ApplyEvent(OpEvent(TestId(6), TestId(100), AtMs(6), create), &state);
  EXPECT_EQ(state.EvictCommitted(1), 1u);
  EXPECT_EQ(state.dropped_count(), 1u);
  state.SettleDigests();
  EXPECT_EQ(state.FindSlot("q")->finished.done, 1u);
  EXPECT_EQ(CountTasks(state, "q", 10 * kMs).done, 1u);
}

TEST(StateDigestTest, ClearDropsStaleDigests) {
  State state;
  std::vector<Event> events = RandomEvents(5, 100);
  for (const Event& e : events) ApplyEvent(e, &state);
  ASSERT_TRUE(state.digests_stale());
  state.Clear();
  EXPECT_FALSE(state.digests_stale());
  EXPECT_EQ(state.total_digest(), Digest{});
  for (const Event& e : events) ApplyEvent(e, &state);
  EXPECT_EQ(state.total_digest(), DigestFromScratch(state));
}

}  // namespace
}  // namespace pigtail

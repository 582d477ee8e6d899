#include "server/state_committer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/memory_store.h"
#include "server/node.h"
#include "server/sequencer.h"
#include "tests/core/gated_state_store.h"

namespace pigtail {
namespace {

using testing::GatedStore;

StateBatch BatchAt(uint64_t checkpoint) {
  StateBatch b;
  b.checkpoint = checkpoint;
  QueueRecord q;
  q.name = "q" + std::to_string(checkpoint);
  b.queues.push_back(q);
  return b;
}

StateCommitter::Listener Counting(int* downs, int* ups, uint64_t* up_failures = nullptr,
                                  std::vector<std::string>* errors = nullptr) {
  StateCommitter::Listener l;
  l.on_down = [=](const Status& s) {
    ++*downs;
    if (errors != nullptr) errors->push_back(s.ToString());
  };
  l.on_up = [=](uint64_t failures, std::chrono::milliseconds) {
    ++*ups;
    if (up_failures != nullptr) *up_failures = failures;
  };
  return l;
}

TEST(StateCommitterTest, OneBatchInFlightCommittedInOrder) {
  GatedStore store;
  int downs = 0;
  int ups = 0;
  {
    StateCommitter committer(&store, Counting(&downs, &ups));
    store.SetGate(false);
    StateBatch first = BatchAt(1);
    ASSERT_TRUE(committer.Offer(&first));
    EXPECT_FALSE(committer.ready());
    StateBatch second = BatchAt(2);
    EXPECT_FALSE(committer.Offer(&second));  // still writing the first
    EXPECT_EQ(second.checkpoint, 2u);        // refused batches are left alone
    EXPECT_EQ(second.queues.size(), 1u);
    store.SetGate(true);
    committer.Wait();
    EXPECT_TRUE(committer.ready());
    ASSERT_TRUE(committer.Offer(&second));
    StateBatch third = BatchAt(3);
    committer.Wait();
    ASSERT_TRUE(committer.Offer(&third));
    // The destructor waits for the batch in flight.
  }
  EXPECT_EQ(store.committed(), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(*store.Checkpoint(), 3u);
  EXPECT_EQ(downs, 0);
  EXPECT_EQ(ups, 0);
}

// Polls until `committer` takes offers again (its backoff ran out).
bool WaitReady(const StateCommitter& committer) {
  for (int i = 0; i < 500; ++i) {
    if (committer.ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(StateCommitterTest, FailedCommitsAreRetriedAndLoseNothing) {
  GatedStore store;
  store.FailFrom(1);
  int downs = 0;
  int ups = 0;
  uint64_t up_failures = 0;
  std::vector<std::string> errors;
  StateCommitterOptions options;
  options.min_backoff = std::chrono::milliseconds(20);
  options.max_backoff = std::chrono::milliseconds(50);
  StateCommitter committer(&store, Counting(&downs, &ups, &up_failures, &errors), options);
  StateBatch first = BatchAt(1);
  ASSERT_TRUE(committer.Offer(&first));
  committer.Wait();
  EXPECT_TRUE(committer.healthy());

  StateBatch second = BatchAt(2);
  ASSERT_TRUE(committer.Offer(&second));
  committer.Wait();
  EXPECT_FALSE(committer.healthy());
  EXPECT_TRUE(committer.holding());
  ASSERT_TRUE(committer.retry_at().has_value());
  // Refused during the backoff, and left alone.
  StateBatch third = BatchAt(3);
  if (!committer.ready()) {
    EXPECT_FALSE(committer.Offer(&third));
    EXPECT_EQ(third.queues.size(), 1u);
  }
  // The next try merges the newer changes in, and fails again: one "down".
  ASSERT_TRUE(WaitReady(committer));
  ASSERT_TRUE(committer.Offer(&third));
  committer.Wait();
  EXPECT_FALSE(committer.healthy());
  EXPECT_EQ(downs, 1);
  EXPECT_EQ(committer.failures(), 2u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("disk on fire"), std::string::npos);
  EXPECT_EQ(*store.Checkpoint(), 1u);

  // The store is back: an empty offer commits everything held.
  store.FailFrom(SIZE_MAX);
  ASSERT_TRUE(WaitReady(committer));
  StateBatch nothing;
  ASSERT_TRUE(committer.Offer(&nothing));
  committer.Wait();
  EXPECT_TRUE(committer.healthy());
  EXPECT_FALSE(committer.holding());
  EXPECT_EQ(ups, 1);
  EXPECT_EQ(up_failures, 2u);
  EXPECT_EQ(*store.Checkpoint(), 3u);
  Result<std::vector<QueueRecord>> queues = store.ListQueues();
  ASSERT_TRUE(queues.ok());
  std::vector<std::string> names;
  for (const QueueRecord& q : *queues) names.push_back(q.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"q1", "q2", "q3"}));
}

// A batch of `tasks` task registers of queue "q" at `checkpoint`.
StateBatch TasksAt(uint64_t checkpoint, size_t tasks) {
  StateBatch b;
  b.checkpoint = checkpoint;
  for (size_t i = 0; i < tasks; ++i) {
    TaskRecord t;
    t.queue = "q";
    t.id = Uuid::Random();
    b.tasks.push_back(t);
  }
  return b;
}

TEST(StateCommitterTest, TheLastCommittedBatchIsHandedBackAsTheSpare) {
  GatedStore store;
  StateCommitter committer(&store, StateCommitter::Listener());
  EXPECT_EQ(committer.TakeSpare().tasks.capacity(), 0u);  // nothing committed yet

  StateBatch first = TasksAt(1, 100);
  ASSERT_TRUE(committer.Offer(&first));
  committer.Wait();
  StateBatch spare = committer.TakeSpare();
  EXPECT_GE(spare.tasks.capacity(), 100u);
  EXPECT_EQ(committer.TakeSpare().tasks.capacity(), 0u);  // handed out once

  // A failed commit is held for its retry, not handed out.
  store.FailFrom(1);
  StateBatch second = TasksAt(2, 10);
  ASSERT_TRUE(committer.Offer(&second));
  committer.Wait();
  EXPECT_TRUE(committer.holding());
  EXPECT_EQ(committer.TakeSpare().tasks.capacity(), 0u);
  store.FailFrom(SIZE_MAX);
  StateBatch nothing;
  ASSERT_TRUE(WaitReady(committer));
  ASSERT_TRUE(committer.Offer(&nothing));
  committer.Wait();
  EXPECT_FALSE(committer.holding());
  EXPECT_GE(committer.TakeSpare().tasks.capacity(), 10u);

  // One of too many tasks, or too many bytes, is let go.
  StateBatch many = TasksAt(3, StateCommitter::kMaxSpareTasks + 1);
  ASSERT_TRUE(committer.Offer(&many));
  committer.Wait();
  EXPECT_EQ(*store.Checkpoint(), 3u);
  EXPECT_EQ(committer.TakeSpare().tasks.capacity(), 0u);
  StateBatch big = TasksAt(4, 10);
  for (const TaskRecord& t : big.tasks) big.task_bytes.push_back(EncodeTaskRecord(t));
  big.task_bytes.back().reserve(StateCommitter::kMaxSpareBytes + 1);
  ASSERT_TRUE(committer.Offer(&big));
  committer.Wait();
  EXPECT_EQ(*store.Checkpoint(), 4u);
  EXPECT_EQ(committer.TakeSpare().tasks.capacity(), 0u);
}

TEST(StateCommitterTest, MergeKeepsTheNewerValueOfEachRegister) {
  StateBatch older;
  older.checkpoint = 5;
  QueueRecord qa;
  qa.name = "a";
  qa.timeout_ms = 1;
  older.queues.push_back(qa);
  TaskRecord t1;
  t1.queue = "a";
  t1.id = *Uuid::Parse("00000000-0000-4000-8000-000000000001");
  t1.status.key.lease = 1;
  TaskRecord t2 = t1;
  t2.id = *Uuid::Parse("00000000-0000-4000-8000-000000000002");
  older.tasks = {t1, t2};
  older.task_bytes = {"t1@1", "t2@1"};
  older.rejected.emplace_back(t1.id, "bad");
  older.queue_digests["a"] = Digest();
  older.queue_tallies["a"] = QueueTally{2, {}};

  StateBatch newer;
  newer.checkpoint = 9;
  qa.timeout_ms = 2;
  QueueRecord qb;
  qb.name = "b";
  newer.queues = {qa, qb};
  TaskRecord t2b = t2;
  t2b.status.key.lease = 2;
  TaskRecord t3 = t1;
  t3.queue = "b";  // same id, another queue: another register
  newer.tasks = {t2b, t3};
  newer.task_bytes = {"t2@2", "t3@1"};
  newer.rejected.emplace_back(t1.id, "bad");
  newer.rejected.emplace_back(t2.id, "worse");
  const Digest newer_total = Digest::Of("something");
  newer.total_digest = newer_total;
  newer.queue_tallies["a"] = QueueTally{2, {.done = 1}};
  newer.queue_tallies["b"] = QueueTally{1, {}};

  MergeNewerBatch(&older, std::move(newer));
  EXPECT_EQ(older.checkpoint, 9u);
  ASSERT_EQ(older.queues.size(), 2u);
  EXPECT_EQ(older.queues[0].timeout_ms, 2u);
  EXPECT_EQ(older.queues[1].name, "b");
  ASSERT_EQ(older.tasks.size(), 3u);
  EXPECT_EQ(older.tasks[0], t1);
  EXPECT_EQ(older.tasks[1], t2b);
  EXPECT_EQ(older.tasks[2], t3);
  EXPECT_EQ(older.task_bytes, (std::vector<std::string>{"t1@1", "t2@2", "t3@1"}));
  EXPECT_EQ(older.rejected.size(), 2u);
  EXPECT_EQ(older.queue_digests.size(), 1u);
  EXPECT_EQ(older.queue_tallies,
            (std::map<std::string, QueueTally>{{"a", {2, {.done = 1}}}, {"b", {1, {}}}}));

  EXPECT_EQ(older.total_digest, newer_total);

  // An empty offer (a retry with nothing new) keeps the checkpoint and the
  // total digest.
  StateBatch empty;
  MergeNewerBatch(&older, std::move(empty));
  EXPECT_EQ(older.checkpoint, 9u);
  EXPECT_EQ(older.total_digest, newer_total);
}

// The sequencer retries failed state commits by itself: an idle node whose
// state store comes back catches up without a new write or a restart.
TEST(StateCommitterTest, AnIdleSequencerRetriesUntilTheStoreIsBack) {
  auto owned = std::make_unique<GatedStore>();
  GatedStore* store = owned.get();
  store->FailFrom(0);
  Result<std::unique_ptr<Node>> node =
      Node::Open(NewMemoryEventStore(), std::move(owned), NodeOptions());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  SequencerOptions options;
  options.state_commit_interval = std::chrono::milliseconds(0);
  Sequencer sequencer(node->get(), options);
  sequencer.Start();
  std::promise<WriteResult> written;
  LocalRequest create;
  create.data = {R"({"Create":{"name":"q","timeout_ms":1000}})"};
  sequencer.Submit(std::move(create), [&](WriteResult r) { written.set_value(std::move(r)); });
  ASSERT_TRUE(written.get_future().get().status.ok());
  auto eventually = [](auto condition) {
    for (int i = 0; i < 1000; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(eventually([&] { return !sequencer.state_commits_ok(); }));
  // Let the first retries fail too, then bring the store back.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(*store->Checkpoint(), 0u);
  store->FailFrom(SIZE_MAX);
  EXPECT_TRUE(eventually([&] { return sequencer.state_commits_ok(); }));
  EXPECT_EQ(*store->Checkpoint(), 1u);
  Result<std::vector<QueueRecord>> queues = store->ListQueues();
  ASSERT_TRUE(queues.ok());
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ((*queues)[0].name, "q");
  sequencer.Stop();
}

}  // namespace
}  // namespace pigtail

#include "replay/commit_pipeline.h"

#include <gtest/gtest.h>

#include "core/memory_store.h"
#include "tests/core/gated_state_store.h"

namespace pigtail::replay {
namespace {

using testing::GatedStore;

TaskRecord Task(const Uuid& id, uint64_t lease) {
  TaskRecord t;
  t.queue = "q";
  t.id = id;
  t.status.key.lease = lease;
  return t;
}

// Fills `*batch` with `tasks` at `checkpoint`.
void Fill(StateBatch* batch, uint64_t checkpoint, std::vector<TaskRecord> tasks) {
  *batch = StateBatch();
  batch->checkpoint = checkpoint;
  batch->tasks = std::move(tasks);
}

TEST(CommitPipelineTest, WithoutOverlapTheStoreHoldsTheCommitOnReturn) {
  auto store = NewMemoryStateStore();
  CommitPipeline pipeline(store.get(), /*overlap=*/false);
  const Uuid id = Uuid::Random();
  Fill(pipeline.next(), 7, {Task(id, 1)});
  ASSERT_TRUE(pipeline.Start(/*sync=*/false).ok());
  EXPECT_EQ(store->Checkpoint().value(), 7u);
  EXPECT_TRUE(pipeline.Finish().ok());
  Result<std::vector<TaskRecord>> got = pipeline.GetTasks({{"q", id}});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].status.key.lease, 1u);
}

// While a commit waits in the store, a task it writes is read back from
// the batch in flight (newer than the store's), and any other from the
// store; the store holds the batch once Finish() returns.
TEST(CommitPipelineTest, OverlappedReadsSeeTheBatchInFlight) {
  GatedStore store;
  CommitPipeline pipeline(&store, /*overlap=*/true);
  const Uuid changed = Uuid::Random();
  const Uuid untouched = Uuid::Random();
  const Uuid absent = Uuid::Random();
  Fill(pipeline.next(), 1, {Task(changed, 1), Task(untouched, 1)});
  ASSERT_TRUE(pipeline.Start(false).ok());
  ASSERT_TRUE(pipeline.Finish().ok());

  store.SetGate(false);
  Fill(pipeline.next(), 2, {Task(changed, 2)});
  ASSERT_TRUE(pipeline.Start(false).ok());  // returns while the commit waits
  EXPECT_EQ(store.Checkpoint().value(), 1u);
  Result<std::vector<TaskRecord>> got =
      pipeline.GetTasks({{"q", changed}, {"q", untouched}, {"q", absent}, {"other", changed}});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  for (const TaskRecord& t : *got) {
    EXPECT_EQ(t.queue, "q");
    EXPECT_EQ(t.status.key.lease, t.id == changed ? 2u : 1u);
  }
  store.SetGate(true);
  EXPECT_TRUE(pipeline.Finish().ok());
  EXPECT_EQ(store.Checkpoint().value(), 2u);
  EXPECT_EQ(store.GetTask("q", changed).value()->status.key.lease, 2u);
  // Nothing in flight: reads go to the store.
  got = pipeline.GetTasks({{"q", changed}});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].status.key.lease, 2u);
}

TEST(CommitPipelineTest, AFailedCommitInFlightFailsTheNextCall) {
  GatedStore store;
  store.FailFrom(1);
  CommitPipeline pipeline(&store, /*overlap=*/true);
  Fill(pipeline.next(), 1, {Task(Uuid::Random(), 1)});
  ASSERT_TRUE(pipeline.Start(false).ok());
  Fill(pipeline.next(), 2, {Task(Uuid::Random(), 1)});
  ASSERT_TRUE(pipeline.Start(false).ok());  // the first commit succeeded
  Fill(pipeline.next(), 3, {Task(Uuid::Random(), 1)});
  EXPECT_EQ(pipeline.Start(false).code(), StatusCode::kIOError);  // the second failed
  EXPECT_EQ(store.Checkpoint().value(), 1u);

  GatedStore failing;
  failing.FailFrom(0);
  CommitPipeline last(&failing, /*overlap=*/true);
  Fill(last.next(), 1, {Task(Uuid::Random(), 1)});
  ASSERT_TRUE(last.Start(false).ok());
  EXPECT_EQ(last.Finish().code(), StatusCode::kIOError);
  EXPECT_TRUE(last.Finish().ok());  // reported once
}

}  // namespace
}  // namespace pigtail::replay

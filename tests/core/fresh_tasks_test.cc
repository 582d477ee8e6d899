// FreshTasks holds the tasks a batch's Adds create, as the projector makes
// them, for the claims waiting on their queues: the wanted number of each
// queue's, none the node's State already holds.
#include "core/fresh_tasks.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/decide.h"
#include "core/projector.h"
#include "core/state.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::kMs;
using testing::OpEvent;
using testing::PlainAdd;
using testing::TestId;

const Uuid kOwner = TestId(1000);
const Uuid kWorker = TestId(2000);

class FreshTasksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Apply(OpEvent(TestId(1), kOwner, AtMs(1), CreateOp{"q", 30000, {}, {}}));
    Apply(OpEvent(TestId(2), kOwner, AtMs(1), CreateOp{"r", 30000, {}, {}}));
  }
  void Apply(const Event& e) { ApplyEvent(e, &base_); }

  // A Batch entry `id` at `ms` of `n` Adds to `queue`.
  static Event BatchOfAdds(const Uuid& id, uint64_t ms, const std::string& queue, int n) {
    BatchOp batch;
    for (int i = 0; i < n; ++i) batch.adds.push_back(PlainAdd(queue, "t", "{}"));
    return OpEvent(id, kOwner, AtMs(ms), batch);
  }

  State base_;
};

TEST_F(FreshTasksTest, TakesTheWantedTasksOfAddsAndBatchesAsTheProjectorWould) {
  const Event plain = OpEvent(TestId(100), kOwner, AtMs(10), PlainAdd("q", "one", R"({"a":1})"));
  const Event batch = BatchOfAdds(TestId(200), 11, "q", 4);
  const Event other = OpEvent(TestId(300), kOwner, AtMs(12), PlainAdd("r", "two", "{}"));
  const Event unwanted = OpEvent(TestId(400), kOwner, AtMs(13), PlainAdd("s", "three", "{}"));
  FreshTasks fresh(base_);
  fresh.Want("q", 2);
  fresh.Want("q", 1);  // two claims: 3 tasks of q in all
  fresh.Want("r", 5);
  fresh.Want("s", 1);  // no such queue: not taken
  for (const Event* e : {&plain, &batch, &other, &unwanted}) fresh.Take(*e);
  EXPECT_EQ(fresh.taken(), 4u);
  EXPECT_TRUE(fresh.wants_any());  // r wants 4 more

  // The tasks as the node's State will hold them once it applies the entries.
  State applied;
  for (const Event* e : {&plain, &batch, &other}) ApplyEvent(*e, &applied);
  const std::vector<std::pair<const char*, Uuid>> taken = {{"q", TestId(100)},
                                                           {"q", BatchTaskId(TestId(200), 0)},
                                                           {"q", BatchTaskId(TestId(200), 1)},
                                                           {"r", TestId(300)}};
  for (const auto& [queue, id] : taken) {
    const TaskRecord* task = fresh.state().FindTask(queue, id);
    ASSERT_NE(task, nullptr) << queue << " " << id.ToString();
    EXPECT_EQ(*task, *applied.FindTask(queue, id));
  }
  EXPECT_EQ(fresh.state().FindTask("q", BatchTaskId(TestId(200), 2)), nullptr);
  EXPECT_EQ(fresh.state().FindTask("s", TestId(400)), nullptr);
  EXPECT_EQ(*fresh.state().FindQueue("q"), *base_.FindQueue("q"));
}

TEST_F(FreshTasksTest, LeavesOutTasksTheNodeHolds) {
  const Event add = OpEvent(TestId(100), kOwner, AtMs(10), PlainAdd("q", "one", "{}"));
  Apply(add);
  FreshTasks fresh(base_);
  fresh.Want("q", 5);
  fresh.Take(add);
  fresh.Take(OpEvent(TestId(101), kOwner, AtMs(11), DeleteOp{"r"}));  // adds no task
  EXPECT_EQ(fresh.taken(), 0u);
  EXPECT_EQ(fresh.state().FindTask("q", TestId(100)), nullptr);
}

TEST_F(FreshTasksTest, TakesNothingWithoutAWant) {
  FreshTasks fresh(base_);
  EXPECT_FALSE(fresh.wants_any());
  fresh.Want("q", 0);
  fresh.Want("nope", 3);
  EXPECT_FALSE(fresh.wants_any());
  fresh.Take(BatchOfAdds(TestId(200), 11, "q", 4));
  EXPECT_EQ(fresh.taken(), 0u);
}

// What the sequencer does with it: a waiting claim decided against the new
// tasks takes them in claim order, and not one that is not ready yet.
TEST_F(FreshTasksTest, AClaimDecidedAgainstItTakesTheNewTasksThatAreReady) {
  AddOp later = PlainAdd("q", "later", "{}");
  later.delay_ms = 60'000;
  const Event delayed = OpEvent(TestId(100), kOwner, AtMs(10), later);
  const Event batch = BatchOfAdds(TestId(200), 11, "q", 3);
  FreshTasks fresh(base_);
  fresh.Want("q", 4);
  fresh.Take(delayed);
  fresh.Take(batch);
  ASSERT_EQ(fresh.taken(), 4u);
  BatchView view(fresh.state());
  DecideContext ctx;
  ctx.now_ns = 12 * kMs;
  uint32_t stamps = 0;
  ctx.stamp = [&] { return AtMs(12, ++stamps); };
  Decision decision = Decide(view, ClaimNextRequest{"q", kWorker, 4, 0}, ctx);
  ASSERT_TRUE(decision.reply.status.ok()) << decision.reply.status.ToString();
  ASSERT_EQ(decision.reply.claimed.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(decision.reply.claimed[k].id, BatchTaskId(TestId(200), k));
    EXPECT_EQ(decision.reply.claimed[k].attempt, 1u);
  }
  // Read before the Adds' time, none is ready.
  ctx.now_ns = 10 * kMs;
  EXPECT_TRUE(Decide(view, ClaimNextRequest{"q", kWorker, 4, 0}, ctx).reply.claimed.empty());
}

}  // namespace
}  // namespace pigtail

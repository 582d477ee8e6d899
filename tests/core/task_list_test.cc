#include "core/task_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/projector.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::kMs;
using testing::OpEvent;
using testing::TestId;

// Queue "q" (lease 100 ms) holding one task in each state at 1,000 ms:
// 1 pending, 2 delayed, 3 working, 4 done, 5 dead, 6 cancelled, 7 waiting
// out a retry backoff, and 8 whose lease ran out (reads pending).
class TaskListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Apply(900, AtMs(1), CreateOp{"q", 100, 3, 10});
    const Uuid worker = TestId(500);
    for (uint64_t id = 1; id <= 8; ++id) {
      Apply(id, AtMs(10 + id),
            AddOp{"q", "t" + std::to_string(id), "{}", 0, id == 2 ? 10'000u : 0u, std::nullopt,
                  std::nullopt});
    }
    Apply(103, AtMs(950), ProgressOp{"q", TestId(3), worker, 0});
    Apply(104, AtMs(50), ProgressOp{"q", TestId(4), worker, 0});
    Apply(114, AtMs(60), DoneOp{"q", TestId(4), worker, 0});
    Apply(105, AtMs(50), ProgressOp{"q", TestId(5), worker, 0});
    Apply(115, AtMs(60), FailOp{"q", TestId(5), worker, 0, "boom", 0, /*dead=*/true});
    Apply(116, AtMs(60), CancelOp{"q", TestId(6)});
    Apply(107, AtMs(950), ProgressOp{"q", TestId(7), worker, 0});
    Apply(117, AtMs(960), FailOp{"q", TestId(7), worker, 0, "again", 60'000, false});
    Apply(108, AtMs(50), ProgressOp{"q", TestId(8), worker, 0});
  }
  void Apply(uint64_t id, Hlc when, const QueueOp& op) {
    ApplyEvent(OpEvent(TestId(id), TestId(7000), when, op), &state_);
  }
  std::vector<Uuid> Ids(TaskFilter filter, std::optional<Uuid> after = std::nullopt,
                        size_t limit = kMaxTaskPage, std::optional<Uuid>* next = nullptr) {
    Result<TaskPage> page = ListTasks(state_, "q", filter, after, limit, kNow);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<Uuid> ids;
    if (!page.ok()) return ids;
    for (const ListedTask& t : page->tasks) ids.push_back(t.task->id);
    if (next != nullptr) *next = page->next_after;
    return ids;
  }
  static constexpr uint64_t kNow = 1000 * kMs;
  State state_;
};

TEST_F(TaskListTest, EachFilterHoldsItsStatesInClaimOrder) {
  using V = std::vector<Uuid>;
  EXPECT_EQ(Ids(TaskFilter::kOpen), (V{TestId(1), TestId(2), TestId(3), TestId(7), TestId(8)}));
  EXPECT_EQ(Ids(TaskFilter::kPending), (V{TestId(1), TestId(2), TestId(7), TestId(8)}));
  EXPECT_EQ(Ids(TaskFilter::kDelayed), (V{TestId(2), TestId(7)}));
  EXPECT_EQ(Ids(TaskFilter::kWorking), V{TestId(3)});
  EXPECT_EQ(Ids(TaskFilter::kDone), V{TestId(4)});
  EXPECT_EQ(Ids(TaskFilter::kDead), V{TestId(5)});
  EXPECT_EQ(Ids(TaskFilter::kCancelled), V{TestId(6)});
  EXPECT_EQ(Ids(TaskFilter::kAll).size(), 8u);
}

TEST_F(TaskListTest, PriorityComesFirst) {
  Apply(9, AtMs(500), AddOp{"q", "urgent", "{}", 5, 0, std::nullopt, std::nullopt});
  EXPECT_EQ(Ids(TaskFilter::kPending).front(), TestId(9));
}

TEST_F(TaskListTest, PagesCoverEveryTaskOnceAndSayWhenThereIsMore) {
  const std::vector<Uuid> all = Ids(TaskFilter::kAll);
  for (size_t limit : {1, 2, 3, 7, 8}) {
    std::vector<Uuid> seen;
    std::optional<Uuid> after;
    for (int page = 0; page < 20; ++page) {
      std::optional<Uuid> next;
      std::vector<Uuid> ids = Ids(TaskFilter::kAll, after, limit, &next);
      EXPECT_LE(ids.size(), limit);
      seen.insert(seen.end(), ids.begin(), ids.end());
      if (!next) break;
      EXPECT_EQ(*next, ids.back());
      after = next;
    }
    EXPECT_EQ(seen, all) << "limit " << limit;
  }
  std::optional<Uuid> next;
  EXPECT_EQ(Ids(TaskFilter::kAll, std::nullopt, 8, &next).size(), 8u);
  EXPECT_FALSE(next) << "a full last page has no next";
}

TEST_F(TaskListTest, AfterNeedNotMatchTheFilter) {
  // 4 is done; the pending tasks after it in claim order follow.
  EXPECT_EQ(Ids(TaskFilter::kPending, TestId(4)), (std::vector<Uuid>{TestId(7), TestId(8)}));
}

TEST_F(TaskListTest, UnknownAfterAndFilterNamesAreErrors) {
  Result<TaskPage> page = ListTasks(state_, "q", TaskFilter::kAll, TestId(77), 10, kNow);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*ParseTaskFilter("dead"), TaskFilter::kDead);
  Result<TaskFilter> bad = ParseTaskFilter("finished");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("open, pending, delayed"), std::string::npos);
  EXPECT_TRUE(ListTasks(state_, "other", TaskFilter::kAll, std::nullopt, 10, kNow)->tasks.empty());
}

}  // namespace
}  // namespace pigtail

// The StateStore conformance suite, run against every backend (memory,
// rocksdb, postgres). The postgres instances need PIGTAIL_TEST_POSTGRES_URI
// (scripts/test.sh sets it) and fail without it.
#include <gtest/gtest.h>

#include "core/codec.h"
#include "core/projector.h"
#include "core/task_view.h"
#include "tests/backends/backend_fixture.h"
#include "tests/backends/dropping_load.h"
#include "tests/backends/test_macros.h"
#include "tests/backends/workload.h"

namespace pigtail::testing {
namespace {

// The digests a store should report for `state`.
std::map<std::string, Digest> QueueDigests(State& state) {
  std::map<std::string, Digest> out;
  for (const auto& [name, slot] : state.queues()) {
    if (!slot.digest.IsZero()) out.emplace(name, slot.digest);
  }
  return out;
}

class StateStoreTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  StateStoreTest() : backend_(GetParam()) {}

  void SetUp() override {
    Status prepared = backend_.Prepare();
    ASSERT_TRUE(prepared.ok()) << prepared.ToString();
    Result<std::unique_ptr<StateStore>> store = backend_.OpenState();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  void Reopen() {
    store_.reset();
    store_ = MUST(backend_.OpenState());
  }

  // Projects `n` workload events into `state_` in batches of `batch`,
  // committing each batch with checkpoint = events applied so far.
  void ProjectAndCommit(size_t n, size_t batch) {
    for (size_t done = 0; done < n;) {
      size_t k = std::min(batch, n - done);
      ProjectAll(workload_.Take(k), &state_);
      done += k;
      applied_ += k;
      ASSERT_OK(store_->Commit(state_.TakeChanges(applied_), done % 2 == 0));
    }
  }

  // Everything the store reports equals `state` at `checkpoint`.
  void ExpectStoreHolds(State& state, uint64_t checkpoint) {
    EXPECT_EQ(MUST(store_->Checkpoint()), checkpoint);
    DigestSummary digests = MUST(store_->Digests());
    EXPECT_EQ(digests.checkpoint, checkpoint);
    EXPECT_EQ(digests.total, state.total_digest());
    EXPECT_EQ(digests.queues, QueueDigests(state));

    std::vector<QueueRecord> queues = MUST(store_->ListQueues());
    std::vector<QueueRecord> expected_queues;
    for (const auto& [name, slot] : state.queues()) {
      if (slot.record) expected_queues.push_back(*slot.record);
    }
    EXPECT_EQ(queues, expected_queues);
    for (const QueueRecord& q : expected_queues) EXPECT_EQ(MUST(store_->GetQueue(q.name)), q);

    size_t tasks = 0;
    for (const auto& [name, slot] : state.queues()) {
      for (const auto& [id, task] : slot.tasks) {
        std::optional<TaskRecord> got = MUST(store_->GetTask(name, id));
        ASSERT_TRUE(got.has_value()) << name << " " << id.ToString();
        EXPECT_EQ(*got, task);
        ++tasks;
      }
    }
    EXPECT_EQ(tasks, state.task_count());
    EXPECT_EQ(MUST(store_->ListRejected()), state.rejected());

    State loaded;
    ASSERT_OK(store_->LoadInto(&loaded));
    EXPECT_TRUE(loaded.SameRegisters(state));
    EXPECT_EQ(loaded.total_digest(), state.total_digest());
  }

  TestBackend backend_;
  std::unique_ptr<StateStore> store_;
  QueueWorkload workload_{2024, 3};
  State state_;
  uint64_t applied_ = 0;
};

class PersistentStateStoreTest : public StateStoreTest {};

TEST_P(StateStoreTest, EmptyStore) {
  EXPECT_EQ(MUST(store_->Checkpoint()), 0u);
  DigestSummary d = MUST(store_->Digests());
  EXPECT_TRUE(d.total.IsZero());
  EXPECT_TRUE(d.queues.empty());
  EXPECT_TRUE(MUST(store_->ListQueues()).empty());
  EXPECT_TRUE(MUST(store_->ListRejected()).empty());
  EXPECT_FALSE(MUST(store_->GetQueue("alpha")).has_value());
  EXPECT_FALSE(MUST(store_->GetTask("alpha", Uuid::Random())).has_value());
  EXPECT_TRUE(MUST(store_->ListTasks("alpha", std::nullopt, 10)).empty());
  State loaded;
  ASSERT_OK(store_->LoadInto(&loaded));
  EXPECT_EQ(loaded.task_count(), 0u);
  EXPECT_TRUE(loaded.queues().empty());
}

TEST_P(StateStoreTest, CommitThenReadBack) {
  ProjectAndCommit(300, 300);
  ASSERT_GT(state_.task_count(), 50u);
  ASSERT_FALSE(state_.rejected().empty());
  ExpectStoreHolds(state_, 300);
}

TEST_P(StateStoreTest, ManySmallCommitsEqualTheProjection) {
  ProjectAndCommit(400, 17);
  ExpectStoreHolds(state_, 400);
  // An empty batch still moves the checkpoint.
  ASSERT_OK(store_->Commit(state_.TakeChanges(450), true));
  ExpectStoreHolds(state_, 450);
}

TEST_P(StateStoreTest, ListTasksPagesInIdOrder) {
  ProjectAndCommit(500, 100);
  for (const auto& [name, slot] : state_.queues()) {
    std::vector<Uuid> expected;
    for (const auto& [id, task] : slot.tasks) expected.push_back(id);
    std::sort(expected.begin(), expected.end());
    std::vector<Uuid> paged;
    std::optional<Uuid> after;
    for (int page = 0; page < 1000; ++page) {  // bounded
      std::vector<TaskRecord> got = MUST(store_->ListTasks(name, after, 7));
      ASSERT_LE(got.size(), 7u);
      if (got.empty()) break;
      for (const TaskRecord& t : got) {
        EXPECT_EQ(t.queue, name);
        EXPECT_EQ(t, slot.tasks.at(t.id));
        paged.push_back(t.id);
      }
      after = got.back().id;
    }
    EXPECT_EQ(paged, expected) << name;
    EXPECT_TRUE(MUST(store_->ListTasks(name, std::nullopt, 0)).empty());
  }
  EXPECT_TRUE(MUST(store_->ListTasks("no-such-queue", std::nullopt, 10)).empty());
  // A queue whose name is a prefix of another's does not list the other's.
  EXPECT_TRUE(MUST(store_->ListTasks("alph", std::nullopt, 10)).empty());
}

TEST_P(StateStoreTest, GetTasksReadsManyInKeyOrder) {
  ProjectAndCommit(300, 100);
  std::vector<TaskKey> keys;
  std::vector<TaskRecord> expected;
  for (const auto& [name, slot] : state_.queues()) {
    for (const auto& [id, task] : slot.tasks) keys.push_back(TaskKey{name, id});
  }
  ASSERT_GT(keys.size(), 20u);
  // Some that are not stored, in a queue that exists and in one that does not.
  keys.push_back(TaskKey{keys.front().queue, Uuid::Random()});
  keys.push_back(TaskKey{"no-such-queue", Uuid::Random()});
  SortUnique(&keys);
  for (const TaskKey& k : keys) {
    if (const TaskRecord* t = state_.FindTask(k.queue, k.id)) expected.push_back(*t);
  }
  EXPECT_EQ(MUST(store_->GetTasks(keys)), expected);
  EXPECT_TRUE(MUST(store_->GetTasks({})).empty());
}

// A State that drops finished tasks loads the live ones only, with the
// digests and counts of all.
// A State that drops finished tasks reads only what it keeps: the queues'
// digests and tallies, and the live tasks.
TEST_P(StateStoreTest, LoadIntoADroppingStateKeepsLiveTasksOnly) {
  ProjectAndCommit(600, 200);
  size_t finished = 0;
  for (const auto& [name, slot] : state_.queues()) {
    for (const auto& [id, task] : slot.tasks) {
      finished += task.status.key.outcome == Outcome::kLive ? 0 : 1;
    }
  }
  ASSERT_GT(finished, 0u);
  ExpectDroppingLoadMatches(store_.get(), state_);
}

TEST_P(StateStoreTest, BulkLoadThenLoadInto) {
  // Something to replace first.
  ProjectAndCommit(100, 50);
  State rebuilt;
  QueueWorkload other(77, 2);
  ProjectAll(other.Take(600), &rebuilt);
  ASSERT_OK(store_->BulkLoad(rebuilt, 600));
  ExpectStoreHolds(rebuilt, 600);
  ExpectDroppingLoadMatches(store_.get(), rebuilt);
  EXPECT_FALSE(MUST(store_->GetQueue("does-not-exist")).has_value());
  // Commits continue from the bulk-loaded checkpoint.
  ProjectAll(other.Take(50), &rebuilt);
  ASSERT_OK(store_->Commit(rebuilt.TakeChanges(650), true));
  ExpectStoreHolds(rebuilt, 650);
  ExpectDroppingLoadMatches(store_.get(), rebuilt);
}

TEST_P(StateStoreTest, BulkLoadOfEmptyStateEmptiesTheStore) {
  ProjectAndCommit(100, 100);
  State empty;
  ASSERT_OK(store_->BulkLoad(empty, 5));
  ExpectStoreHolds(empty, 5);
}

TEST_P(StateStoreTest, ResetRemovesEverything) {
  ProjectAndCommit(200, 40);
  ASSERT_OK(store_->Reset());
  State empty;
  ExpectStoreHolds(empty, 0);
  // Usable again from checkpoint 0.
  State fresh;
  ProjectAll(workload_.Take(30), &fresh);
  ASSERT_OK(store_->Commit(fresh.TakeChanges(3), true));
  ExpectStoreHolds(fresh, 3);
}

TEST_P(StateStoreTest, CheckpointNeverMovesBackwards) {
  ProjectAndCommit(100, 100);
  State copy;
  ASSERT_OK(store_->LoadInto(&copy));
  // A batch with an older checkpoint is refused whole.
  ProjectAll(workload_.Take(50), &state_);
  StateBatch stale = state_.TakeChanges(99);
  ASSERT_FALSE(stale.empty());
  Status s = store_->Commit(stale, true);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(MUST(store_->Checkpoint()), 100u);
  State after;
  ASSERT_OK(store_->LoadInto(&after));
  EXPECT_TRUE(after.SameRegisters(copy));
  EXPECT_EQ(MUST(store_->Digests()).total, copy.total_digest());
  // The same checkpoint again is fine (an empty catch-up).
  StateBatch same;
  same.total_digest = copy.total_digest();
  same.checkpoint = 100;
  EXPECT_OK(store_->Commit(same, false));
  EXPECT_EQ(MUST(store_->Checkpoint()), 100u);
}

TEST_P(StateStoreTest, AwkwardStringsSurviveIntact) {
  State state;
  QueueRecord q;
  q.name = "q.strings_1-x";
  q.alive = true;
  q.timeout_ms = 1000;
  q.max_attempts = 3;
  q.last = Stamp{Hlc{0, 5, 0}, Uuid::Random()};
  state.PutQueue(q);
  std::map<Uuid, std::string> rejected;
  for (const std::string& s : AwkwardStrings()) {
    TaskRecord t;
    t.queue = q.name;
    t.id = Uuid::Random();
    TaskAdd add;
    add.hlc = Hlc{1, 2, 3};
    add.task_name = s;
    add.info_json = "{\"s\":\"" + std::string("\\u0000\\\"\\\\ü") + "\"}";
    add.priority = -5;
    add.timeout_ms = 7;
    t.add = add;
    t.status.key = StatusKey{2, Outcome::kDead, 4, Phase::kPending, Hlc{0, 9, 1}, Uuid::Random()};
    t.status.error = s + std::string("\0tail", 5);
    t.status.worker = Uuid::Random();
    state.PutTask(t);
    Uuid rid = Uuid::Random();
    ASSERT_TRUE(state.PutRejected(rid, "reason: " + s));
  }
  ASSERT_OK(store_->Commit(state.TakeChanges(8), true));
  ExpectStoreHolds(state, 8);
  for (const auto& [id, reason] : state.rejected()) {
    EXPECT_EQ(MUST(store_->ListRejected()).at(id), reason);
  }
  // The same through BulkLoad.
  ASSERT_OK(store_->BulkLoad(state, 9));
  ExpectStoreHolds(state, 9);
}

TEST_P(StateStoreTest, ZeroQueueDigestIsDropped) {
  ProjectAndCommit(60, 60);
  DigestSummary before = MUST(store_->Digests());
  ASSERT_FALSE(before.queues.empty());
  std::string queue = before.queues.begin()->first;
  StateBatch batch;
  batch.queue_digests[queue] = Digest{};
  batch.total_digest = before.total;
  batch.checkpoint = 61;
  ASSERT_OK(store_->Commit(batch, false));
  DigestSummary after = MUST(store_->Digests());
  EXPECT_FALSE(after.queues.contains(queue));
  EXPECT_EQ(after.queues.size(), before.queues.size() - 1);
  EXPECT_EQ(after.checkpoint, 61u);
}

TEST_P(PersistentStateStoreTest, ReopenKeepsEverything) {
  ProjectAndCommit(300, 60);
  Reopen();
  ExpectStoreHolds(state_, 300);
  ExpectDroppingLoadMatches(store_.get(), state_);
  ProjectAndCommit(100, 25);
  Reopen();
  ExpectStoreHolds(state_, 400);
  ExpectDroppingLoadMatches(store_.get(), state_);
  State rebuilt;
  ASSERT_OK(store_->LoadInto(&rebuilt));
  ASSERT_OK(store_->BulkLoad(rebuilt, 400));
  Reopen();
  ExpectStoreHolds(state_, 400);
  ASSERT_OK(store_->Reset());
  Reopen();
  State empty;
  ExpectStoreHolds(empty, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, StateStoreTest, ::testing::ValuesIn(AllBackends()),
                         BackendParamName);
INSTANTIATE_TEST_SUITE_P(Backends, PersistentStateStoreTest,
                         ::testing::ValuesIn(PersistentBackends()), BackendParamName);

}  // namespace
}  // namespace pigtail::testing

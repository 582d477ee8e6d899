// The sequencer's failure paths, with a log that fails or holds appends on
// demand (tests/server/fault_stores.h) and, in attached mode, an external
// log that refuses a write: what is answered, what is applied, and that the
// next batch works.
#include "server/sequencer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/memory_store.h"
#include "core/task_view.h"
#include "server/node.h"
#include "tests/server/fault_stores.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

const Uuid kWorker1 = Uuid::Random();
const Uuid kWorker2 = Uuid::Random();

class SequencerTest : public ::testing::Test {
 protected:
  void Open(SequencerOptions options = SequencerOptions()) {
    auto log = std::make_unique<testing::FaultyEventStore>();
    store_ = log.get();
    NodeOptions node_options;
    node_options.physical = [this] { return now_ns_.load(); };
    Result<std::unique_ptr<Node>> node =
        Node::Open(std::move(log), NewMemoryStateStore(), node_options);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(node).value();
    sequencer_ = std::make_unique<Sequencer>(node_.get(), options);
    sequencer_->Start();
  }
  void TearDown() override {
    if (store_ != nullptr) store_->Release();
    if (sequencer_) sequencer_->Stop();
    sequencer_.reset();
    node_.reset();
  }

  std::future<WriteResult> SubmitAsync(WriteRequest request) {
    auto promise = std::make_shared<std::promise<WriteResult>>();
    std::future<WriteResult> future = promise->get_future();
    sequencer_->Submit(std::move(request),
                       [promise](WriteResult r) { promise->set_value(std::move(r)); });
    return future;
  }
  static WriteResult Get(std::future<WriteResult>& f) {
    if (f.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 10 s";
      WriteResult r;
      r.status = Status::Internal("no answer");
      return r;
    }
    return f.get();
  }
  WriteResult Write(WriteRequest request) {
    std::future<WriteResult> f = SubmitAsync(std::move(request));
    return Get(f);
  }

  // Creates queue "q" with `n` tasks; returns their ids.
  std::vector<Uuid> CreateQueueWithTasks(int n) {
    LocalRequest create{{R"({"Create":{"name":"q","timeout_ms":1000}})"}, {}};
    EXPECT_TRUE(Write(create).status.ok());
    LocalRequest add;
    for (int i = 0; i < n; ++i) {
      add.data.push_back(R"({"Add":{"queue_name":"q","task_name":"t","info":{}}})");
    }
    WriteResult added = Write(add);
    EXPECT_TRUE(added.status.ok()) << added.status.ToString();
    return added.ids;
  }
  // The read-time state and worker of a task.
  std::pair<TaskState, Uuid> TaskOf(const Uuid& id) {
    return node_->Read([&](const State& state) {
      const TaskRecord* task = state.FindTask("q", id);
      return std::make_pair(ViewTask(*task, *state.FindQueue("q"), now_ns_).state,
                            task->status.worker);
    });
  }
  uint64_t Events() { return node_->log()->Count().value(); }

  std::atomic<uint64_t> now_ns_{1'800'000'000'000'000'000ull};
  testing::FaultyEventStore* store_ = nullptr;  // owned by node_
  std::unique_ptr<Node> node_;
  std::unique_ptr<Sequencer> sequencer_;
};

TEST_F(SequencerTest, AFailedAppendAnswersEveryRequestOfItsBatchAndAppliesNothing) {
  Open();
  std::vector<Uuid> tasks = CreateQueueWithTasks(2);
  ASSERT_EQ(tasks.size(), 2u);
  // Hold one batch in its append, and queue the next batch behind it.
  store_->Hold();
  std::future<WriteResult> first = SubmitAsync(LocalRequest{{R"({"first":1})"}, {}});
  ASSERT_TRUE(store_->WaitUntilHeld(10s));
  store_->FailAppends(1);
  std::vector<std::future<WriteResult>> failing;
  failing.push_back(SubmitAsync(ClaimNextRequest{"q", kWorker1, 1, 0}));
  failing.push_back(SubmitAsync(ClaimOneRequest{"q", tasks[1], kWorker2, {}}));
  failing.push_back(SubmitAsync(DoneRequest{"q", kWorker1, {{tasks[0], {}}}}));
  failing.push_back(SubmitAsync(CancelRequest{"q", Uuid::Random()}));  // else NotFound
  failing.push_back(SubmitAsync(LocalRequest{{R"({"second":2})"}, {}}));
  store_->Release();
  WriteResult held = Get(first);
  ASSERT_TRUE(held.status.ok()) << held.status.ToString();
  const uint64_t events = Events();
  const uint64_t claims = node_->counters().claims;
  for (size_t i = 0; i < failing.size(); ++i) {
    WriteResult r = Get(failing[i]);
    EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << i << ": " << r.status.ToString();
    EXPECT_NE(r.status.message().find("appending to the log"), std::string::npos)
        << r.status.ToString();
    EXPECT_TRUE(r.claimed.empty());
    EXPECT_TRUE(r.items.empty());
    EXPECT_TRUE(r.ids.empty());
  }
  // Nothing applied, nothing stored, nothing counted.
  EXPECT_EQ(Events(), events);
  EXPECT_EQ(node_->counters().claims, claims);
  EXPECT_EQ(TaskOf(tasks[0]).first, TaskState::kPending);
  EXPECT_EQ(TaskOf(tasks[1]).first, TaskState::kPending);

  // The next batch works, from the state and head the failed one left.
  WriteResult claim = Write(ClaimOneRequest{"q", tasks[1], kWorker2, {}});
  ASSERT_TRUE(claim.status.ok()) << claim.status.ToString();
  EXPECT_EQ(claim.claimed.at(0).lease, 0u);
  WriteResult next = Write(ClaimNextRequest{"q", kWorker1, 1, 0});
  ASSERT_EQ(next.claimed.size(), 1u);
  EXPECT_EQ(next.claimed[0].id, tasks[0]);
  WriteResult local = Write(LocalRequest{{R"({"third":3})"}, {}});
  ASSERT_TRUE(local.status.ok());
  Result<std::optional<StoredEvent>> stored = node_->log()->Get(local.ids.at(0));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(Events(), events + 3);
  // The node's chain goes on from an entry in the log, not from one of the
  // failed batch.
  ASSERT_TRUE((*stored)->event.prev.has_value());
  EXPECT_TRUE(node_->log()->Contains(*(*stored)->event.prev).value());
}

// Attached mode writes each entry to the external log as it is decided; a
// request the external log refuses part way is answered with the error and
// adds nothing to the batch, and the tasks it would have claimed stay free
// for the other requests of the batch.
TEST_F(SequencerTest, ARequestWrittenPartWayAddsNothingToItsBatch) {
  const Uuid external_owner = Uuid::Random();
  std::atomic<int> writes{0};
  std::set<int> refused;  // the write numbers the external log refuses
  std::mutex refused_mu;
  SequencerOptions options;
  options.external_write = [&](const std::string& data,
                               const std::vector<Uuid>& dependencies) -> Result<Event> {
    const int n = ++writes;
    {
      std::lock_guard lock(refused_mu);
      if (refused.contains(n)) return Status::Unavailable("the external log refused write");
    }
    return MakeEvent(NewEvent{Uuid::Random(), external_owner, std::nullopt,
                              Hlc{0, now_ns_.load(), static_cast<uint32_t>(n)}, data,
                              dependencies});
  };
  Open(options);
  std::vector<Uuid> tasks = CreateQueueWithTasks(2);
  ASSERT_EQ(tasks.size(), 2u);

  const uint64_t before = Events();
  store_->Hold();
  std::future<WriteResult> first = SubmitAsync(LocalRequest{{R"({"first":1})"}, {}});
  ASSERT_TRUE(store_->WaitUntilHeld(10s));
  const int n = writes;
  {
    std::lock_guard lock(refused_mu);
    refused = {n + 2, n + 6};
  }
  // Writes n+1 (taken) and n+2 (refused).
  std::future<WriteResult> partly = SubmitAsync(ClaimNextRequest{"q", kWorker1, 2, 0});
  // Writes n+3 and n+4.
  std::future<WriteResult> other = SubmitAsync(ClaimNextRequest{"q", kWorker2, 2, 0});
  // Writes n+5 (taken) and n+6 (refused).
  std::future<WriteResult> local =
      SubmitAsync(LocalRequest{{R"({"part":1})", R"({"part":2})"}, {}});
  store_->Release();
  ASSERT_TRUE(Get(first).status.ok());

  WriteResult refused_claim = Get(partly);
  EXPECT_EQ(refused_claim.status.code(), StatusCode::kUnavailable)
      << refused_claim.status.ToString();
  EXPECT_TRUE(refused_claim.claimed.empty());
  WriteResult refused_local = Get(local);
  EXPECT_EQ(refused_local.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(refused_local.ids.empty());
  WriteResult claimed = Get(other);
  ASSERT_TRUE(claimed.status.ok()) << claimed.status.ToString();
  ASSERT_EQ(claimed.claimed.size(), 2u);
  std::set<Uuid> ids{claimed.claimed[0].id, claimed.claimed[1].id};
  EXPECT_EQ(ids, (std::set<Uuid>{tasks[0], tasks[1]}));
  for (const Uuid& id : tasks) EXPECT_EQ(TaskOf(id), std::make_pair(TaskState::kWorking, kWorker2));
  // Of the batch, only the other claim's two entries reached this node's log.
  EXPECT_EQ(writes.load(), n + 6);
  Result<std::vector<StoredEvent>> all = node_->log()->Scan(0, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), before + 1 + 2);
  for (const StoredEvent& e : *all) {
    EXPECT_EQ(e.event.raw.find("\"part\""), std::string::npos) << e.event.raw;
  }
}

// In attached mode a Create is decided before it is written: a create of a
// queue with other settings reaches neither log; a settings change does.
TEST_F(SequencerTest, ACreateRefusedAsQueueExistsIsNotWrittenToTheExternalLog) {
  const Uuid external_owner = Uuid::Random();
  std::atomic<int> writes{0};
  SequencerOptions options;
  options.external_write = [&](const std::string& data,
                               const std::vector<Uuid>& dependencies) -> Result<Event> {
    const int n = ++writes;
    return MakeEvent(NewEvent{Uuid::Random(), external_owner, std::nullopt,
                              Hlc{0, now_ns_.load(), static_cast<uint32_t>(n)}, data,
                              dependencies});
  };
  Open(options);
  ASSERT_EQ(CreateQueueWithTasks(0).size(), 0u);
  const int before = writes;
  const uint64_t events = Events();
  WriteResult refused = Write(CreateRequest{CreateOp{"q", 5000, {}, {}}, false});
  EXPECT_EQ(refused.status.code(), StatusCode::kConflict) << refused.status.ToString();
  EXPECT_EQ(refused.reason, ConflictReason::kQueueExists);
  EXPECT_EQ(refused.queue, (CreateOp{"q", 1000, {}, {}}));
  EXPECT_EQ(writes.load(), before);
  EXPECT_EQ(Events(), events);
  now_ns_ += 1'000'000;
  WriteResult changed = Write(CreateRequest{CreateOp{"q", 5000, {}, {}}, true});
  ASSERT_TRUE(changed.status.ok()) << changed.status.ToString();
  EXPECT_EQ(writes.load(), before + 1);
  EXPECT_EQ(node_->Read([](const State& state) { return state.FindQueue("q")->timeout_ms; }),
            5000u);
}

// Waiting claims of a queue that a batch adds tasks to are decided in that
// batch, against the new tasks: the add and the claims that take its tasks
// are one append (one sync), in the order the claims began to wait.
class FreshClaimTest : public SequencerTest {
 protected:
  void SetUp() override {
    Open();
    ASSERT_TRUE(Write(LocalRequest{{R"({"Create":{"name":"q","timeout_ms":1000}})",
                                    R"({"Create":{"name":"r","timeout_ms":1000}})"},
                                   {}})
                    .status.ok());
  }
  // Starts a claim-next that waits up to `wait`, and returns once the
  // sequencer has decided it (a later request has been answered).
  std::future<WriteResult> Wait(const std::string& queue, const Uuid& worker, size_t max,
                                std::chrono::milliseconds wait) {
    std::future<WriteResult> claim =
        SubmitAsync(ClaimNextRequest{queue, worker, max, static_cast<uint64_t>(wait.count())});
    EXPECT_TRUE(Write(LocalRequest{{R"({"not":"a queue op"})"}, {}}).status.ok());
    EXPECT_EQ(claim.wait_for(0s), std::future_status::timeout) << "answered, not waiting";
    return claim;
  }
  static AddRequest Tasks(const std::string& queue, int n) {
    AddRequest add;
    for (int i = 0; i < n; ++i) add.tasks.push_back(AddOp{queue, "t", "{}", 0, 0, {}, {}});
    return add;
  }
};

TEST_F(FreshClaimTest, AnAddAndTheWaitingClaimThatTakesItAreOneBatch) {
  std::future<WriteResult> claim = Wait("q", kWorker1, 1, 10s);
  const uint64_t batches = node_->counters().batches;
  const uint64_t events = Events();
  WriteResult added = Write(Tasks("q", 1));
  ASSERT_TRUE(added.status.ok()) << added.status.ToString();
  ASSERT_EQ(added.ids.size(), 1u);
  WriteResult claimed = Get(claim);
  ASSERT_TRUE(claimed.status.ok()) << claimed.status.ToString();
  ASSERT_EQ(claimed.claimed.size(), 1u);
  EXPECT_EQ(claimed.claimed[0].id, added.ids[0]);
  EXPECT_EQ(claimed.claimed[0].attempt, 1u);
  EXPECT_EQ(claimed.claimed[0].task_name, "t");
  EXPECT_EQ(node_->counters().batches, batches + 1);
  EXPECT_EQ(Events(), events + 2);  // the Add and the claim's Progress
  EXPECT_EQ(node_->counters().claims, 1u);
  EXPECT_EQ(TaskOf(added.ids[0]), std::make_pair(TaskState::kWorking, kWorker1));
}

TEST_F(FreshClaimTest, WaitingClaimsTakeTheNewTasksInTheOrderTheyWaited) {
  std::future<WriteResult> first = Wait("q", kWorker1, 1, 10s);
  std::future<WriteResult> second = Wait("q", kWorker2, 2, 10s);
  std::future<WriteResult> other_queue = Wait("r", kWorker1, 1, 300ms);
  const uint64_t batches = node_->counters().batches;
  WriteResult added = Write(Tasks("q", 5));
  ASSERT_TRUE(added.status.ok()) << added.status.ToString();
  ASSERT_EQ(added.ids.size(), 5u);
  WriteResult one = Get(first);
  WriteResult two = Get(second);
  ASSERT_EQ(one.claimed.size(), 1u);
  EXPECT_EQ(one.claimed[0].id, added.ids[0]);
  ASSERT_EQ(two.claimed.size(), 2u);
  EXPECT_EQ(two.claimed[0].id, added.ids[1]);
  EXPECT_EQ(two.claimed[1].id, added.ids[2]);
  EXPECT_EQ(node_->counters().batches, batches + 1);
  for (int k : {3, 4}) EXPECT_EQ(TaskOf(added.ids[k]).first, TaskState::kPending);
  // A claim on another queue goes on waiting, and ends empty.
  WriteResult none = Get(other_queue);
  ASSERT_TRUE(none.status.ok()) << none.status.ToString();
  EXPECT_TRUE(none.claimed.empty());
}

// The worker that waited starts before the adder hears back: of one
// batch, the claim that takes a new task is answered before the add.
TEST_F(FreshClaimTest, TheWaitingClaimIsAnsweredBeforeTheAddThatFedIt) {
  // Shared with the callbacks, which may outlive a failed assertion.
  struct Answers {
    std::mutex mu;
    std::vector<std::string> order;
    std::promise<void> both;
    void Note(std::string what) {
      std::lock_guard lock(mu);
      order.push_back(std::move(what));
      if (order.size() == 2) both.set_value();
    }
  };
  auto answers = std::make_shared<Answers>();
  std::future<void> both = answers->both.get_future();
  std::future<WriteResult> claim = Wait("q", kWorker1, 1, 10s);
  sequencer_->Submit(ClaimNextRequest{"q", kWorker2, 1, 10'000}, [answers](WriteResult r) {
    answers->Note(r.claimed.empty() ? "empty" : "claim");
  });
  EXPECT_TRUE(Write(LocalRequest{{R"({"not":"a queue op"})"}, {}}).status.ok());
  const uint64_t batches = node_->counters().batches;
  sequencer_->Submit(Tasks("q", 2),
                     [answers](WriteResult r) { answers->Note(r.status.ok() ? "add" : "error"); });
  ASSERT_EQ(both.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(node_->counters().batches, batches + 1);
  {
    std::lock_guard lock(answers->mu);
    EXPECT_EQ(answers->order, (std::vector<std::string>{"claim", "add"}));
  }
  ASSERT_EQ(Get(claim).claimed.size(), 1u);
}

// A waiting claim does not take a new task that is not ready yet.
TEST_F(FreshClaimTest, ATaskAddedWithADelayIsNotClaimedByAWaitingClaim) {
  std::future<WriteResult> claim = Wait("q", kWorker1, 1, 300ms);
  AddRequest delayed = Tasks("q", 1);
  delayed.tasks[0].delay_ms = 60'000;
  WriteResult added = Write(delayed);
  ASSERT_TRUE(added.status.ok()) << added.status.ToString();
  WriteResult none = Get(claim);
  ASSERT_TRUE(none.status.ok()) << none.status.ToString();
  EXPECT_TRUE(none.claimed.empty());
  EXPECT_EQ(TaskOf(added.ids.at(0)).first, TaskState::kPending);
}

// When the batch's append fails, neither the add nor the claim taken with
// it is written; the claim waits again and takes the next task added.
TEST_F(FreshClaimTest, AFailedAppendWritesNeitherTheAddNorItsClaim) {
  std::future<WriteResult> claim = Wait("q", kWorker1, 1, 10s);
  const uint64_t events = Events();
  store_->FailAppends(1);
  WriteResult failed = Write(Tasks("q", 1));
  EXPECT_EQ(failed.status.code(), StatusCode::kUnavailable) << failed.status.ToString();
  EXPECT_EQ(Events(), events);
  EXPECT_EQ(node_->counters().claims, 0u);
  EXPECT_EQ(claim.wait_for(0s), std::future_status::timeout) << "answered, not waiting";

  WriteResult added = Write(Tasks("q", 1));
  ASSERT_TRUE(added.status.ok()) << added.status.ToString();
  WriteResult claimed = Get(claim);
  ASSERT_TRUE(claimed.status.ok()) << claimed.status.ToString();
  ASSERT_EQ(claimed.claimed.size(), 1u);
  EXPECT_EQ(claimed.claimed[0].id, added.ids.at(0));
  EXPECT_EQ(Events(), events + 2);
}

}  // namespace
}  // namespace pigtail

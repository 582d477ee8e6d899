#include "server/state_committer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/memory_store.h"

namespace pigtail {
namespace {

// A memory state store whose commits wait until the test opens a gate, and
// that fails every commit after `fail_from` of them succeeded.
class GatedStore final : public StateStore {
 public:
  Status Commit(const StateBatch& batch, bool sync) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return open_; })) {
      return Status::Internal("test gate never opened");
    }
    if (committed_.size() >= fail_from_) return Status::IOError("disk on fire");
    committed_.push_back(batch.checkpoint);
    lock.unlock();
    return inner_->Commit(batch, sync);
  }
  Result<uint64_t> Checkpoint() override { return inner_->Checkpoint(); }
  Result<DigestSummary> Digests() override { return inner_->Digests(); }
  Result<std::optional<QueueRecord>> GetQueue(std::string_view name) override {
    return inner_->GetQueue(name);
  }
  Result<std::vector<QueueRecord>> ListQueues() override { return inner_->ListQueues(); }
  Result<std::optional<TaskRecord>> GetTask(std::string_view queue, const Uuid& id) override {
    return inner_->GetTask(queue, id);
  }
  Result<std::vector<TaskRecord>> ListTasks(std::string_view queue,
                                            const std::optional<Uuid>& after,
                                            size_t limit) override {
    return inner_->ListTasks(queue, after, limit);
  }
  Result<std::map<Uuid, std::string>> ListRejected() override { return inner_->ListRejected(); }
  Status LoadInto(State* state) override { return inner_->LoadInto(state); }
  Status Reset() override { return inner_->Reset(); }
  Status BulkLoad(const State& state, uint64_t checkpoint) override {
    return inner_->BulkLoad(state, checkpoint);
  }

  void SetGate(bool open) {
    {
      std::lock_guard lock(mu_);
      open_ = open;
    }
    cv_.notify_all();
  }
  void FailFrom(size_t n) {
    std::lock_guard lock(mu_);
    fail_from_ = n;
  }
  std::vector<uint64_t> committed() {
    std::lock_guard lock(mu_);
    return committed_;
  }

 private:
  std::unique_ptr<StateStore> inner_ = NewMemoryStateStore();
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  size_t fail_from_ = SIZE_MAX;
  std::vector<uint64_t> committed_;
};

StateBatch BatchAt(uint64_t checkpoint) {
  StateBatch b;
  b.checkpoint = checkpoint;
  QueueRecord q;
  q.name = "q" + std::to_string(checkpoint);
  b.queues.push_back(q);
  return b;
}

TEST(StateCommitterTest, OneBatchInFlightCommittedInOrder) {
  GatedStore store;
  int failures = 0;
  {
    StateCommitter committer(&store, [&](const Status&) { ++failures; });
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
  EXPECT_EQ(failures, 0);
}

TEST(StateCommitterTest, AFailedCommitBreaksItForGood) {
  GatedStore store;
  store.FailFrom(1);
  std::vector<std::string> errors;
  StateCommitter committer(&store, [&](const Status& s) { errors.push_back(s.ToString()); });
  StateBatch first = BatchAt(1);
  ASSERT_TRUE(committer.Offer(&first));
  committer.Wait();
  EXPECT_FALSE(committer.broken());
  StateBatch second = BatchAt(2);
  ASSERT_TRUE(committer.Offer(&second));
  committer.Wait();
  EXPECT_TRUE(committer.broken());
  EXPECT_FALSE(committer.ready());
  StateBatch third = BatchAt(3);
  EXPECT_FALSE(committer.Offer(&third));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("disk on fire"), std::string::npos);
  EXPECT_EQ(*store.Checkpoint(), 1u);
}

}  // namespace
}  // namespace pigtail

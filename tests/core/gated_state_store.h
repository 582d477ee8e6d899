// GatedStore: a memory StateStore for tests of code that commits on
// another thread. Its commits wait until the test opens a gate (open at
// first; at most 10 s, then Internal), and every commit after `fail_from`
// of them succeeded fails with IOError. A test may run a hook after each
// ListTasks has read, before it returns.
#ifndef PIGTAIL_TESTS_CORE_GATED_STATE_STORE_H_
#define PIGTAIL_TESTS_CORE_GATED_STATE_STORE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/memory_store.h"
#include "core/state_store.h"

namespace pigtail::testing {

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
    Result<std::vector<TaskRecord>> listed = inner_->ListTasks(queue, after, limit);
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      hook = after_list_;
    }
    if (hook) hook();
    return listed;
  }
  Result<std::map<Uuid, std::string>> ListRejected() override { return inner_->ListRejected(); }
  Status LoadInto(State* state, const LoadProgress& progress) override {
    return inner_->LoadInto(state, progress);
  }
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
  // Runs `hook` (on the listing thread) after every ListTasks has read.
  void AfterList(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    after_list_ = std::move(hook);
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
  std::function<void()> after_list_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CORE_GATED_STATE_STORE_H_

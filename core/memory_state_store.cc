#include <map>
#include <mutex>
#include <utility>

#include "core/memory_store.h"

namespace pigtail {
namespace {

class MemoryStateStore final : public StateStore {
 public:
  Status Commit(const StateBatch& batch, bool /*sync*/) override {
    std::lock_guard lock(mu_);
    if (batch.checkpoint < checkpoint_) {
      return Status::FailedPrecondition("checkpoint would move backwards");
    }
    for (const QueueRecord& q : batch.queues) queues_[q.name] = q;
    for (const TaskRecord& t : batch.tasks) tasks_[{t.queue, t.id}] = t;
    for (const auto& [id, reason] : batch.rejected) rejected_[id] = reason;
    for (const auto& [name, digest] : batch.queue_digests) {
      if (digest.IsZero()) {
        queue_digests_.erase(name);
      } else {
        queue_digests_[name] = digest;
      }
    }
    for (const auto& [name, tally] : batch.queue_tallies) tallies_[name] = tally;
    total_ = batch.total_digest;
    checkpoint_ = batch.checkpoint;
    return Status::Ok();
  }

  Result<uint64_t> Checkpoint() override {
    std::lock_guard lock(mu_);
    return checkpoint_;
  }

  Result<DigestSummary> Digests() override {
    std::lock_guard lock(mu_);
    return DigestSummary{total_, queue_digests_, checkpoint_};
  }

  Result<std::optional<QueueRecord>> GetQueue(std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = queues_.find(name);
    if (it == queues_.end()) return std::optional<QueueRecord>();
    return std::optional<QueueRecord>(it->second);
  }

  Result<std::vector<QueueRecord>> ListQueues() override {
    std::lock_guard lock(mu_);
    std::vector<QueueRecord> out;
    for (const auto& [name, q] : queues_) out.push_back(q);
    return out;
  }

  Result<std::optional<TaskRecord>> GetTask(std::string_view queue, const Uuid& id) override {
    std::lock_guard lock(mu_);
    auto it = tasks_.find({std::string(queue), id});
    if (it == tasks_.end()) return std::optional<TaskRecord>();
    return std::optional<TaskRecord>(it->second);
  }

  Result<std::vector<TaskRecord>> ListTasks(std::string_view queue,
                                            const std::optional<Uuid>& after,
                                            size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<TaskRecord> out;
    std::string q(queue);
    auto it = after ? tasks_.upper_bound({q, *after}) : tasks_.lower_bound({q, Uuid()});
    for (; it != tasks_.end() && it->first.first == q && out.size() < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  Result<std::map<Uuid, std::string>> ListRejected() override {
    std::lock_guard lock(mu_);
    return rejected_;
  }

  Status LoadInto(State* state, const LoadProgress& progress) override {
    std::lock_guard lock(mu_);
    state->set_track_changes(false);
    for (const auto& [name, q] : queues_) state->PutQueue(q);
    // A State that drops finished tasks gets the tallies, as from the
    // other stores, and then every task (it keeps what it must).
    if (state->evict_finished()) (void)PutStoredTallies(state, queue_digests_, tallies_);
    uint64_t read = 0;
    Status status;
    for (const auto& [key, t] : tasks_) {
      if (state->evict_finished()) {
        status = state->PutTalliedTask(t);
        if (!status.ok()) break;
      } else {
        state->PutStoredTask(t);
      }
      if (++read % kLoadProgressTasks == 0 && progress) progress(read);
    }
    for (const auto& [id, reason] : rejected_) (void)state->PutRejected(id, reason);
    state->set_track_changes(true);
    state->SettleDigests();
    return status;
  }

  Status Reset() override {
    std::lock_guard lock(mu_);
    queues_.clear();
    tasks_.clear();
    rejected_.clear();
    queue_digests_.clear();
    tallies_.clear();
    total_ = Digest{};
    checkpoint_ = 0;
    return Status::Ok();
  }

  Status BulkLoad(const State& state, uint64_t checkpoint) override {
    PIGTAIL_RETURN_IF_ERROR(state.CheckSettled());
    PIGTAIL_RETURN_IF_ERROR(Reset());
    std::lock_guard lock(mu_);
    for (const auto& [name, slot] : state.queues()) {
      if (slot.record) queues_[name] = *slot.record;
      for (const auto& [id, t] : slot.tasks) tasks_[{name, id}] = t;
      if (!slot.digest.IsZero()) queue_digests_[name] = slot.digest;
      tallies_[name] = QueueTally{slot.task_count, slot.finished};
    }
    rejected_ = state.rejected();
    total_ = state.total_digest();
    checkpoint_ = checkpoint;
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::map<std::string, QueueRecord, std::less<>> queues_;
  std::map<std::pair<std::string, Uuid>, TaskRecord> tasks_;
  std::map<Uuid, std::string> rejected_;
  std::map<std::string, Digest> queue_digests_;
  std::map<std::string, QueueTally> tallies_;
  Digest total_;
  uint64_t checkpoint_ = 0;
};

}  // namespace

std::unique_ptr<StateStore> NewMemoryStateStore() { return std::make_unique<MemoryStateStore>(); }

}  // namespace pigtail

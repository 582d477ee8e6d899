#include "server/state_committer.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace pigtail {

void MergeNewerBatch(StateBatch* older, StateBatch&& newer) {
  // Queue registers, by name.
  std::map<std::string, size_t, std::less<>> queue_at;
  for (size_t i = 0; i < older->queues.size(); ++i) queue_at[older->queues[i].name] = i;
  for (QueueRecord& q : newer.queues) {
    auto it = queue_at.find(q.name);
    if (it != queue_at.end()) {
      older->queues[it->second] = std::move(q);
    } else {
      queue_at.emplace(q.name, older->queues.size());
      older->queues.push_back(std::move(q));
    }
  }
  // Task registers, by (queue, id), with their encodings kept in step.
  const bool bytes = older->task_bytes.size() == older->tasks.size() &&
                     newer.task_bytes.size() == newer.tasks.size();
  if (!bytes) older->task_bytes.clear();
  std::map<std::pair<std::string, Uuid>, size_t> task_at;
  for (size_t i = 0; i < older->tasks.size(); ++i) {
    task_at.emplace(std::make_pair(older->tasks[i].queue, older->tasks[i].id), i);
  }
  for (size_t i = 0; i < newer.tasks.size(); ++i) {
    TaskRecord& t = newer.tasks[i];
    auto [it, added] = task_at.emplace(std::make_pair(t.queue, t.id), older->tasks.size());
    if (added) {
      older->tasks.push_back(std::move(t));
      if (bytes) older->task_bytes.push_back(std::move(newer.task_bytes[i]));
    } else {
      older->tasks[it->second] = std::move(t);
      if (bytes) older->task_bytes[it->second] = std::move(newer.task_bytes[i]);
    }
  }
  std::set<Uuid> rejected;
  for (const auto& [id, reason] : older->rejected) rejected.insert(id);
  for (auto& r : newer.rejected) {
    if (rejected.insert(r.first).second) older->rejected.push_back(std::move(r));
  }
  for (auto& [name, digest] : newer.queue_digests) older->queue_digests[name] = digest;
  for (auto& [name, tally] : newer.queue_tallies) older->queue_tallies[name] = tally;
  // The total digest goes with the later checkpoint (an empty offer, with
  // checkpoint 0, changes neither).
  if (newer.checkpoint >= older->checkpoint && newer.checkpoint != 0) {
    older->total_digest = newer.total_digest;
    older->checkpoint = newer.checkpoint;
  }
}

bool StateCommitter::KeptAsSpare(const StateBatch& batch) {
  if (batch.tasks.capacity() > kMaxSpareTasks) return false;
  // The encodings stand for the records' strings too: about the same bytes.
  size_t bytes = 0;
  for (const std::string& encoding : batch.task_bytes) bytes += encoding.capacity();
  return bytes <= kMaxSpareBytes;
}

StateCommitter::StateCommitter(StateStore* store, Listener listener,
                               const StateCommitterOptions& options)
    : store_(store), listener_(std::move(listener)), options_(options), executor_("state-commit") {}

bool StateCommitter::ready() const {
  std::lock_guard lock(mu_);
  return !busy_ && (!holding_ || Clock::now() >= retry_at_);
}

bool StateCommitter::holding() const {
  std::lock_guard lock(mu_);
  return holding_;
}

std::optional<std::chrono::steady_clock::time_point> StateCommitter::retry_at() const {
  std::lock_guard lock(mu_);
  if (!holding_) return std::nullopt;
  return retry_at_;
}

bool StateCommitter::Offer(StateBatch* batch, bool force) {
  StateBatch work;
  {
    std::lock_guard lock(mu_);
    if (busy_ || (!force && holding_ && Clock::now() < retry_at_)) return false;
    busy_ = true;
    if (holding_) {
      MergeNewerBatch(&held_, std::move(*batch));
      work = std::move(held_);
      held_ = StateBatch();
      holding_ = false;
    } else {
      work = std::move(*batch);
    }
  }
  executor_.Post([this, work = std::move(work)]() mutable {
    Status committed = store_->Commit(work, /*sync=*/false);
    bool went_down = false;
    bool came_up = false;
    uint64_t outage_failures = 0;
    std::chrono::milliseconds down_for{0};
    {
      std::lock_guard lock(mu_);
      if (!committed.ok()) {
        held_ = std::move(work);
        holding_ = true;
        backoff_ = std::clamp(backoff_ * 2, options_.min_backoff, options_.max_backoff);
        retry_at_ = Clock::now() + backoff_;
        ++failures_;
        ++failures_in_outage_;
        last_error_ = committed.ToString();
        if (healthy_.exchange(false)) {
          went_down = true;
          down_since_ = Clock::now();
        }
      } else {
        if (work.checkpoint > committed_checkpoint_) committed_checkpoint_ = work.checkpoint;
        backoff_ = std::chrono::milliseconds(0);
        if (!healthy_.exchange(true)) {
          came_up = true;
          outage_failures = failures_in_outage_;
          down_for =
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - down_since_);
        }
        failures_in_outage_ = 0;
        last_error_.clear();
        if (KeptAsSpare(work)) spare_ = std::move(work);
      }
    }
    if (went_down && listener_.on_down) listener_.on_down(committed);
    if (came_up && listener_.on_up) listener_.on_up(outage_failures, down_for);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      cv_.notify_all();
    }
    // After busy_ is cleared, so that the caller's retry is taken.
    if (!committed.ok() && listener_.on_retry) listener_.on_retry();
    if (committed.ok() && listener_.on_committed) listener_.on_committed();
  });
  return true;
}

StateBatch StateCommitter::TakeSpare() {
  std::lock_guard lock(mu_);
  return std::exchange(spare_, StateBatch());
}

std::string StateCommitter::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void StateCommitter::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
}

}  // namespace pigtail

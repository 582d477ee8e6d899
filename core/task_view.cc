#include "core/task_view.h"

#include <algorithm>
#include <limits>

namespace pigtail {
namespace {

constexpr uint64_t kNanosPerMilli = 1'000'000;
constexpr uint64_t kMaxBackoffMs = 3'600'000;

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

}  // namespace

uint64_t MillisToNanos(uint64_t ms) {
  return ms > std::numeric_limits<uint64_t>::max() / kNanosPerMilli
             ? std::numeric_limits<uint64_t>::max()
             : ms * kNanosPerMilli;
}

uint64_t AttemptNumber(uint64_t lease) { return SaturatingAdd(lease, 1); }

std::string_view TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kPending:
      return "pending";
    case TaskState::kWorking:
      return "working";
    case TaskState::kDone:
      return "done";
    case TaskState::kDead:
      return "dead";
    case TaskState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

uint64_t LeaseTimeoutMs(const TaskRecord& task, const QueueRecord& queue) {
  if (task.add && task.add->timeout_ms) return *task.add->timeout_ms;
  return queue.timeout_ms;
}

uint64_t LeaseExpiresAtNs(uint64_t from_ns, uint64_t timeout_ms) {
  return SaturatingAdd(from_ns, MillisToNanos(timeout_ms));
}

uint64_t LeaseExpiresAtNs(const TaskRecord& task, uint64_t queue_timeout_ms) {
  uint64_t timeout_ms = task.add && task.add->timeout_ms ? *task.add->timeout_ms : queue_timeout_ms;
  return LeaseExpiresAtNs(task.status.key.hlc.time, timeout_ms);
}

uint64_t AttemptsStarted(const TaskRecord& task) {
  const StatusKey& key = task.status.key;
  switch (key.outcome) {
    case Outcome::kCancelled: {
      // A Cancel's key holds no lease: count the failures known in its round.
      uint64_t attempts = 0;
      for (const FailedAttempt& f : History(task).failures) {
        if (f.stamp.round == key.round) attempts = AttemptNumber(f.stamp.lease);
      }
      return attempts;
    }
    case Outcome::kPurged:
      return 0;
    case Outcome::kDone:
    case Outcome::kDead:
      return AttemptNumber(key.lease);
    case Outcome::kLive:
      break;
  }
  // Pending after the Fail of lease l holds lease l + 1 (and after an Add or
  // Retry, lease 0): that many attempts.
  return key.phase == Phase::kWorking ? AttemptNumber(key.lease) : key.lease;
}

std::string_view StoredStateName(const TaskRecord& task) {
  switch (task.status.key.outcome) {
    case Outcome::kDone:
      return "done";
    case Outcome::kDead:
      return "dead";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kPurged:
      return "purged";
    case Outcome::kLive:
      break;
  }
  return task.status.key.phase == Phase::kWorking ? "working" : "pending";
}

uint64_t ReadyAtNs(const TaskRecord& task) {
  const StatusKey& key = task.status.key;
  if (key.event_id != task.id) {  // not the Add's status: a Fail's retry
    return SaturatingAdd(key.hlc.time, MillisToNanos(task.status.retry_in_ms));
  }
  const uint64_t delayed = SaturatingAdd(task.add->hlc.time, MillisToNanos(task.add->delay_ms));
  return std::max(delayed, MillisToNanos(task.add->run_at_ms));  // 0: none
}

TaskView ViewTask(const TaskRecord& task, const QueueRecord& queue, uint64_t now_ns) {
  TaskView v;
  const StatusKey& key = task.status.key;
  v.lease = key.lease;
  switch (key.outcome) {
    case Outcome::kDone:
    case Outcome::kPurged:  // never visible; reads as done
      v.state = TaskState::kDone;
      return v;
    case Outcome::kDead:
      v.state = TaskState::kDead;
      return v;
    case Outcome::kCancelled:
      v.state = TaskState::kCancelled;
      return v;
    case Outcome::kLive:
      break;
  }
  if (key.phase == Phase::kWorking) {
    v.expires_at_ns = LeaseExpiresAtNs(task, queue.timeout_ms);
    v.lease_expired = now_ns >= v.expires_at_ns;
    v.state = v.lease_expired ? TaskState::kPending : TaskState::kWorking;
    if (v.lease_expired) v.ready_at_ns = v.expires_at_ns;
    v.claimable = v.lease_expired && key.lease < std::numeric_limits<uint64_t>::max();
    v.next_lease = key.lease + (v.claimable ? 1 : 0);
    return v;
  }
  v.state = TaskState::kPending;
  v.ready_at_ns = ReadyAtNs(task);
  v.claimable = now_ns >= v.ready_at_ns;
  v.next_lease = key.lease;
  return v;
}

std::vector<const TaskRecord*> ClaimableTasks(const State& state, std::string_view queue,
                                              uint64_t now_ns, size_t limit) {
  std::vector<const TaskRecord*> out;
  const State::QueueSlot* slot = state.FindSlot(queue);
  if (slot == nullptr || !slot->record || !slot->record->alive) return out;
  const QueueRecord& record = *slot->record;
  auto claimable = [&](const Uuid& id) -> const TaskRecord* {
    const TaskRecord& task = slot->tasks.at(id);
    if (!TaskVisible(task, &record) || !ViewTask(task, record, now_ns).claimable) return nullptr;
    return &task;
  };
  // Working tasks whose lease ran out, in claim order; the index ends the
  // walk at the first lease still running.
  std::vector<std::pair<ClaimOrder, const TaskRecord*>> expired;
  for (const LeaseOrder& lease : slot->leased) {
    if (lease.expires_ns > now_ns) break;
    if (const TaskRecord* task = claimable(lease.id)) {
      expired.emplace_back(ClaimOrder{task->add->priority, task->add->hlc, task->id}, task);
    }
  }
  std::sort(expired.begin(), expired.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Merged with the ready Pending tasks, in claim order.
  auto next_expired = expired.begin();
  for (auto open = slot->open.begin(); out.size() < limit;) {
    const bool take_expired =
        next_expired != expired.end() && (open == slot->open.end() || next_expired->first < *open);
    if (take_expired) {
      out.push_back((next_expired++)->second);
    } else if (open != slot->open.end()) {
      if (const TaskRecord* task = claimable((open++)->id)) out.push_back(task);
    } else {
      break;
    }
  }
  return out;
}

QueueCounts CountTasks(const State& state, std::string_view queue, uint64_t now_ns) {
  QueueCounts counts;
  const State::QueueSlot* slot = state.FindSlot(queue);
  if (slot == nullptr || !slot->record) return counts;
  const QueueRecord& record = *slot->record;
  // Finished tasks are tallied (QueueSlot::finished).
  counts.done = slot->finished.done;
  counts.dead = slot->finished.dead;
  counts.cancelled = slot->finished.cancelled;
  if (!state.claim_index()) {  // no live counts either: look at the live tasks
    for (const auto& [id, task] : slot->tasks) {
      if (task.status.key.outcome != Outcome::kLive || !TaskVisible(task, &record)) continue;
      TaskView v = ViewTask(task, record, now_ns);
      counts.claimable += v.claimable ? 1 : 0;
      ++(v.state == TaskState::kWorking ? counts.working : counts.pending);
    }
    return counts;
  }
  // Live ones are counted by phase; what time changed since is looked up in
  // the indexes: leases that ran out (the front of `leased`) and delayed
  // tasks not ready yet (the back of `delayed`).
  uint64_t expired = 0;
  uint64_t expired_claimable = 0;
  for (const LeaseOrder& lease : slot->leased) {
    if (lease.expires_ns > now_ns) break;
    const TaskRecord& task = slot->tasks.at(lease.id);
    if (!TaskVisible(task, &record)) continue;
    ++expired;
    expired_claimable += ViewTask(task, record, now_ns).claimable ? 1 : 0;
  }
  uint64_t waiting = 0;
  for (auto it = slot->delayed.rbegin(); it != slot->delayed.rend() && it->ready_ns > now_ns;
       ++it) {
    ++waiting;
  }
  counts.pending = slot->live.pending + expired;
  counts.working = slot->live.working - expired;
  counts.claimable = slot->live.pending - waiting + expired_claimable;
  return counts;
}

FailOp DecideFail(const TaskRecord& task, const QueueRecord& queue, const Uuid& worker,
                  uint64_t lease, std::string error) {
  FailOp op;
  op.queue_name = task.queue;
  op.id = task.id;
  op.worker_id = worker;
  op.lease = lease;
  op.round = task.status.key.round;
  op.error = std::move(error);
  std::optional<uint32_t> max_attempts =
      task.add && task.add->max_attempts ? task.add->max_attempts : queue.max_attempts;
  uint64_t attempts_used = lease + 1;
  if (max_attempts && attempts_used >= *max_attempts) {
    op.dead = true;
    return op;
  }
  uint64_t base = queue.backoff_ms.value_or(0);
  uint64_t backoff = base;
  for (uint64_t i = 0; i < lease && backoff > 0 && backoff < kMaxBackoffMs; ++i) backoff *= 2;
  op.retry_in_ms = std::min(backoff, kMaxBackoffMs);
  return op;
}

}  // namespace pigtail

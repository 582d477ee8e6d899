// Read-time views of the state. Time-dependent facts (an expired lease, a
// retry whose backoff has passed) are computed here from a `now` the caller
// passes in; they are never stored.
#ifndef PIGTAIL_CORE_TASK_VIEW_H_
#define PIGTAIL_CORE_TASK_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/queue_op.h"
#include "core/registers.h"
#include "core/state.h"

namespace pigtail {

enum class TaskState { kPending, kWorking, kDone, kDead, kCancelled };

// "pending", "working", "done", "dead", "cancelled".
std::string_view TaskStateName(TaskState state);

// Done, dead or cancelled: the task will not run again.
inline bool IsFinished(TaskState state) {
  return state == TaskState::kDone || state == TaskState::kDead || state == TaskState::kCancelled;
}

struct TaskView {
  TaskState state = TaskState::kPending;  // a Working task past its lease reads kPending
  bool claimable = false;                 // a claim at `now` would succeed
  uint64_t lease = 0;                     // the lease of the current status
  uint64_t next_lease = 0;                // the lease number a claim at `now` would take
  uint64_t ready_at_ns = 0;               // Pending: not claimable before this
  uint64_t expires_at_ns = 0;             // Working: the lease runs out at this time
  bool lease_expired = false;             // Working, and now >= expires_at_ns
};

// The attempts started in the task's current round: one per claim (lease)
// taken. For a cancelled task, the attempts known to have failed.
uint64_t AttemptsStarted(const TaskRecord& task);

// The state the register records, without a clock (unlike ViewTask, a
// Working task past its lease is still "working"): "pending", "working",
// "done", "dead", "cancelled" or "purged".
std::string_view StoredStateName(const TaskRecord& task);

// `ms` in nanoseconds, saturating at UINT64_MAX.
uint64_t MillisToNanos(uint64_t ms);

// The attempt that lease `lease` is, from 1: lease + 1, saturating (the
// count that max_attempts limits).
uint64_t AttemptNumber(uint64_t lease);

// The task's lease length: its own timeout_ms, else the queue's.
uint64_t LeaseTimeoutMs(const TaskRecord& task, const QueueRecord& queue);

// When a lease of `timeout_ms` taken at `from_ns` runs out: their sum,
// saturating at UINT64_MAX (a lease that never runs out).
uint64_t LeaseExpiresAtNs(uint64_t from_ns, uint64_t timeout_ms);

// When a Working task's lease runs out: its status time plus its lease
// length (its own timeout_ms, else `queue_timeout_ms`), saturating.
uint64_t LeaseExpiresAtNs(const TaskRecord& task, uint64_t queue_timeout_ms);

// When a live Pending task may be claimed: its Add's time plus its delay
// (or its run_at, if later), or, after a Fail, the Fail's time plus its
// retry_in_ms. REQUIRES: task.add is present.
uint64_t ReadyAtNs(const TaskRecord& task);

// REQUIRES: task.add is present.
TaskView ViewTask(const TaskRecord& task, const QueueRecord& queue, uint64_t now_ns);

// Up to `limit` tasks of `queue` claimable at `now_ns`, in claim order
// (priority, then oldest Add). Empty if the queue is not alive.
std::vector<const TaskRecord*> ClaimableTasks(const State& state, std::string_view queue,
                                              uint64_t now_ns, size_t limit);

// Visible tasks of a queue by read-time state, without a scan: finished
// ones as tallied (State::QueueSlot::finished), live ones from the live
// counts and the claim indexes (State::QueueSlot::live), or, while the
// indexes are off, counted over the tasks in memory. A task stamped ahead
// of `now_ns` without a delay (from a peer whose clock runs ahead) counts as
// claimable a little before a claim takes it.
struct QueueCounts {
  uint64_t pending = 0;
  uint64_t working = 0;
  uint64_t done = 0;
  uint64_t dead = 0;
  uint64_t cancelled = 0;
  uint64_t claimable = 0;
  bool operator==(const QueueCounts&) const = default;
};
QueueCounts CountTasks(const State& state, std::string_view queue, uint64_t now_ns);

// The Fail op a worker holding `lease` on `task` should write: it retries
// with exponential backoff (queue backoff_ms * 2^lease, capped at one hour)
// until the task's, else the queue's, max_attempts is used up, then is dead.
FailOp DecideFail(const TaskRecord& task, const QueueRecord& queue, const Uuid& worker,
                  uint64_t lease, std::string error);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_TASK_VIEW_H_

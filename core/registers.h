// The registers of Pigtail's state (DESIGN.md §5, docs/registers.md).
//
// Every register holds the maximum of all values written to it under a total
// order whose last component is a unique event id, so merging is
// commutative, associative and idempotent: the state is a pure function of
// the set of events applied.
#ifndef PIGTAIL_CORE_REGISTERS_H_
#define PIGTAIL_CORE_REGISTERS_H_

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hlc.h"
#include "core/uuid.h"

namespace pigtail {

// Terminal outcomes rank above live ones: live < Dead < Cancelled < Done <
// Purged.
enum class Outcome : uint8_t { kLive = 0, kDead = 1, kCancelled = 2, kDone = 3, kPurged = 4 };
enum class Phase : uint8_t { kPending = 0, kWorking = 1 };

// (round, outcome, lease, phase, hlc, event id), compared left to right.
// A task starts in round 0; each Retry of a dead task starts the next round,
// which outranks everything written in earlier ones (docs/registers.md).
struct StatusKey {
  uint32_t round = 0;
  Outcome outcome = Outcome::kLive;
  uint64_t lease = 0;
  Phase phase = Phase::kPending;
  Hlc hlc;
  Uuid event_id;
  auto operator<=>(const StatusKey&) const = default;
};

// The round of a Purge's status key: above every round a Retry starts, so a
// Purge outranks every other op of its task.
inline constexpr uint32_t kPurgeRound = UINT32_MAX;

// The task status register. Fields after `key` come from the event that
// wrote the winning key, so equal keys always carry equal values (so does
// the result, kept in TaskHistory).
struct TaskStatus {
  StatusKey key;
  Uuid worker;               // nil for Add and Cancel
  std::string error;         // Fail's error text
  uint64_t retry_in_ms = 0;  // Fail's backoff before the next attempt
  bool operator==(const TaskStatus&) const = default;
};

// Keeps the greater of `*reg` and `incoming`. Returns true if `*reg` changed.
bool MergeStatus(TaskStatus* reg, const TaskStatus& incoming);

// What a task's Add said. Written once: the task id is the Add's event id.
struct TaskAdd {
  Hlc hlc;
  std::string task_name;
  std::string info_json;
  int64_t priority = 0;
  uint64_t delay_ms = 0;
  std::optional<uint32_t> max_attempts;
  std::optional<uint64_t> timeout_ms;
  uint64_t run_at_ms = 0;  // 0: none
  // Field by field: a total order, so a task keeps the least of two Adds.
  auto operator<=>(const TaskAdd&) const = default;
};

// Which attempt an op was written for, and by which event: (round, lease,
// hlc, event id), compared left to right.
struct AttemptStamp {
  uint32_t round = 0;
  uint64_t lease = 0;
  Hlc hlc;
  Uuid event_id;
  auto operator<=>(const AttemptStamp&) const = default;
};

// The progress register: the progress reported by the Progress op with the
// greatest stamp among those that carry one.
struct TaskProgress {
  AttemptStamp stamp;
  std::string json;  // non-empty JSON text
  bool operator==(const TaskProgress&) const = default;
};

// One failed attempt: the Fail op of attempt stamp.lease + 1 in stamp.round.
struct FailedAttempt {
  AttemptStamp stamp;
  Uuid worker;
  std::string error;
  bool operator==(const FailedAttempt&) const = default;
};

// How many failed attempts a task keeps: the latest ones.
inline constexpr size_t kMaxFailures = 10;

// A task's history registers, kept out of line: most tasks have none, and
// a task's record in the state's table stays small.
struct TaskHistory {
  // The result (JSON text) of the Done that wrote the status register's
  // key; empty if none.
  std::string result_json;
  std::optional<TaskProgress> progress;
  // The failed attempts with the kMaxFailures greatest (round, lease), in
  // ascending order; for each, the Fail with the greatest stamp.
  std::vector<FailedAttempt> failures;
  bool empty() const { return result_json.empty() && !progress && failures.empty(); }
  bool operator==(const TaskHistory&) const = default;
};

// One task: its Add (absent while status events arrived before it), its
// status register, and its history registers.
struct TaskRecord {
  std::string queue;
  Uuid id;
  std::optional<TaskAdd> add;
  TaskStatus status;
  // Null while empty. Copies of the record (the batches the state hands to
  // its committer) share it, so it never changes: a change replaces it.
  std::shared_ptr<const TaskHistory> history;
  // Compares the history by value.
  bool operator==(const TaskRecord& other) const;
};

inline const TaskHistory kNoHistory;

// The task's history (an empty one when it has none).
inline const TaskHistory& History(const TaskRecord& task) {
  return task.history ? *task.history : kNoHistory;
}

// A Purge won the task's status register: the record holds only its key.
inline bool Purged(const TaskRecord& task) { return task.status.key.outcome == Outcome::kPurged; }

// The task may still run: no Done, Dead, Cancel or Purge won its status.
inline bool Live(const TaskRecord& task) { return task.status.key.outcome == Outcome::kLive; }

// Merges a status, written with `result_json` (a Done's result, else
// empty), into the task: the status register keeps the greater key, and the
// result comes with it. When a Purge wins, everything else of the task is
// dropped for good. Returns true if the task changed.
bool MergeTaskStatus(TaskRecord* task, const TaskStatus& incoming,
                     std::string_view result_json = {});
// Merges reported progress into the progress register (the greater stamp
// wins). A purged task keeps nothing. Returns true if the task changed.
bool MergeProgress(TaskRecord* task, const TaskProgress& incoming);
// Merges a failed attempt into the task's failures: per (round, lease) the
// greater stamp, and only the kMaxFailures greatest (round, lease). A
// purged task keeps nothing. Returns true if the task changed.
bool MergeFailure(TaskRecord* task, const FailedAttempt& incoming);

// (hlc, event id): the order of Create and Delete ops on one queue.
struct Stamp {
  Hlc hlc;
  Uuid event_id;
  auto operator<=>(const Stamp&) const = default;
};

// The queue register: last-writer-wins over Create/Delete, plus the greatest
// Delete seen. When a Delete wins, the config fields are zero.
struct QueueRecord {
  std::string name;
  Stamp last;  // the winning Create or Delete
  bool alive = false;
  uint64_t timeout_ms = 0;
  std::optional<uint32_t> max_attempts;
  std::optional<uint64_t> backoff_ms;
  std::optional<Stamp> last_delete;
  // The winning Pause op (last writer wins on its own, beside the settings).
  std::optional<Stamp> last_pause;
  bool paused = false;
  bool operator==(const QueueRecord&) const = default;
};

// Claims of the queue's tasks are paused: the winning Pause op paused it
// and is newer than the queue's last Delete (a re-created queue starts
// unpaused).
bool QueuePaused(const QueueRecord& queue);

// A task is visible when its queue is alive, its Add has arrived, and the Add
// is newer than the queue's last Delete.
bool TaskVisible(const TaskRecord& task, const QueueRecord* queue);

enum class QueueWrite {
  kCreateOrDelete,  // takes effect if newer than the register's last write
  kAdd,             // takes effect (the task is visible) if newer than the last Delete
};

// Whether a write of `kind` stamped `stamp` takes effect against the queue
// register `queue` (null: none yet). It does not when the register holds a
// write stamped after it, e.g. an entry stamped beyond the clock's bounds
// (docs/registers.md, "Hostile clocks").
bool QueueWriteTakesEffect(const QueueRecord* queue, QueueWrite kind, const Stamp& stamp);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_REGISTERS_H_

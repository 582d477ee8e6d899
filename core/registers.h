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
#include <optional>
#include <string>

#include "core/hlc.h"
#include "core/uuid.h"

namespace pigtail {

// Terminal outcomes rank above live ones: live < Dead < Cancelled < Done.
enum class Outcome : uint8_t { kLive = 0, kDead = 1, kCancelled = 2, kDone = 3 };
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

// The task status register. Fields after `key` come from the event that
// wrote the winning key, so equal keys always carry equal values.
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
  bool operator==(const TaskAdd&) const = default;
};

// One task: its Add (absent while status events arrived before it) and its
// status register.
struct TaskRecord {
  std::string queue;
  Uuid id;
  std::optional<TaskAdd> add;
  TaskStatus status;
  bool operator==(const TaskRecord&) const = default;
};

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

// What a state store keeps of each queue besides its registers, so that a
// node starting up reads only the tasks it holds in memory: the number of
// task registers and of visible finished tasks by state. State keeps them
// up to date on each write (State::QueueSlot) and hands the tallies of the
// queues a batch touched to the store with it (StateBatch::queue_tallies).
#ifndef PIGTAIL_CORE_QUEUE_TALLY_H_
#define PIGTAIL_CORE_QUEUE_TALLY_H_

#include <cstdint>

#include "core/registers.h"

namespace pigtail {

// How a task counts among its queue's finished tasks.
enum class FinishedKind : uint8_t { kNone, kDone, kDead, kCancelled };

// kNone unless `task` is done, dead or cancelled and visible (TaskVisible)
// under `queue` (nullptr: no queue register).
FinishedKind FinishedKindOf(const TaskRecord& task, const QueueRecord* queue);

struct FinishedCounts {
  uint64_t done = 0;
  uint64_t dead = 0;
  uint64_t cancelled = 0;

  void Add(FinishedKind kind);
  // Saturates at zero (see State::QueueSlot::finished).
  void Remove(FinishedKind kind);
  bool operator==(const FinishedCounts&) const = default;
};

struct QueueTally {
  uint64_t tasks = 0;       // task registers of the queue, whatever their state
  FinishedCounts finished;  // its visible finished tasks
  bool operator==(const QueueTally&) const = default;

  // Counts one more task register of the queue (`queue`: its register, or
  // nullptr).
  void Count(const TaskRecord& task, const QueueRecord* queue) {
    ++tasks;
    finished.Add(FinishedKindOf(task, queue));
  }
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_QUEUE_TALLY_H_

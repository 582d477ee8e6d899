#include "core/queue_tally.h"

namespace pigtail {
namespace {

uint64_t* CounterOf(FinishedCounts* counts, FinishedKind kind) {
  switch (kind) {
    case FinishedKind::kDone:
      return &counts->done;
    case FinishedKind::kDead:
      return &counts->dead;
    case FinishedKind::kCancelled:
      return &counts->cancelled;
    case FinishedKind::kNone:
      break;
  }
  return nullptr;
}

}  // namespace

FinishedKind FinishedKindOf(const TaskRecord& task, const QueueRecord* queue) {
  FinishedKind kind = FinishedKind::kNone;
  switch (task.status.key.outcome) {
    case Outcome::kDone:
      kind = FinishedKind::kDone;
      break;
    case Outcome::kDead:
      kind = FinishedKind::kDead;
      break;
    case Outcome::kCancelled:
      kind = FinishedKind::kCancelled;
      break;
    case Outcome::kLive:
    case Outcome::kPurged:  // holds no Add: never visible
      return FinishedKind::kNone;
  }
  return TaskVisible(task, queue) ? kind : FinishedKind::kNone;
}

void FinishedCounts::Add(FinishedKind kind) {
  if (uint64_t* n = CounterOf(this, kind)) ++*n;
}

void FinishedCounts::Remove(FinishedKind kind) {
  uint64_t* n = CounterOf(this, kind);
  if (n != nullptr && *n > 0) --*n;
}

}  // namespace pigtail

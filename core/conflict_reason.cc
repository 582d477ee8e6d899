#include "core/conflict_reason.h"

namespace pigtail {

std::string_view ToString(ConflictReason reason) {
  switch (reason) {
    case ConflictReason::kNone:
      return "";
    case ConflictReason::kDone:
      return "done";
    case ConflictReason::kDoneByAnotherWorker:
      return "done_by_another_worker";
    case ConflictReason::kLeasedByAnotherWorker:
      return "leased_by_another_worker";
    case ConflictReason::kLeaseLost:
      return "lease_lost";
    case ConflictReason::kDead:
      return "dead";
    case ConflictReason::kCancelled:
      return "cancelled";
    case ConflictReason::kNotReady:
      return "not_ready";
    case ConflictReason::kBusy:
      return "busy";
    case ConflictReason::kSuperseded:
      return "superseded";
    case ConflictReason::kQueueExists:
      return "queue_exists";
    case ConflictReason::kNotDead:
      return "not_dead";
    case ConflictReason::kPaused:
      return "paused";
  }
  return "";
}

}  // namespace pigtail

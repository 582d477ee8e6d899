// Why a write loses to the current state: the `reason` of a 409
// (docs/http_api.md, "409 reasons"), decided in core/decide.h and carried
// typed to the HTTP edge, which writes its wire name.
#ifndef PIGTAIL_CORE_CONFLICT_REASON_H_
#define PIGTAIL_CORE_CONFLICT_REASON_H_

#include <string_view>

namespace pigtail {

enum class ConflictReason {
  kNone,                   // not a conflict
  kDone,                   // the task is done (by this worker)
  kDoneByAnotherWorker,    // the task was done by another worker
  kLeasedByAnotherWorker,  // another worker holds an unexpired lease
  kLeaseLost,              // the lease sent is not the worker's current one
  kDead,                   // the task's attempts ran out
  kCancelled,              // the task was cancelled
  kNotReady,               // a delay or retry backoff has not passed
  kBusy,                   // another request of the same batch writes the task
  kSuperseded,             // a queue write would lose to one stamped after it
  kQueueExists,            // POST /create of a live queue with other settings
  kNotDead,                // a retry of a task that is not dead
  kPaused,                 // a claim of a task of a paused queue
};

// The wire name: "" for kNone, else e.g. "leased_by_another_worker".
std::string_view ToString(ConflictReason reason);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_CONFLICT_REASON_H_

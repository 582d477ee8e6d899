// CommitPipeline: a replay's commits to its target StateStore, one at a
// time, either written on the replaying thread or, overlapped, on a thread
// of their own while the replay applies the next window of events.
//
// The replay takes its changes into next() and Start()s their commit. With
// overlap the commit runs in the background, and the replay may drop the
// committed tasks from memory at once (State::EvictCommitted with the
// batch's checkpoint), as if the commit had ended: GetTasks() reads a
// dropped task back from the batch in flight when it holds it, and from the
// store otherwise (the commit in flight does not touch those), so a task
// read back is never older than the last register taken. Start() first
// waits for the commit in flight, so commits reach the store in order and
// checkpoints only grow; Finish() waits for it.
//
// Thread safety: one thread calls every method. The target must allow a
// Commit on one thread while the replay reads it on another, as every
// StateStore does.
#ifndef PIGTAIL_REPLAY_COMMIT_PIPELINE_H_
#define PIGTAIL_REPLAY_COMMIT_PIPELINE_H_

#include <future>
#include <unordered_map>
#include <vector>

#include "core/cold_tasks.h"
#include "core/state_batch.h"
#include "core/state_store.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail::replay {

class CommitPipeline {
 public:
  CommitPipeline(StateStore* target, bool overlap) : target_(target), overlap_(overlap) {}
  // Waits for the commit in flight, if any (its result is lost).
  ~CommitPipeline();
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;

  // The batch to take the next changes into (State::TakeChangesInto). It
  // reuses the storage of the batches committed before.
  StateBatch* next() { return &next_; }

  // Waits for the commit in flight (returning its error, if it failed),
  // then commits next(): in the background with overlap (its error comes
  // from the next Start() or Finish()), otherwise before returning.
  Status Start(bool sync);

  // Waits for the commit in flight; the error of a failed one.
  Status Finish();

  // The registers stored under `keys` once the commit in flight ends
  // (StateStore::GetTasks, but in any order).
  Result<std::vector<TaskRecord>> GetTasks(std::vector<TaskKey> keys);

 private:
  StateStore* const target_;
  const bool overlap_;
  StateBatch next_;
  StateBatch writing_;  // the batch of the commit in flight
  // The tasks of writing_ by id (an id may name tasks in several queues),
  // while a commit is in flight.
  std::unordered_multimap<Uuid, size_t> writing_tasks_;
  std::future<Status> in_flight_;
};

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_COMMIT_PIPELINE_H_

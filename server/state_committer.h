// Writes the sequencer's state changes to the state store on a thread of its
// own, so that the sequencer goes on deciding and appending while RocksDB
// or PostgreSQL inserts the registers.
//
// At most one batch is in flight: Offer() refuses a new one while the last
// is still being written (the caller keeps the changes in its State and
// offers them later, merged with newer ones), so commits reach the store
// one at a time, in order, and checkpoints only grow.
//
// After a failed commit every later Offer() is refused and broken() stays
// true; the log still holds every acknowledged write, and a restart catches
// the state store up from its last good checkpoint.
//
// Thread safety: Offer(), Wait() and broken() may be called from any thread.
#ifndef PIGTAIL_SERVER_STATE_COMMITTER_H_
#define PIGTAIL_SERVER_STATE_COMMITTER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "core/state_batch.h"
#include "core/state_store.h"
#include "core/status.h"
#include "server/serial_executor.h"

namespace pigtail {

class StateCommitter {
 public:
  // `on_failure` runs once, on the committer thread, with the first error.
  StateCommitter(StateStore* store, std::function<void(const Status&)> on_failure);
  // Waits for the batch in flight (its commit runs to the end).
  ~StateCommitter() = default;
  StateCommitter(const StateCommitter&) = delete;
  StateCommitter& operator=(const StateCommitter&) = delete;

  // True when nothing is in flight and no commit has failed: the next
  // Offer() will be taken.
  bool ready() const;

  // Takes `batch` to commit (without sync) if ready(); otherwise returns
  // false and leaves `*batch` untouched.
  bool Offer(StateBatch* batch);

  // Returns once no batch is in flight.
  void Wait();

  bool broken() const { return broken_; }

 private:
  StateStore* const store_;
  const std::function<void(const Status&)> on_failure_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false;  // guarded by mu_: a batch offered and not yet committed
  std::atomic<bool> broken_{false};
  // Last: destroyed first, running the commit in flight while the members
  // above still exist.
  SerialExecutor executor_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_STATE_COMMITTER_H_

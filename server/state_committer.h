// Writes the sequencer's state changes to the state store on a thread of its
// own, so that the sequencer goes on deciding and appending while RocksDB
// or PostgreSQL inserts the registers.
//
// At most one batch is in flight: Offer() refuses a new one while the last
// is still being written (the caller keeps the changes in its State and
// offers them later, merged with newer ones), so commits reach the store
// one at a time, in order, and checkpoints only grow.
//
// A failed commit loses nothing: its batch is held, and the next Offer()
// merges the newer changes into it (MergeNewerBatch) and commits the whole,
// so the store's checkpoint only moves with every change up to it. While
// commits fail, Offer() is refused until a backoff has passed (retry_at();
// the caller retries with an empty batch when it has nothing new). The
// listener hears of the store going down (the first failure after a
// success) and coming back (the first success after failures), once each.
//
// Thread safety: every public method may be called from any thread.
#ifndef PIGTAIL_SERVER_STATE_COMMITTER_H_
#define PIGTAIL_SERVER_STATE_COMMITTER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/state_batch.h"
#include "core/state_store.h"
#include "core/status.h"
#include "server/serial_executor.h"

namespace pigtail {

// Folds `newer` (changes taken after `*older`'s) into `*older`: a register
// in both keeps `newer`'s value (registers only grow, so the later value
// holds the earlier one), queue digests come from `newer`, the checkpoint
// is the larger and the total digest comes with it (an empty `newer` with
// checkpoint 0 leaves both), rejected ops are the union.
void MergeNewerBatch(StateBatch* older, StateBatch&& newer);

struct StateCommitterOptions {
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
};

class StateCommitter {
 public:
  struct Listener {
    // The store went down: the first failed commit after a good one.
    std::function<void(const Status& error)> on_down;
    // It is back: `failures` commits failed over `down_for`.
    std::function<void(uint64_t failures, std::chrono::milliseconds down_for)> on_up;
    // After every failed commit, once the committer is idle: a retry is
    // due at retry_at() (so an idle caller can wake up for it).
    std::function<void()> on_retry;
    // After every successful commit, once the committer is idle
    // (committed_checkpoint() includes it).
    std::function<void()> on_committed;
  };
  // Listener functions run on the committer thread and may be empty.
  StateCommitter(StateStore* store, Listener listener,
                 const StateCommitterOptions& options = StateCommitterOptions());
  // Waits for the batch in flight (its commit runs to the end).
  ~StateCommitter() = default;
  StateCommitter(const StateCommitter&) = delete;
  StateCommitter& operator=(const StateCommitter&) = delete;

  // True when nothing is in flight and no retry backoff is running: the
  // next Offer() will be taken.
  bool ready() const;

  // Takes `batch` to commit (without sync) if ready() (or `force`: only
  // nothing in flight), merged into the changes of failed commits if any;
  // otherwise returns false and leaves `*batch` untouched.
  bool Offer(StateBatch* batch, bool force = false);

  // Returns once no batch is in flight.
  void Wait();

  // A batch to take the next changes into (State::TakeChangesInto): the
  // last one committed, whose records and encodings keep their memory, so
  // that taking changes copies into it instead of allocating. Its contents
  // are stale until taken into. Empty before the first commit, and after a
  // batch of over kMaxSpareTasks tasks or kMaxSpareBytes of task encodings:
  // such a batch is let go, so that an idle node does not hold it.
  StateBatch TakeSpare();
  static constexpr size_t kMaxSpareTasks = 1 << 16;
  static constexpr size_t kMaxSpareBytes = 8 << 20;

  // False from a failed commit until a commit succeeds.
  bool healthy() const { return healthy_; }
  // Changes of failed commits are held, to be committed again.
  bool holding() const;
  // When holding(): the earliest time a retry is taken.
  std::optional<std::chrono::steady_clock::time_point> retry_at() const;
  uint64_t failures() const { return failures_; }
  // The checkpoint of the last successful commit (0 before the first): the
  // store holds every change taken up to it.
  uint64_t committed_checkpoint() const { return committed_checkpoint_; }
  // The error of the last failed commit while !healthy(); else empty.
  std::string last_error() const;

 private:
  using Clock = std::chrono::steady_clock;
  // Whether a committed batch is small enough to keep (TakeSpare).
  static bool KeptAsSpare(const StateBatch& batch);

  StateStore* const store_;
  const Listener listener_;
  const StateCommitterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool busy_ = false;  // guarded by mu_: a batch offered and not yet committed
  // Guarded by mu_: the changes of failed commits, while `holding_`.
  bool holding_ = false;
  StateBatch held_;
  Clock::time_point retry_at_;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point down_since_;
  uint64_t failures_in_outage_ = 0;
  std::string last_error_;
  StateBatch spare_;  // guarded by mu_

  std::atomic<bool> healthy_{true};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> committed_checkpoint_{0};
  // Last: destroyed first, running the commit in flight while the members
  // above still exist.
  SerialExecutor executor_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_STATE_COMMITTER_H_

// The replayer: streams an EventSource in bounded batches, projects each
// event with core's ApplyEvent into a State, and writes the result to a
// StateStore (shape after RocksDB's utilities/replayer.h: ReplayOptions plus
// a Replay step that reports what it did).
//
// Memory: the log is never loaded whole; at most one batch of events
// (ReplayOptions::memory_budget_bytes) is held at a time, plus the changed
// registers between two commits. With ReplayOptions::drop_committed
// (kCommitBatches) a finished task leaves the State once a commit has
// written it to the target, and so does a live one once the State holds
// more tasks than the memory budget allows; either is read back from the
// target when a later event names it. So the State's memory grows neither
// with the log nor with the tasks live at once. Without it (and in
// kBulkLoad mode) the State holds every task.
//
// Resuming: in kCommitBatches mode each commit stores the source position of
// the last event applied as the target's checkpoint. A later Replay on the
// same source and target loads the target's registers, seeks the source past
// the checkpoint and continues; since every merge is idempotent, events
// applied again after a crash between commits change nothing.
#ifndef PIGTAIL_REPLAY_REPLAYER_H_
#define PIGTAIL_REPLAY_REPLAYER_H_

#include <cstddef>
#include <cstdint>

#include "core/digest.h"
#include "core/projector.h"
#include "core/state.h"
#include "core/state_store.h"
#include "core/status.h"
#include "replay/event_source.h"
#include "replay/progress.h"

namespace pigtail::replay {

enum class WriteMode {
  // Commit each batch's changed registers with the checkpoint (State::
  // TakeChanges + StateStore::Commit). Resumable after a crash.
  kCommitBatches,
  // Project the whole source in memory, then write once with
  // StateStore::BulkLoad (replacing the target's contents). The fastest
  // path into a fresh store; an interruption starts over.
  kBulkLoad,
};

struct ReplayOptions {
  // --- Behaviour ---

  // kCommitBatches: when the target already has a checkpoint, continue after
  // it (true, the default) or fail with FailedPrecondition (false).
  bool resume = true;
  // Default: kCommitBatches.
  WriteMode write_mode = WriteMode::kCommitBatches;
  // Sync every commit; the final commit or bulk load is always durable.
  // Default: false.
  bool sync_each_commit = false;
  // kCommitBatches: tasks leave the State once committed (State::
  // set_evict_finished and set_evict_live), so the State passed in ends
  // without them. Off for a caller that reads every register from it
  // afterwards. Default: true.
  bool drop_committed = true;
  // The State's claim indexes (QueueSlot::open and leased) are not kept
  // while replaying; rebuild them before returning (about a tenth of a
  // bulk replay's time at a million tasks), or leave them off for a caller
  // that reads only registers and digests afterwards. Default: true.
  bool rebuild_claim_index = true;

  // --- Performance ---

  // Bound on the raw bytes of the events held at once (one batch). The
  // parsed copies roughly double it. kCommitBatches also commits once the
  // changed task registers would take about as much (kChangedTaskBytes
  // each, their copies in the commit included), whatever the entries hold:
  // one Batch entry may change a thousand tasks. Default: 64 MiB.
  size_t memory_budget_bytes = 64 << 20;
  // Events per batch read from the source. Default: 4096.
  size_t batch_events = 4096;
  // kCommitBatches: events applied between two commits. Default: 65,536.
  uint64_t commit_every_events = 65'536;
  // Batches read (and parsed) ahead on a second thread while the current
  // one is applied; 0 reads on the replaying thread. The memory budget is
  // shared by the read-ahead batches and the one being applied. Pays off
  // only with a spare core. Default: 0.
  size_t read_ahead_batches = 0;
  // kCommitBatches: each commit is written on a thread of its own while
  // the next window of events is applied (replay/commit_pipeline.h). Pays
  // off when the target's writes run elsewhere (PostgreSQL); into RocksDB
  // only with a core to spare beyond the replay and its read-ahead.
  // Default: false.
  bool overlap_commits = false;
};

// What one changed task register costs until its commit is written: the
// State's entry, the StateBatch's copy and encoding, and the store's write
// batch (about 1.6 KB measured, for a task of ~200 bytes of info).
inline constexpr size_t kChangedTaskBytes = 2048;

struct ReplayReport {
  ApplyStats stats;            // outcomes of the events applied
  uint64_t events = 0;         // events applied in this run
  uint64_t resumed_after = 0;  // the checkpoint the run continued from (0: start)
  uint64_t last_position = 0;  // the source position reached
  uint64_t commits = 0;        // StateStore::Commit calls (kCommitBatches)
  Digest digest;               // the state's total digest at the end
  double seconds = 0;          // wall time
  double events_per_second() const {
    return seconds > 0 ? static_cast<double>(events) / seconds : 0;
  }
};

// Replays `source` into `state` and, when `target` is not null, into
// `target`. The state's claim indexes are not maintained while replaying;
// they are rebuilt before returning when options.rebuild_claim_index, and
// left off otherwise (State::set_claim_index(true) rebuilds them later).
// REQUIRES: `state` is empty; `source` has not been read yet.
// Errors: the source's (Corruption with position under kStop, IOError),
// the target's, FailedPrecondition when the target is not empty and
// resuming is off, Corruption when the target's digest after writing
// differs from the state's.
// `progress` may be null.
Result<ReplayReport> Replay(EventSource* source, State* state, StateStore* target,
                            const ReplayOptions& options, ProgressSink* progress);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_REPLAYER_H_

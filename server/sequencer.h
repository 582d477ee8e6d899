// The ingest sequencer: every write of a node goes through it.
//
// Callers Submit() write requests (core/write_request.h) from any thread.
// One thread takes everything queued (group commit, up to max_batch
// requests), decides each request in order through core/decide.h against
// the current State and the decisions made earlier in the batch (so two
// workers on one node never get the same lease), mints the entries each
// decision writes (HLC from the node's clock, `prev` chained to the node's
// head), appends them to the log in one atomic Append, projects them into
// the State under the exclusive lock, and only then completes the requests.
// While synced appends are most of a batch's cost, a batch may first wait
// briefly for the clients the previous one answered, so that more requests
// share a sync (adaptive group commit, server/group_commit.h).
// A request whose entries cannot all be minted (attached mode: the external
// log refused one) is answered with that error and adds nothing to the
// batch. When the append fails, nothing is applied and every request of
// the batch that is answered gets the error (also those whose decision
// wrote nothing: they were decided beside writes that are not made).
//
// The changed registers go to the state store with their checkpoint at
// most every state_commit_interval (and at Stop), written by a
// StateCommitter thread while the sequencer goes on (one commit in
// flight): the synced log holds every acknowledged write, and a restart
// catches the state store up from its checkpoint, so deferring the commit
// loses nothing and lets writes to one task in nearby batches (claim, then
// done) reach the store as one register write.
//
// Claim-next requests with wait_ms > 0 that find nothing wait inside the
// sequencer (no polling by the caller): they are re-tried after a batch adds
// or releases work on their queue, on a short tick (delays and expired
// leases), and answered empty when wait_ms has passed. A batch that adds
// tasks to a queue with waiting claims decides those claims after its own
// requests, against the tasks it adds (core/fresh_tasks.h): the add and the
// claim that takes its task share the batch's one synced append, and the
// claim is answered first.
//
// Thread safety: Submit() may be called from any thread. Callbacks run one
// at a time, in the order their batches were processed, on the sequencer
// thread or (batches with many claimed tasks or done items) on its
// "replies" thread (server/serial_executor.h); they must not block.
#ifndef PIGTAIL_SERVER_SEQUENCER_H_
#define PIGTAIL_SERVER_SEQUENCER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/cold_tasks.h"
#include "core/decide.h"
#include "core/event.h"
#include "core/queue_op.h"
#include "core/status.h"
#include "core/uuid.h"
#include "core/write_request.h"
#include "server/backend_health.h"
#include "server/group_commit.h"
#include "server/lease_storm.h"
#include "server/node.h"
#include "server/queue_metrics.h"
#include "server/serial_executor.h"
#include "server/state_committer.h"

namespace pigtail {

enum class SyncMode {
  kBatch,  // the log append of every batch is synced before replies (default)
  kNone,   // no sync: an OS crash may lose acknowledged writes
};

struct SequencerOptions {
  SyncMode sync = SyncMode::kBatch;
  // With kBatch: before a batch, wait (at most one recent append's time)
  // for the clients the previous batch answered, while synced appends are
  // most of a batch's cost (server/group_commit.h).
  bool adaptive_group_commit = true;
  // The longest of those waits.
  std::chrono::nanoseconds group_commit_max_wait = std::chrono::milliseconds(2);
  size_t max_batch = 4096;  // requests taken per batch
  // How often waiting claim-next requests re-check for work that became
  // claimable by time alone (a delay ran out, a lease expired).
  std::chrono::milliseconds wait_tick{50};
  // How long applied changes may wait before they are committed to the
  // state store (0: after every batch).
  std::chrono::milliseconds state_commit_interval{50};
  // Write the task ops one request decides (the claims of a claim-next, the
  // dones of a batched done) as Batch entries instead of one entry per op.
  // Not in attached mode, whose log original Pigtail nodes may read.
  bool batch_ops = true;
  // Attached mode (server/external_log.h): when set, every entry this node
  // would write to its own chain is written by this function instead, on the
  // sequencer thread, with the entry's data (JSON text) and dependencies; it
  // returns the entry as the external log stored it (the log's id, owner and
  // timestamp), which the sequencer then stores and applies like a peer's
  // entry. Claims are still decided here, against the State, so they are
  // never granted twice on this node.
  std::function<Result<Event>(const std::string& data_json, const std::vector<Uuid>& dependencies)>
      external_write;
};

using WriteCallback = std::function<void(WriteResult)>;

class Sequencer {
 public:
  Sequencer(Node* node, const SequencerOptions& options);
  ~Sequencer();  // Stop()
  Sequencer(const Sequencer&) = delete;
  Sequencer& operator=(const Sequencer&) = delete;

  void Start();
  // Processes what is queued, answers waiting claims with no tasks, and
  // joins the thread. Later Submits are answered Unavailable. Idempotent.
  void Stop();

  void Submit(WriteRequest request, WriteCallback done);

  // Answers waiting claim-next requests now (with what they can get) and
  // makes later ones not wait, so a shutdown can drain quickly. Writes are
  // still processed.
  void BeginShutdown();

  // False while state store commits fail: the changes are kept (in the
  // State, and merged into the failed batch) and committed again with
  // backoff until the store takes them; the log holds every write meanwhile.
  bool state_commits_ok() const { return committer_ == nullptr || committer_->healthy(); }
  std::string state_commit_error() const {
    return committer_ == nullptr ? std::string() : committer_->last_error();
  }
  uint64_t state_commit_failures() const {
    return committer_ == nullptr ? 0 : committer_->failures();
  }
  // Whether the log and the state store answer (appends, commits, probes).
  const BackendHealth& health() const { return health_; }
  // Run times, failures and dead tasks decided here.
  const QueueMetrics& queue_metrics() const { return queue_metrics_; }

  // Called after each batch is applied, on the sequencer thread (e.g. to
  // wake the notifier).
  void set_on_applied(std::function<void()> f) { on_applied_ = std::move(f); }

 private:
  struct Pending {
    WriteRequest request;
    WriteCallback done;
    std::chrono::steady_clock::time_point deadline;  // ClaimNextRequest with wait
  };
  // Facts about the requests decided in a batch, counted once the batch is
  // in the log, for the requests that succeeded.
  struct BatchFacts;
  // A request of the batch being processed, as decided.
  struct Slot {
    size_t first_event = 0;  // its first entry in the batch
    WriteResult result;
    bool parked = false;  // a claim-next moved to waiters_
    // A waiting claim that took tasks the batch adds: it waits again if the
    // batch is not written.
    bool fresh = false;
  };
  // The entries of one batch being built.
  class EntryWriter;
  void Run();
  void ProcessBatch(std::vector<Pending> batch);
  // Decides a request of the batch and adds its entries to `writer`;
  // returns its reply. Sets *park for a claim-next to wait. The entries of
  // an ExternalRequest it admits are moved into `writer` (the request keeps
  // its number of entries, not their contents).
  WriteResult DecideRequest(Pending& pending, BatchView* view, const DecideContext& ctx,
                            EntryWriter* writer, BatchFacts* facts, bool* park);
  // Decides the waiting claim-nexts (waiters_) of the queues that the Adds
  // of the batch's AddRequests write, against the tasks those Adds create;
  // a claim that takes any joins the batch (`batch`, `slots`), the others
  // go on waiting. Appends the tasks claimed to `claimed_fresh`.
  void ClaimFreshTasks(std::vector<Pending>* batch, std::vector<Slot>* slots, BatchView* view,
                       const DecideContext& ctx, EntryWriter* writer, BatchFacts* facts,
                       std::vector<TaskKey>* claimed_fresh);
  // For a batch that is not written: true for a claim that waits (again),
  // in waiters_; false for a request to answer with the error.
  bool WaitAgain(Slot* slot, Pending* pending);
  // Reads back from the state store the finished tasks dropped from memory
  // that the requests of `batch` are decided against (core/cold_tasks.h),
  // and those a purge may remove.
  Status ReinstateForRequests(const std::vector<Pending>& batch);
  // Adds to `absent` up to purge.max + 1 finished tasks out of memory
  // that `purge` removes.
  Status AppendPurgeCandidates(const State& state, const PurgeRequest& purge,
                               std::vector<TaskKey>* absent);
  // The same for the tasks the entries of the batch write, but for
  // `fresh`: tasks the batch adds.
  Status ReinstateForEntries(const EntryWriter& writer, std::vector<TaskKey> fresh);
  // Notes the claim times and metrics of a decision taken into the batch.
  void NoteDecision(const Decision& decision, BatchFacts* facts);
  // Applies the appended `events` (with their sequences) to the State.
  void Apply(const std::vector<Event>& events, const std::vector<uint64_t>& seqs,
             const BatchFacts& facts);
  // Hands what was applied since the last commit to the committer; when it
  // is still writing the previous batch, leaves the changes to accumulate
  // until the next interval. `final`: waits for the committer and commits
  // everything before returning.
  void CommitState(bool final);

  Node* const node_;
  const SequencerOptions options_;
  std::function<void()> on_applied_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;  // guarded by mu_
  uint64_t arrivals_ = 0;      // guarded by mu_: requests ever queued
  // Adaptive group commit (server/group_commit.h), guarded by mu_: the next
  // batch waits until `gather_want_` requests have arrived since
  // `gather_base_` arrivals (counted when the replies were sent, at
  // `gather_from_`), or until `gather_until_`.
  uint64_t gather_base_ = 0;
  size_t gather_want_ = 0;
  std::chrono::steady_clock::time_point gather_from_;
  std::chrono::steady_clock::time_point gather_until_;
  bool stopping_ = false;       // guarded by mu_
  bool commit_failed_ = false;  // guarded by mu_: a state commit failed, plan its retry
  bool committed_ = false;      // guarded by mu_: a state commit succeeded
  bool started_ = false;
  std::thread thread_;

  std::unique_ptr<StateCommitter> committer_;  // from Start()
  std::unique_ptr<SerialExecutor> replier_;    // from Start(): runs the callbacks
  std::atomic<bool> draining_{false};
  BackendHealth health_;
  QueueMetrics queue_metrics_;

  // Sequencer thread only.
  GroupCommitWindow gather_window_{options_.group_commit_max_wait};
  bool stopping_batch_ = false;  // the batch being processed is the last one
  std::vector<Pending> waiters_;
  std::vector<std::string> woken_queues_;
  uint64_t uncommitted_seq_ = 0;  // last applied sequence not yet committed; 0: none
  std::chrono::steady_clock::time_point last_state_commit_;
  // Tasks dropped from memory since the allocator was last trimmed, and
  // when that was (ReleaseFreeMemory: kTrimInterval after the last trim
  // once tasks were dropped since, busy or idle).
  uint64_t dropped_since_trim_ = 0;
  std::chrono::steady_clock::time_point last_trim_;
  // Committed tasks were due to leave memory and a DropHold kept them: the
  // sequencer wakes again soon, busy or idle.
  bool drops_held_back_ = false;
  LeaseStormDetector lease_storm_;
  // Changes taken from the State that the committer did not take (not
  // expected: see CommitState), offered again with the next ones.
  std::optional<StateBatch> refused_;
  // Physical time (ns) of the claims decided here, by task, until their
  // done (pigtail_task_run_seconds), fail or cancel is decided here.
  // Cleared when it grows past kMaxClaimTimes (claims done elsewhere).
  std::unordered_map<Uuid, uint64_t> claim_ns_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_SEQUENCER_H_

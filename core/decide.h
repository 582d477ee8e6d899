// The queue's rules: what a write request writes and what it is answered,
// decided from a read-only view of the state, the request and the clock.
// No I/O and no threads: the ingest sequencer (server/sequencer.h) queues
// and groups requests, decides each through these functions, mints and
// appends the entries they return, applies them, and replies.
//
// A batch of requests is decided in order against one BatchView: the State
// as the batch found it, plus the tasks that requests decided earlier in the
// batch write. So a claim never hands out a task twice, and a batch writes
// each task at most once (a second request for it is a Conflict "busy").
#ifndef PIGTAIL_CORE_DECIDE_H_
#define PIGTAIL_CORE_DECIDE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/event.h"
#include "core/hlc.h"
#include "core/queue_op.h"
#include "core/state.h"
#include "core/uuid.h"
#include "core/write_request.h"

namespace pigtail {

// What the decisions read besides the state.
struct DecideContext {
  uint64_t now_ns = 0;  // physical time (ns) at which leases, delays and backoff are read
  // A fresh timestamp for each entry written (HybridClock::Now).
  std::function<Hlc()> stamp;
  // The task ops one request writes go in Batch entries (at most
  // kMaxBatchOps each; an op alone stays a plain op), one timestamp per
  // entry; otherwise one entry per op.
  bool batch_ops = true;
};

// How many claimable tasks left to their homes one routed claim-next walks
// past before it stops looking for tasks of its own node.
inline constexpr size_t kMaxRoutedSkips = 256;

// One entry to write: its op and its timestamp.
struct DecidedEntry {
  QueueOp op;
  Hlc when;
};

// How a claimed task's lease came about (one per WriteResult::claimed).
struct ClaimEntry {
  size_t entry = 0;                 // in Decision::entries: the entry holding the claim's op
  uint64_t timeout_ms = 0;          // the lease length
  bool took_expired_lease = false;  // a new claim of a task whose lease had run out
};

struct Decision {
  WriteResult reply;                  // what to answer once the entries are in the log
  std::vector<DecidedEntry> entries;  // in order; empty when the request loses
  std::vector<ClaimEntry> claims;     // parallel to reply.claimed
  std::vector<Uuid> written;          // the tasks the entries write
};

class BatchView {
 public:
  explicit BatchView(const State& state) : state_(state) {}
  BatchView(const BatchView&) = delete;
  BatchView& operator=(const BatchView&) = delete;

  const State& state() const { return state_; }
  // Whether a request accepted earlier in the batch writes `task`.
  bool Written(const Uuid& task) const { return written_.contains(task); }
  size_t written_count() const { return written_.size(); }
  // Records the tasks `decision` writes; call once its entries are taken
  // into the batch (not for a decision whose entries were dropped).
  void Accept(const Decision& decision);

 private:
  const State& state_;
  std::unordered_set<Uuid> written_;
};

// The Create that writes `queue`'s current settings.
CreateOp QueueSettings(const QueueRecord& queue);

// NotFound for a queue this node does not know as live (never created, or
// deleted), saying how to create it (over HTTP, and with the CLI).
Status NoQueueError(std::string_view name);
// NotFound for a task the queue does not hold (never added, or purged).
Status NoTaskError(std::string_view queue, const Uuid& id);

// Writes the Create. Without `replace`: Conflict kQueueExists, with the
// queue's settings in reply.queue, when this node knows a live queue of
// that name with other settings (the same settings are written again, as
// before). With `replace`: NotFound unless the queue is live. Either way
// Conflict kSuperseded when the queue register holds a write stamped at or
// after the new entry. Across nodes Creates still merge last-writer-wins
// (docs/registers.md): the Conflict is decided against this node's state.
Decision Decide(const BatchView& view, const CreateRequest& request, const DecideContext& ctx);
// Writes the tasks' Adds: in Batch entries of up to kMaxBatchOps (a task
// alone stays a plain Add) with ctx.batch_ops, else one entry each. The
// reply's ids are the tasks', which the entries' ids decide: the caller
// fills them in once it mints the entries (AppendAddedTaskIds). Conflict
// kSuperseded when the queue was deleted at or after the new entries'
// timestamp (an entry stamped ahead of the clocks), which would hide them.
Decision Decide(const BatchView& view, const AddRequest& request, const DecideContext& ctx);
// Claims up to `max` tasks claimable at ctx.now_ns, in claim order. NotFound
// without a live queue; no tasks is not an error, nor is a paused queue (no
// tasks either). With request.route, tasks another reachable home decides
// are passed over (at most kMaxRoutedSkips of them) and their homes named
// in reply.forward_to.
Decision Decide(const BatchView& view, const ClaimNextRequest& request, const DecideContext& ctx);
// A claim of one task, or a heartbeat when the worker holds its lease.
// NotFound; Conflict kDone, kDoneByAnotherWorker, kDead, kCancelled, kBusy,
// kLeasedByAnotherWorker, kLeaseLost (`lease` not current), kNotReady,
// kPaused (a claim, not a heartbeat, while the queue is paused).
Decision Decide(const BatchView& view, const ClaimOneRequest& request, const DecideContext& ctx);
// Each item on its own (WriteResult::items): Ok, changed when a Done is
// written; a done task is Ok too but unchanged, with the reason kDone or
// kDoneByAnotherWorker (the original rule: any worker may mark it done); NotFound; Conflict kDead,
// kCancelled, kLeaseLost (`lease` given and not this worker's current one), kBusy. NotFound for the
// whole request without a live queue.
Decision Decide(const BatchView& view, const DoneRequest& request, const DecideContext& ctx);
// Writes the Fail op (core/task_view.h DecideFail). NotFound; Conflict kDone,
// kDoneByAnotherWorker, kDead, kCancelled, kLeaseLost (the worker does not
// hold `lease`, or no lease), kBusy.
Decision Decide(const BatchView& view, const FailRequest& request, const DecideContext& ctx);
// NotFound; Conflict kDone, kDead, kCancelled when the task is finished.
Decision Decide(const BatchView& view, const CancelRequest& request, const DecideContext& ctx);
// Writes a Retry that starts the task's next round (reply.retry). NotFound;
// Conflict kNotDead (pending or working), kDone, kCancelled, kBusy.
Decision Decide(const BatchView& view, const RetryRequest& request, const DecideContext& ctx);
// Whether `request` purges `task` of `queue`.
bool PurgeMatches(const PurgeRequest& request, const QueueRecord& queue, const TaskRecord& task);
// Writes a Purge op for each of up to request.max matching finished tasks
// (reply.purged; reply.more when more match), in Batch entries. NotFound
// without a live queue.
Decision Decide(const BatchView& view, const PurgeRequest& request, const DecideContext& ctx);
// Writes a Pause op. NotFound without a live queue; Conflict kSuperseded
// when the queue's pause register holds a write stamped at or after it.
Decision Decide(const BatchView& view, const PauseRequest& request, const DecideContext& ctx);

// A LocalRequest's entries, minted by the caller (they carry this node's
// ids and timestamps): Ok with their ids, or Conflict kSuperseded when a
// Create, Delete or Add among them would lose to a queue register stamped
// after it (an entry stamped beyond the clock's bounds, stored before they
// were enforced or in attached mode), which would make it do nothing.
WriteResult DecideLocal(const BatchView& view, std::span<const Event> minted);

// Which entries of an ExternalRequest to store.
struct Admission {
  WriteResult reply;             // InvalidArgument, or Ok with `deferred`
  std::vector<size_t> admitted;  // indexes in the request, in order
  size_t beyond_bounds = 0;      // entries stamped beyond the clock's bounds
};
// An entry owned by `me` makes the request InvalidArgument. The clock
// observes every other entry (docs/registers.md, "Hostile clocks"); one
// beyond its bounds is deferred, unless `store_beyond_bounds` (attached
// mode, which mirrors one log): then it is stored and the clock does not
// follow it.
Admission AdmitExternal(const ExternalRequest& request, const Uuid& me, HybridClock& clock,
                        bool store_beyond_bounds);

// Sets the timestamp of decision->entries[entry] to `when` (the one the log
// gave it, in attached mode) and the expiry of the claims it holds.
void Restamp(Decision* decision, size_t entry, const Hlc& when);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_DECIDE_H_

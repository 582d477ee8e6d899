// The writes a node takes (server/sequencer.h queues them, core/decide.h
// decides them) and what each is answered.
#ifndef PIGTAIL_CORE_WRITE_REQUEST_H_
#define PIGTAIL_CORE_WRITE_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/claim_route.h"
#include "core/conflict_reason.h"
#include "core/event.h"
#include "core/queue_op.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

// New entries owned by this node, one per `data` (POST /log, and the queue
// ops Create and Delete).
struct LocalRequest {
  std::vector<std::string> data;  // JSON texts
  std::vector<Uuid> dependencies;
};

// POST /queue/{name} and /queue/{name}/batch: new tasks, answered with
// their ids in WriteResult::ids.
// REQUIRES: each op reads back unchanged from SerializeQueueOp (an info_json
// that json::serialize wrote).
struct AddRequest {
  std::vector<AddOp> tasks;
};

// Entries from elsewhere, stored verbatim (POST /log/other, /log/batch,
// /event, replication). Those beyond the clock's bounds are deferred (not
// in attached mode).
struct ExternalRequest {
  std::vector<Event> events;
};

// POST /create (`replace` false) and PATCH /queue/{name} (`replace` true):
// a Create of `op.name` with `op`'s settings.
struct CreateRequest {
  CreateOp op;
  bool replace = false;  // false: a new queue (or the same settings again)
};

// POST /queue/{name}/claim: up to `max` claimable tasks of `queue`.
struct ClaimNextRequest {
  std::string queue;
  Uuid worker;
  size_t max = 1;
  uint64_t wait_ms = 0;  // wait this long for work when there is none
  // Null: every claimable task is claimed here. Otherwise a task whose home
  // (core/claim_route.h) is another reachable member is left to it, and
  // its home goes in WriteResult::forward_to.
  std::shared_ptr<const ClaimRoute> route{};
  // Homes not named in forward_to before quiet_until_ns (ctx.now_ns): they
  // had nothing for this request a moment ago.
  std::vector<Uuid> quiet_homes{};
  uint64_t quiet_until_ns = 0;
  // Answer with the entries written (WriteResult::entries): a claim that
  // another node forwarded here stores them before its worker sees a task.
  bool return_entries = false;
  // When not empty, only these tasks are claimed, in this order: the ones a
  // forwarding node knows (it holds their Adds, so its worker can finish them).
  std::vector<Uuid> candidates{};
};

// PUT /queue/{name}/{id}: a claim, or a heartbeat of the worker's lease.
struct ClaimOneRequest {
  std::string queue;
  Uuid task;
  Uuid worker;
  std::optional<uint64_t> lease;  // when given, the lease the worker expects
  std::string progress_json{};    // reported progress (JSON text), empty if none
  bool return_entries = false;    // as ClaimNextRequest::return_entries
};

struct DoneItem {
  Uuid id;
  std::optional<uint64_t> lease;  // when given, must be the worker's current lease
  std::string result_json{};      // the task's result (JSON text), empty if none
};

// DELETE /queue/{name}/{id} (one item) and POST /queue/{name}/done.
struct DoneRequest {
  std::string queue;
  Uuid worker;
  std::vector<DoneItem> items;
};

// POST /queue/{name}/{id}/fail.
struct FailRequest {
  std::string queue;
  Uuid task;
  Uuid worker;
  std::optional<uint64_t> lease;  // when given, must be the worker's current lease
  std::string error;
};

// POST /queue/{name}/{id}/cancel.
struct CancelRequest {
  std::string queue;
  Uuid task;
};

// POST /queue/{name}/{id}/retry: a dead task runs again.
struct RetryRequest {
  std::string queue;
  Uuid task;
};

// POST /queue/{name}/pause (`paused`) and /resume.
struct PauseRequest {
  std::string queue;
  bool paused = true;
};

// POST /queue/{name}/purge: up to `max` finished tasks of `queue` whose
// outcome is among the chosen ones and that finished before
// `finished_before_ns` (when given) are purged for good.
struct PurgeRequest {
  std::string queue;
  bool done = true;
  bool dead = true;
  bool cancelled = true;
  std::optional<uint64_t> finished_before_ns;
  size_t max = 0;
};

using WriteRequest = std::variant<LocalRequest, ExternalRequest, AddRequest, CreateRequest,
                                  ClaimNextRequest, ClaimOneRequest, DoneRequest, FailRequest,
                                  CancelRequest, RetryRequest, PauseRequest, PurgeRequest>;

struct ClaimedTask {
  Uuid id;
  std::string task_name;
  std::string info_json;
  uint64_t lease = 0;
  uint64_t expires_at_ms = 0;  // physical time the lease runs out, ms since epoch
  uint64_t lease_ms = 0;       // the lease length: the task's timeout_ms, else the queue's
  // The attempt this lease is, from 1: lease + 1 (saturating), the count
  // that max_attempts limits (core/task_view.h DecideFail).
  uint64_t attempt = 0;
  Uuid worker;
  bool heartbeat = false;  // ClaimOneRequest: the worker already held this lease
};

// A peer entry stamped beyond the clock's bounds (core/clock.h): not stored
// now; anti-entropy fetches it again later (docs/registers.md).
struct DeferredEntry {
  size_t index = 0;    // in ExternalRequest::events
  Status status;       // OutOfRange, saying which bound and by how much
  std::string reason;  // kAheadReason, kEpochReason or kCountReason
};

// The outcome of one item of a DoneRequest.
struct ItemResult {
  Status status;  // Ok, NotFound or Conflict
  // With a Conflict, why. With Ok and !changed, why nothing was written:
  // kDone or kDoneByAnotherWorker (any worker may mark a task done).
  ConflictReason reason = ConflictReason::kNone;
  bool changed = false;  // Ok: a Done was written
};

// Claimable tasks of one home (core/claim_route.h).
struct HomeTasks {
  Uuid home;
  std::vector<Uuid> tasks;
};

struct WriteResult {
  Status status;  // NotFound / Conflict / InvalidArgument / Unavailable ...
  // With a Conflict, why (ConflictReason::kSuperseded for a LocalRequest: a
  // Create, Delete or Add that would lose to a write stamped after it).
  ConflictReason reason = ConflictReason::kNone;
  std::vector<Uuid> ids;                // LocalRequest: new event ids; AddRequest: task ids
  std::vector<bool> stored;             // ExternalRequest: per event, true if it was new
  std::vector<DeferredEntry> deferred;  // ExternalRequest: the events not stored, in order
  std::vector<ClaimedTask> claimed;     // ClaimNextRequest, ClaimOneRequest
  std::vector<ItemResult> items;        // DoneRequest: per item
  std::optional<FailOp> fail;           // FailRequest: the op written
  std::optional<RetryOp> retry;         // RetryRequest: the op written
  size_t purged = 0;                    // PurgeRequest: tasks purged
  bool more = false;                    // PurgeRequest: matching tasks remain
  // ClaimNextRequest with a route: the homes of claimable tasks left to
  // them, in claim order of their first such task, with up to `max` of
  // those tasks each, in claim order.
  std::vector<HomeTasks> forward_to;
  // ClaimNextRequest, ClaimOneRequest with return_entries: the entries
  // written, as stored.
  std::vector<std::string> entries;
  // CreateRequest: with Ok the settings written; with a Conflict
  // kQueueExists the queue's current ones.
  std::optional<CreateOp> queue;
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_WRITE_REQUEST_H_

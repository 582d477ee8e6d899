// Pigtail's queue operations: the `data` payloads of Potboiler events
// (DESIGN.md §4, docs/queue_ops.md). Externally tagged JSON, e.g.
//   {"Add":{"queue_name":"q","task_name":"t","info":{...}}}
// Fields beyond the original prototype's are optional; an event without them
// keeps its original meaning.
#ifndef PIGTAIL_CORE_QUEUE_OP_H_
#define PIGTAIL_CORE_QUEUE_OP_H_

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

// {"Create":{"name","timeout_ms",["max_attempts"],["backoff_ms"]}}
struct CreateOp {
  std::string name;
  uint64_t timeout_ms = 0;               // lease length for claims
  std::optional<uint32_t> max_attempts;  // default for tasks; none = unlimited
  std::optional<uint64_t> backoff_ms;    // base of exponential retry backoff
  bool operator==(const CreateOp&) const = default;
};

// {"Delete":"name"}
struct DeleteOp {
  std::string name;
  bool operator==(const DeleteOp&) const = default;
};

// {"Add":{"queue_name","task_name","info",["priority"],["delay_ms"],
//         ["max_attempts"],["timeout_ms"],["run_at_ms"]}}. The task id is the
// event id (in a Batch: BatchTaskId).
struct AddOp {
  std::string queue_name;
  std::string task_name;
  std::string info_json;  // `info`, re-serialized compactly
  int64_t priority = 0;   // higher is claimed first
  uint64_t delay_ms = 0;  // not claimable before add time + delay
  std::optional<uint32_t> max_attempts;
  std::optional<uint64_t> timeout_ms;  // per-task lease length
  // Not claimable before this time either (ms since the Unix epoch; 0:
  // no such bound).
  uint64_t run_at_ms = 0;
  bool operator==(const AddOp&) const = default;
};

// {"Progress":{"queue_name","id","worker_id",["lease"],["round"],["progress"]}}:
// claim, or heartbeat of a claim with lease number `lease`. Every task op
// carries the round (see RetryOp) it was decided in; absent means round 0.
// `progress`: what the worker reports of its progress, any JSON value (kept
// as its compact text; empty when absent).
struct ProgressOp {
  std::string queue_name;
  Uuid id;
  Uuid worker_id;
  uint64_t lease = 0;
  uint32_t round = 0;
  std::string progress_json{};
  bool operator==(const ProgressOp&) const = default;
};

// {"Done":{"queue_name","id","worker_id",["lease"],["round"],["result"]}}.
// `result`: the task's result, any JSON value (compact text; empty when
// absent).
struct DoneOp {
  std::string queue_name;
  Uuid id;
  Uuid worker_id;
  uint64_t lease = 0;
  uint32_t round = 0;
  std::string result_json{};
  bool operator==(const DoneOp&) const = default;
};

// {"Fail":{"queue_name","id","worker_id","lease",["error"],["retry_in_ms"],
//          ["dead"],["round"]}}: the attempt with lease `lease` failed. The writer
// decides, from what it knows when it writes, whether attempts ran out
// (`dead`) and how long to back off; projection reads only these fields.
struct FailOp {
  std::string queue_name;
  Uuid id;
  Uuid worker_id;
  uint64_t lease = 0;
  std::string error;
  uint64_t retry_in_ms = 0;
  bool dead = false;
  uint32_t round = 0;
  bool operator==(const FailOp&) const = default;
};

// {"Cancel":{"queue_name","id",["round"]}}
struct CancelOp {
  std::string queue_name;
  Uuid id;
  uint32_t round = 0;
  bool operator==(const CancelOp&) const = default;
};

// Extension {"Retry":{"queue_name","id","round"}}: an operator's retry of a
// dead task. It starts round `round` (one above the task's round when it was
// decided): the task is pending again with fresh attempts, and every op of
// an earlier round loses to it.
struct RetryOp {
  std::string queue_name;
  Uuid id;
  uint32_t round = 0;
  bool operator==(const RetryOp&) const = default;
};

// Extension {"Purge":{"queue_name","id"}}: an operator removes a finished
// task for good. Its status key outranks every other (docs/registers.md,
// "Purging finished tasks"): the task keeps only that key, and no later op
// brings it back.
struct PurgeOp {
  std::string queue_name;
  Uuid id;
  bool operator==(const PurgeOp&) const = default;
};

// The ops that change one task's status register: the ones a Batch holds.
using TaskOp = std::variant<ProgressOp, DoneOp, FailOp, CancelOp, PurgeOp>;

// Extension {"Batch":[op,...]}: 1 to kMaxBatchOps ops in one log entry, e.g.
// the tasks of one batch add, the claims of one claim-next or the dones of
// one batched done. A batch holds Adds (`adds`) or task ops (`ops`), never
// both. Each task op is applied as if it were an entry of its own with the
// batch's id and `when`; so that every register key stays unique, a batch
// names each (queue, task) at most once. The Add at index k is applied as
// if it were an entry of its own with the batch's `when` and the id
// BatchTaskId(batch id, k), which is its task's id. A repeat, a mix of Adds
// and task ops, or any malformed op rejects the whole batch.
struct BatchOp {
  std::vector<TaskOp> ops;
  std::vector<AddOp> adds{};
  bool operator==(const BatchOp&) const = default;
};
inline constexpr size_t kMaxBatchOps = 1000;

// The id of the task that the Add at index `k` of the Batch entry `entry`
// adds: `entry` with k added to its last 62 bits (modulo 2^62; the variant
// bits stay). The first is the entry's id, as a plain Add's task is, and
// the tasks of one batch sort by id in the order added.
Uuid BatchTaskId(const Uuid& entry, size_t k);

// Extension {"Pause":{"queue_name","paused"}}: an operator pauses (true) or
// resumes (false) claims of a queue. Last writer wins, on its own register
// beside the queue's settings (docs/registers.md, "Pausing a queue").
struct PauseOp {
  std::string queue_name;
  bool paused = true;
  bool operator==(const PauseOp&) const = default;
};

using QueueOp = std::variant<CreateOp, DeleteOp, AddOp, ProgressOp, DoneOp, FailOp, CancelOp,
                             BatchOp, RetryOp, PauseOp, PurgeOp>;

// The task op as a QueueOp of its own.
QueueOp ToQueueOp(TaskOp op);

// Appends the ids of the tasks that an entry with id `entry` and op `op`
// adds: its own id for an Add, BatchTaskId(entry, k) for each Add of a
// Batch, none for any other op.
void AppendAddedTaskIds(const QueueOp& op, const Uuid& entry, std::vector<Uuid>* ids);

// `data` that is not a queue operation: it belongs to another application
// sharing the log.
struct ForeignData {
  bool operator==(const ForeignData&) const = default;
};

// `data` tagged as a queue operation whose payload is malformed.
struct RejectedOp {
  std::string reason;
  bool operator==(const RejectedOp&) const = default;
};

// What an event's `data` means to Pigtail.
using OpParse = std::variant<ForeignData, RejectedOp, QueueOp>;

// Classifies `data`: an object with exactly one member whose name is one of
// the op tags is a queue op (or RejectedOp if its payload is malformed);
// anything else is ForeignData. Never throws.
OpParse ParseQueueOp(const boost::json::value& data);
OpParse ParseQueueOpText(std::string_view json_text);

// The JSON text of an op, in the externally tagged form. Optional fields
// are written only when they differ from their defaults, so an op without
// extensions is byte-compatible with the original prototype.
std::string SerializeQueueOp(const QueueOp& op);

// Queue names: 1 to 128 bytes of [A-Za-z0-9_.-]. Returns InvalidArgument
// with the reason otherwise.
Status ValidateQueueName(std::string_view name);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_QUEUE_OP_H_

#include "core/decide.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/registers.h"
#include "core/task_view.h"

namespace pigtail {
namespace {

constexpr uint64_t kNanosPerMilli = 1'000'000;

void SetConflict(WriteResult* reply, ConflictReason reason, const std::string& message) {
  reply->status = Status::Conflict(message);
  reply->reason = reason;
}

// The conflict of a request on a finished task. `worker`: the worker that
// asks (null for a cancel, which has none).
ItemResult Finished(TaskState state, const TaskRecord& task, const Uuid* worker) {
  switch (state) {
    case TaskState::kDone:
      if (worker != nullptr && task.status.worker != *worker) {
        return {Status::Conflict("the task was done by another worker"),
                ConflictReason::kDoneByAnotherWorker};
      }
      return {Status::Conflict("the task is done"), ConflictReason::kDone};
    case TaskState::kDead:
      return {Status::Conflict("the task is dead: its attempts ran out"), ConflictReason::kDead};
    case TaskState::kCancelled:
      return {Status::Conflict("the task was cancelled"), ConflictReason::kCancelled};
    default:
      return {Status::Internal("not a terminal state"), ConflictReason::kNone};
  }
}

void SetResult(WriteResult* reply, ItemResult result) {
  reply->status = std::move(result.status);
  reply->reason = result.reason;
}

const QueueRecord* LiveQueue(const State& state, const std::string& name) {
  const QueueRecord* queue = state.FindQueue(name);
  return queue != nullptr && queue->alive ? queue : nullptr;
}

// A visible task of a live queue, or NotFound.
Status FindTask(const State& state, const std::string& queue_name, const Uuid& id,
                const QueueRecord** queue, const TaskRecord** task) {
  *queue = LiveQueue(state, queue_name);
  if (*queue == nullptr) return NoQueueError(queue_name);
  *task = state.FindTask(queue_name, id);
  if (*task == nullptr || !TaskVisible(**task, *queue)) {
    return NoTaskError(queue_name, id);
  }
  return Status::Ok();
}

// Puts a request's task ops into entries (DecideContext::batch_ops).
class EntryBuilder {
 public:
  EntryBuilder(const DecideContext& ctx, Decision* decision) : ctx_(ctx), decision_(decision) {}
  EntryBuilder(const EntryBuilder&) = delete;
  EntryBuilder& operator=(const EntryBuilder&) = delete;

  struct Placed {
    Hlc when;      // of the entry that holds the op
    size_t entry;  // its index in Decision::entries
  };
  Placed Add(TaskOp op, const Uuid& task) {
    decision_->written.push_back(task);
    std::vector<DecidedEntry>& entries = decision_->entries;
    if (!ctx_.batch_ops) {
      entries.push_back({ToQueueOp(std::move(op)), ctx_.stamp()});
      return {entries.back().when, entries.size() - 1};
    }
    if (pending_.empty()) when_ = ctx_.stamp();
    pending_.push_back(std::move(op));
    Placed placed{when_, entries.size()};
    if (pending_.size() == kMaxBatchOps) Finish();
    return placed;
  }
  // Writes the ops not yet in an entry. REQUIRES: called before the
  // decision is returned.
  void Finish() {
    if (pending_.empty()) return;
    QueueOp op = pending_.size() == 1 ? ToQueueOp(std::move(pending_.front()))
                                      : QueueOp(BatchOp{std::move(pending_)});
    pending_.clear();
    decision_->entries.push_back({std::move(op), when_});
  }

 private:
  const DecideContext& ctx_;
  Decision* const decision_;
  std::vector<TaskOp> pending_;
  Hlc when_;
};

// A claim (or, with `heartbeat`, a renewal of the worker's lease).
// `progress_json`: the progress the worker reports (empty: none).
void Claim(const TaskRecord& task, const QueueRecord& queue, const TaskView& view,
           const Uuid& worker, bool heartbeat, std::string progress_json, EntryBuilder* builder,
           Decision* decision) {
  const uint64_t lease = heartbeat ? view.lease : view.next_lease;
  EntryBuilder::Placed placed =
      builder->Add(ProgressOp{task.queue, task.id, worker, lease, task.status.key.round,
                              std::move(progress_json)},
                   task.id);
  const uint64_t timeout_ms = LeaseTimeoutMs(task, queue);
  const uint64_t expires_ns = LeaseExpiresAtNs(placed.when.time, timeout_ms);
  const uint64_t attempt = AttemptNumber(lease);
  decision->reply.claimed.push_back(ClaimedTask{task.id, task.add->task_name, task.add->info_json,
                                                lease, expires_ns / kNanosPerMilli, timeout_ms,
                                                attempt, worker, heartbeat});
  decision->claims.push_back({placed.entry, timeout_ms, !heartbeat && view.lease_expired});
}

// Finds the task a request names and its view at ctx.now_ns. A missing task
// is NotFound, a finished one a Conflict with its reason (`worker`: the
// worker that asks, null for none). Returns false, with `reply` filled in,
// in both cases.
bool FindUnfinished(const BatchView& view, const std::string& queue_name, const Uuid& id,
                    const Uuid* worker, const DecideContext& ctx, WriteResult* reply,
                    const QueueRecord** queue, const TaskRecord** task, TaskView* task_view) {
  reply->status = FindTask(view.state(), queue_name, id, queue, task);
  if (!reply->status.ok()) return false;
  *task_view = ViewTask(**task, **queue, ctx.now_ns);
  if (!IsFinished(task_view->state)) return true;
  SetResult(reply, Finished(task_view->state, **task, worker));
  return false;
}

// A decision that writes the one op `op` of task `task`.
void WriteOne(const DecideContext& ctx, TaskOp op, const Uuid& task, Decision* decision) {
  EntryBuilder builder(ctx, decision);
  builder.Add(std::move(op), task);
  builder.Finish();
}

// A Conflict kSuperseded: a write of queue `name` stamped `when` would lose
// to the register's write stamped `newer`.
void Superseded(WriteResult* reply, const std::string& name, const Hlc& newer, const Hlc& when) {
  SetConflict(reply, ConflictReason::kSuperseded,
              "queue \"" + name + "\" was written at " + newer.ToJson() +
                  ", after this write's timestamp " + when.ToJson() +
                  " (an entry stamped ahead of the clocks); the write would have no effect");
}

ItemResult Busy() {
  return {Status::Conflict("the task is being changed by another request"), ConflictReason::kBusy};
}

}  // namespace

void BatchView::Accept(const Decision& decision) {
  written_.insert(decision.written.begin(), decision.written.end());
}

CreateOp QueueSettings(const QueueRecord& queue) {
  return CreateOp{queue.name, queue.timeout_ms, queue.max_attempts, queue.backoff_ms};
}

Status NoQueueError(std::string_view name) {
  return Status::NotFound("no queue named \"" + std::string(name) +
                          "\" (create it first: POST /create, or pigtail create)");
}

Status NoTaskError(std::string_view queue, const Uuid& id) {
  return Status::NotFound("no task " + id.ToString() + " in queue \"" + std::string(queue) + "\"");
}

Decision Decide(const BatchView& view, const CreateRequest& request, const DecideContext& ctx) {
  Decision decision;
  WriteResult& reply = decision.reply;
  const std::string& name = request.op.name;
  const QueueRecord* queue = view.state().FindQueue(name);
  const bool live = queue != nullptr && queue->alive;
  if (request.replace && !live) {
    reply.status = NoQueueError(name);
    return decision;
  }
  if (!request.replace && live && QueueSettings(*queue) != request.op) {
    reply.queue = QueueSettings(*queue);
    SetConflict(
        &reply, ConflictReason::kQueueExists,
        "queue \"" + name + "\" exists with other settings; change them with PATCH /queue/{name}");
    return decision;
  }
  const Hlc when = ctx.stamp();
  if (queue != nullptr && !(queue->last.hlc < when)) {
    Superseded(&reply, name, queue->last.hlc, when);
    return decision;
  }
  reply.queue = request.op;
  decision.entries.push_back({QueueOp(request.op), when});
  return decision;
}

Decision Decide(const BatchView& view, const ClaimNextRequest& request, const DecideContext& ctx) {
  Decision decision;
  const State& state = view.state();
  const QueueRecord* queue = LiveQueue(state, request.queue);
  if (queue == nullptr) {
    decision.reply.status = NoQueueError(request.queue);
    return decision;
  }
  if (QueuePaused(*queue)) return decision;  // a long poll waits for a resume
  EntryBuilder builder(ctx, &decision);
  auto claim = [&](const TaskRecord& task) {
    Claim(task, *queue, ViewTask(task, *queue, ctx.now_ns), request.worker, false, {}, &builder,
          &decision);
  };
  if (!request.candidates.empty()) {
    for (const Uuid& id : request.candidates) {
      if (decision.reply.claimed.size() >= request.max) break;
      const TaskRecord* task = state.FindTask(request.queue, id);
      if (task == nullptr || view.Written(id) || !TaskVisible(*task, queue) ||
          !ViewTask(*task, *queue, ctx.now_ns).claimable) {
        continue;
      }
      if (request.route && RemoteHome(*request.route, id)) continue;
      claim(*task);
    }
    builder.Finish();
    return decision;
  }
  // With a route, the walk passes over up to kMaxRoutedSkips tasks left to
  // their homes; tasks of this node's home further on are claimed by the
  // other nodes' forwarded claims, or by a later walk.
  const size_t walk = request.max + view.written_count() + (request.route ? kMaxRoutedSkips : 0);
  const bool quiet = ctx.now_ns < request.quiet_until_ns;
  for (const TaskRecord* task : ClaimableTasks(state, request.queue, ctx.now_ns, walk)) {
    if (decision.reply.claimed.size() >= request.max) break;
    if (view.Written(task->id)) continue;
    if (request.route) {
      if (std::optional<Uuid> home = RemoteHome(*request.route, task->id)) {
        if (quiet && std::ranges::find(request.quiet_homes, *home) != request.quiet_homes.end()) {
          continue;
        }
        std::vector<HomeTasks>& to = decision.reply.forward_to;
        auto it = std::ranges::find(to, *home, &HomeTasks::home);
        if (it == to.end()) it = to.insert(to.end(), HomeTasks{*home, {}});
        if (it->tasks.size() < request.max) it->tasks.push_back(task->id);
        continue;
      }
    }
    claim(*task);
  }
  builder.Finish();
  return decision;
}

Decision Decide(const BatchView& view, const ClaimOneRequest& request, const DecideContext& ctx) {
  Decision decision;
  WriteResult& reply = decision.reply;
  const QueueRecord* queue = nullptr;
  const TaskRecord* task = nullptr;
  reply.status = FindTask(view.state(), request.queue, request.task, &queue, &task);
  if (!reply.status.ok()) return decision;
  if (view.Written(task->id)) {
    SetResult(&reply, Busy());
    return decision;
  }
  const TaskView task_view = ViewTask(*task, *queue, ctx.now_ns);
  if (IsFinished(task_view.state)) {
    SetResult(&reply, Finished(task_view.state, *task, &request.worker));
    return decision;
  }
  bool heartbeat = false;
  if (task_view.state == TaskState::kWorking) {
    if (task->status.worker != request.worker) {
      SetConflict(&reply, ConflictReason::kLeasedByAnotherWorker,
                  "the task is leased by another worker");
      return decision;
    }
    if (request.lease && *request.lease != task_view.lease) {
      SetConflict(&reply, ConflictReason::kLeaseLost,
                  "lease " + std::to_string(*request.lease) + " was lost; the current lease is " +
                      std::to_string(task_view.lease));
      return decision;
    }
    heartbeat = true;
  } else {
    if (QueuePaused(*queue)) {
      SetConflict(&reply, ConflictReason::kPaused, "the queue is paused");
      return decision;
    }
    if (request.lease && *request.lease != task_view.next_lease) {
      SetConflict(&reply, ConflictReason::kLeaseLost,
                  "lease " + std::to_string(*request.lease) + " was lost (it expired)");
      return decision;
    }
    if (!task_view.claimable) {
      SetConflict(&reply, ConflictReason::kNotReady,
                  "the task is not claimable before " +
                      std::to_string(task_view.ready_at_ns / kNanosPerMilli) +
                      " ms since the epoch");
      return decision;
    }
  }
  EntryBuilder builder(ctx, &decision);
  Claim(*task, *queue, task_view, request.worker, heartbeat, request.progress_json, &builder,
        &decision);
  builder.Finish();
  return decision;
}

Decision Decide(const BatchView& view, const DoneRequest& request, const DecideContext& ctx) {
  Decision decision;
  const State& state = view.state();
  if (LiveQueue(state, request.queue) == nullptr) {
    decision.reply.status = NoQueueError(request.queue);
    return decision;
  }
  std::unordered_set<Uuid> written;  // by this request
  EntryBuilder builder(ctx, &decision);
  for (const DoneItem& item : request.items) {
    const QueueRecord* queue = nullptr;
    const TaskRecord* task = nullptr;
    ItemResult result{FindTask(state, request.queue, item.id, &queue, &task)};
    if (result.status.ok()) {
      const TaskView task_view = ViewTask(*task, *queue, ctx.now_ns);
      if (task_view.state == TaskState::kDone) {
        // Any worker may mark a task done: not an error, but nothing changes.
        result.reason = Finished(task_view.state, *task, &request.worker).reason;
      } else if (task_view.state == TaskState::kDead || task_view.state == TaskState::kCancelled) {
        result = Finished(task_view.state, *task, &request.worker);
      } else if (item.lease &&
                 (task->status.key.phase != Phase::kWorking ||
                  task->status.worker != request.worker || task->status.key.lease != *item.lease)) {
        result = {Status::Conflict("lease " + std::to_string(*item.lease) +
                                   " is not held by this worker"),
                  ConflictReason::kLeaseLost};
      } else if (view.Written(item.id) || written.contains(item.id)) {
        result = Busy();
      } else {
        builder.Add(
            DoneOp{request.queue, item.id, request.worker, item.lease.value_or(task_view.lease),
                   task->status.key.round, item.result_json},
            item.id);
        written.insert(item.id);
        result.changed = true;
      }
    }
    decision.reply.items.push_back(std::move(result));
  }
  builder.Finish();
  return decision;
}

Decision Decide(const BatchView& view, const FailRequest& request, const DecideContext& ctx) {
  Decision decision;
  WriteResult& reply = decision.reply;
  const QueueRecord* queue = nullptr;
  const TaskRecord* task = nullptr;
  TaskView task_view;
  if (!FindUnfinished(view, request.queue, request.task, &request.worker, ctx, &reply, &queue,
                      &task, &task_view)) {
    return decision;
  }
  // The holder may fail its attempt even after the lease ran out, as long
  // as nobody claimed the task since.
  if (task->status.key.phase != Phase::kWorking || task->status.worker != request.worker ||
      (request.lease && task->status.key.lease != *request.lease)) {
    SetConflict(&reply, ConflictReason::kLeaseLost, "this worker does not hold the task's lease");
    return decision;
  }
  if (view.Written(task->id)) {
    SetResult(&reply, Busy());
    return decision;
  }
  FailOp op = DecideFail(*task, *queue, request.worker, task->status.key.lease, request.error);
  reply.fail = op;
  WriteOne(ctx, std::move(op), task->id, &decision);
  return decision;
}

Decision Decide(const BatchView& view, const CancelRequest& request, const DecideContext& ctx) {
  Decision decision;
  const QueueRecord* queue = nullptr;
  const TaskRecord* task = nullptr;
  TaskView task_view;
  if (!FindUnfinished(view, request.queue, request.task, nullptr, ctx, &decision.reply, &queue,
                      &task, &task_view)) {
    return decision;
  }
  // A cancel wins over any other write of the task, also one of this batch.
  WriteOne(ctx, CancelOp{request.queue, request.task, task->status.key.round}, task->id, &decision);
  return decision;
}

Decision Decide(const BatchView& view, const RetryRequest& request, const DecideContext& ctx) {
  Decision decision;
  WriteResult& reply = decision.reply;
  const QueueRecord* queue = nullptr;
  const TaskRecord* task = nullptr;
  reply.status = FindTask(view.state(), request.queue, request.task, &queue, &task);
  if (!reply.status.ok()) return decision;
  const TaskView task_view = ViewTask(*task, *queue, ctx.now_ns);
  if (task_view.state == TaskState::kDone || task_view.state == TaskState::kCancelled) {
    SetResult(&reply, Finished(task_view.state, *task, nullptr));
    return decision;
  }
  if (task_view.state != TaskState::kDead) {
    SetConflict(&reply, ConflictReason::kNotDead,
                "only a dead task can be retried; this one is " +
                    std::string(TaskStateName(task_view.state)));
    return decision;
  }
  if (view.Written(task->id)) {
    SetResult(&reply, Busy());
    return decision;
  }
  const uint32_t round = task->status.key.round;
  if (round + 1 >= kPurgeRound) {
    reply.status = Status::OutOfRange("the task was retried as often as it can be");
    return decision;
  }
  RetryOp op{request.queue, request.task, round + 1};
  reply.retry = op;
  decision.written.push_back(task->id);
  decision.entries.push_back({QueueOp(std::move(op)), ctx.stamp()});
  return decision;
}

bool PurgeMatches(const PurgeRequest& request, const QueueRecord& queue, const TaskRecord& task) {
  if (!TaskVisible(task, &queue)) return false;
  const StatusKey& key = task.status.key;
  const bool outcome = (key.outcome == Outcome::kDone && request.done) ||
                       (key.outcome == Outcome::kDead && request.dead) ||
                       (key.outcome == Outcome::kCancelled && request.cancelled);
  return outcome && (!request.finished_before_ns || key.hlc.time < *request.finished_before_ns);
}

Decision Decide(const BatchView& view, const PurgeRequest& request, const DecideContext& ctx) {
  Decision decision;
  const QueueRecord* queue = LiveQueue(view.state(), request.queue);
  if (queue == nullptr) {
    decision.reply.status = NoQueueError(request.queue);
    return decision;
  }
  const State::QueueSlot* slot = view.state().FindSlot(request.queue);
  auto matches = [&](const TaskRecord& task) {
    return !view.Written(task.id) && PurgeMatches(request, *queue, task);
  };
  EntryBuilder builder(ctx, &decision);
  for (const auto& [id, task] : slot->tasks) {
    if (!matches(task)) continue;
    if (decision.reply.purged == request.max) {
      decision.reply.more = true;
      break;
    }
    builder.Add(PurgeOp{request.queue, id}, id);
    ++decision.reply.purged;
  }
  builder.Finish();
  return decision;
}

Decision Decide(const BatchView& view, const AddRequest& request, const DecideContext& ctx) {
  Decision decision;
  const size_t per_entry = ctx.batch_ops ? kMaxBatchOps : 1;
  for (size_t first = 0; first < request.tasks.size(); first += per_entry) {
    const size_t count = std::min(per_entry, request.tasks.size() - first);
    const Hlc when = ctx.stamp();
    for (size_t i = first; i < first + count; ++i) {
      const std::string& name = request.tasks[i].queue_name;
      const QueueRecord* queue = view.state().FindQueue(name);
      if (queue != nullptr && queue->last_delete && !(when > queue->last_delete->hlc)) {
        Superseded(&decision.reply, name, queue->last_delete->hlc, when);
        decision.entries.clear();
        return decision;
      }
    }
    auto begin = request.tasks.begin() + static_cast<ptrdiff_t>(first);
    QueueOp op = count == 1 ? QueueOp(*begin) : QueueOp(BatchOp{{}, {begin, begin + count}});
    decision.entries.push_back({std::move(op), when});
  }
  return decision;
}

Decision Decide(const BatchView& view, const PauseRequest& request, const DecideContext& ctx) {
  Decision decision;
  const QueueRecord* queue = LiveQueue(view.state(), request.queue);
  if (queue == nullptr) {
    decision.reply.status = NoQueueError(request.queue);
    return decision;
  }
  const Hlc when = ctx.stamp();
  if (queue->last_pause && !(queue->last_pause->hlc < when)) {
    Superseded(&decision.reply, request.queue, queue->last_pause->hlc, when);
    return decision;
  }
  decision.entries.push_back({QueueOp(PauseOp{request.queue, request.paused}), when});
  return decision;
}

WriteResult DecideLocal(const BatchView& view, std::span<const Event> minted) {
  WriteResult reply;
  for (const Event& event : minted) {
    const QueueOp* op = std::get_if<QueueOp>(&event.op);
    const std::string* name = nullptr;
    QueueWrite kind = QueueWrite::kCreateOrDelete;
    if (op != nullptr) {
      if (const auto* create = std::get_if<CreateOp>(op)) name = &create->name;
      if (const auto* del = std::get_if<DeleteOp>(op)) name = &del->name;
      if (const auto* add = std::get_if<AddOp>(op)) {
        name = &add->queue_name;
        kind = QueueWrite::kAdd;
      }
    }
    const QueueRecord* queue = name == nullptr ? nullptr : view.state().FindQueue(*name);
    if (name != nullptr && !QueueWriteTakesEffect(queue, kind, Stamp{event.when, event.id})) {
      const Stamp& newer = kind == QueueWrite::kAdd ? *queue->last_delete : queue->last;
      Superseded(&reply, *name, newer.hlc, event.when);
      reply.ids.clear();
      return reply;
    }
    reply.ids.push_back(event.id);
  }
  return reply;
}

Admission AdmitExternal(const ExternalRequest& request, const Uuid& me, HybridClock& clock,
                        bool store_beyond_bounds) {
  Admission admission;
  for (size_t k = 0; k < request.events.size(); ++k) {
    const Event& event = request.events[k];
    if (event.owner == me) {
      admission.reply.status = Status::InvalidArgument("the entry's owner is this node");
      admission.reply.deferred.clear();
      admission.admitted.clear();
      return admission;
    }
    DeferredEntry deferral{k, Status::Ok(), ""};
    deferral.status = clock.Observe(event.when, &deferral.reason);
    if (!deferral.status.ok()) {
      ++admission.beyond_bounds;
      if (!store_beyond_bounds) {
        deferral.status = Status::OutOfRange(
            "entry " + event.id.ToString() + " deferred: " + deferral.status.message() +
            "; not stored now, fetched again once the node's clock reaches it");
        admission.reply.deferred.push_back(std::move(deferral));
        continue;
      }
    }
    admission.admitted.push_back(k);
  }
  return admission;
}

void Restamp(Decision* decision, size_t entry, const Hlc& when) {
  decision->entries.at(entry).when = when;
  for (size_t i = 0; i < decision->claims.size(); ++i) {
    const ClaimEntry& claim = decision->claims[i];
    if (claim.entry != entry) continue;
    decision->reply.claimed[i].expires_at_ms =
        LeaseExpiresAtNs(when.time, claim.timeout_ms) / kNanosPerMilli;
  }
}

}  // namespace pigtail

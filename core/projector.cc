#include "core/projector.h"

#include <limits>
#include <variant>

namespace pigtail {
namespace {

class OpApplier {
 public:
  OpApplier(const Event& event, State* state) : event_(event), state_(state) {}

  ApplyOutcome operator()(const CreateOp& op) const {
    QueueRecord q = CurrentQueue(op.name);
    if (!(Stamp() > q.last)) return Unchanged();
    q.last = Stamp();
    q.alive = true;
    q.timeout_ms = op.timeout_ms;
    q.max_attempts = op.max_attempts;
    q.backoff_ms = op.backoff_ms;
    state_->PutQueue(std::move(q));
    return Changed();
  }

  ApplyOutcome operator()(const DeleteOp& op) const {
    QueueRecord q = CurrentQueue(op.name);
    bool changed = false;
    if (!q.last_delete || Stamp() > *q.last_delete) {
      q.last_delete = Stamp();
      changed = true;
    }
    if (Stamp() > q.last) {
      q.last = Stamp();
      q.alive = false;
      q.timeout_ms = 0;
      q.max_attempts.reset();
      q.backoff_ms.reset();
      changed = true;
    }
    if (!changed) return Unchanged();
    state_->PutQueue(std::move(q));
    return Changed();
  }

  ApplyOutcome operator()(const AddOp& op) const { return ApplyAdd(op, event_.id); }

  ApplyOutcome operator()(const ProgressOp& op) const {
    TaskStatus s = Status(op.round, Outcome::kLive, op.lease, Phase::kWorking, op.worker_id);
    if (op.progress_json.empty()) return MergeInto(op.queue_name, op.id, s);
    TaskProgress progress{Attempt(op.round, op.lease), op.progress_json};
    return MergeInto(op.queue_name, op.id, s,
                     [&](TaskRecord& t) { return MergeProgress(&t, progress); });
  }

  ApplyOutcome operator()(const DoneOp& op) const {
    return MergeInto(op.queue_name, op.id,
                     Status(op.round, Outcome::kDone, op.lease, Phase::kWorking, op.worker_id),
                     NoHistory, op.result_json);
  }

  ApplyOutcome operator()(const FailOp& op) const {
    TaskStatus s;
    if (op.dead) {
      s = Status(op.round, Outcome::kDead, op.lease, Phase::kPending, op.worker_id);
    } else {
      if (op.lease == std::numeric_limits<uint64_t>::max()) {
        return Reject("Fail: lease is at its maximum; no further attempt is possible");
      }
      s = Status(op.round, Outcome::kLive, op.lease + 1, Phase::kPending, op.worker_id);
      s.retry_in_ms = op.retry_in_ms;
    }
    s.error = op.error;
    FailedAttempt failure{Attempt(op.round, op.lease), op.worker_id, op.error};
    return MergeInto(op.queue_name, op.id, s,
                     [&](TaskRecord& t) { return MergeFailure(&t, failure); });
  }

  ApplyOutcome operator()(const CancelOp& op) const {
    return MergeInto(op.queue_name, op.id,
                     Status(op.round, Outcome::kCancelled, 0, Phase::kPending, Uuid()));
  }

  // The top of the status order: the task keeps only this key.
  ApplyOutcome operator()(const PurgeOp& op) const {
    return MergeInto(op.queue_name, op.id,
                     Status(kPurgeRound, Outcome::kPurged, 0, Phase::kPending, Uuid()));
  }

  ApplyOutcome operator()(const PauseOp& op) const {
    QueueRecord q = CurrentQueue(op.queue_name);
    if (q.last_pause && !(Stamp() > *q.last_pause)) return Unchanged();
    q.last_pause = Stamp();
    q.paused = op.paused;
    state_->PutQueue(std::move(q));
    return Changed();
  }

  // A new round, pending from its start with no attempts used.
  ApplyOutcome operator()(const RetryOp& op) const {
    return MergeInto(op.queue_name, op.id,
                     Status(op.round, Outcome::kLive, 0, Phase::kPending, Uuid()));
  }

  // Each op as if it were an entry of its own with the batch's stamp (an
  // Add: with its task's id); the ops name distinct tasks, so their order
  // does not matter. Rejected if any op is (the others still apply), else
  // changed if any op changed.
  ApplyOutcome operator()(const BatchOp& batch) const {
    ApplyOutcome outcome = Unchanged();
    for (size_t k = 0; k < batch.adds.size(); ++k) {
      if (ApplyAdd(batch.adds[k], BatchTaskId(event_.id, k)).kind == ApplyKind::kChanged) {
        outcome = Changed();
      }
    }
    for (const TaskOp& op : batch.ops) {
      ApplyOutcome one = std::visit(*this, op);
      if (outcome.kind == ApplyKind::kRejected) continue;
      if (one.kind != ApplyKind::kUnchanged) outcome = std::move(one);
    }
    return outcome;
  }

  ApplyOutcome Reject(std::string reason) const {
    state_->PutRejected(event_.id, reason);
    return ApplyOutcome{ApplyKind::kRejected, std::move(reason)};
  }

 private:
  pigtail::Stamp Stamp() const { return pigtail::Stamp{event_.when, event_.id}; }

  // Adds task `id`, as an entry with that id would. The task keeps the
  // least Add (TaskAdd's order): ids are unique to an entry, but a Batch's
  // derived ones could meet another's, and the least wins on every replica
  // whatever the order it applies them in.
  ApplyOutcome ApplyAdd(const AddOp& op, const Uuid& id) const {
    bool changed = state_->UpdateTask(op.queue_name, id, [&](TaskRecord& t, bool) {
      bool c = false;
      TaskAdd add{event_.when, op.task_name,    op.info_json,  op.priority,
                  op.delay_ms, op.max_attempts, op.timeout_ms, op.run_at_ms};
      if (!Purged(t) && (!t.add || add < *t.add)) {
        t.add = std::move(add);
        c = true;
      }
      TaskStatus pending = Status(0, Outcome::kLive, 0, Phase::kPending, Uuid());
      pending.key.event_id = id;
      c |= MergeTaskStatus(&t, pending);
      return c;
    });
    return changed ? Changed() : Unchanged();
  }

  TaskStatus Status(uint32_t round, Outcome outcome, uint64_t lease, Phase phase,
                    const Uuid& worker) const {
    TaskStatus s;
    s.key = StatusKey{round, outcome, lease, phase, event_.when, event_.id};
    s.worker = worker;
    return s;
  }

  AttemptStamp Attempt(uint32_t round, uint64_t lease) const {
    return AttemptStamp{round, lease, event_.when, event_.id};
  }

  QueueRecord CurrentQueue(const std::string& name) const {
    if (const QueueRecord* q = state_->FindQueue(name)) return *q;
    QueueRecord q;
    q.name = name;
    return q;
  }

  // Merges the status `s`, then calls `merge_history(task)` (true if it
  // changed the task) after it, so a Purge drops history first. A task never
  // seen before starts from the least status key; it is written whether or
  // not `s` beats that.
  // `result_json`: the result the op writes with its status (a Done's).
  template <typename MergeHistory>
  ApplyOutcome MergeInto(const std::string& queue, const Uuid& id, const TaskStatus& s,
                         MergeHistory merge_history, std::string_view result_json = {}) const {
    bool changed = state_->UpdateTask(queue, id, [&](TaskRecord& t, bool created) {
      bool c = MergeTaskStatus(&t, s, result_json);
      c |= merge_history(t);
      return c || created;
    });
    return changed ? Changed() : Unchanged();
  }
  ApplyOutcome MergeInto(const std::string& queue, const Uuid& id, const TaskStatus& s) const {
    return MergeInto(queue, id, s, NoHistory);
  }
  static bool NoHistory(TaskRecord&) { return false; }

  static ApplyOutcome Changed() { return ApplyOutcome{ApplyKind::kChanged, {}}; }
  static ApplyOutcome Unchanged() { return ApplyOutcome{ApplyKind::kUnchanged, {}}; }

  const Event& event_;
  State* state_;
};

}  // namespace

void ApplyStats::Count(const ApplyOutcome& outcome) {
  switch (outcome.kind) {
    case ApplyKind::kChanged:
      ++changed;
      break;
    case ApplyKind::kUnchanged:
      ++unchanged;
      break;
    case ApplyKind::kForeign:
      ++foreign;
      break;
    case ApplyKind::kRejected:
      ++rejected;
      break;
  }
}

ApplyOutcome ApplyEvent(const Event& event, State* state) {
  OpApplier applier(event, state);
  if (std::holds_alternative<ForeignData>(event.op)) return ApplyOutcome{ApplyKind::kForeign, {}};
  if (const auto* rejected = std::get_if<RejectedOp>(&event.op)) {
    return applier.Reject(rejected->reason);
  }
  return std::visit(applier, std::get<QueueOp>(event.op));
}

}  // namespace pigtail

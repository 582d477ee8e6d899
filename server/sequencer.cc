#include "server/sequencer.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>
#include <utility>
#include <variant>

#include "core/projector.h"
#include "core/task_view.h"
#include "server/log.h"
#include "server/thread_name.h"

namespace pigtail {
namespace {

constexpr uint64_t kNanosPerMilli = 1'000'000;
// Batches whose replies hold at least this many claimed tasks and done
// items are answered on the replies thread.
constexpr size_t kRepliesHandedOff = 64;
// Most claim times kept for run time metrics.
constexpr size_t kMaxClaimTimes = 1'000'000;
// How often the stores are probed while idle (BackendHealth).
constexpr std::chrono::seconds kProbeInterval{1};

// Adds the queues whose waiting claims an applied op may satisfy.
void AddQueuesToWake(const Event& event, std::vector<std::string>* queues) {
  const QueueOp* op = std::get_if<QueueOp>(&event.op);
  if (op == nullptr) return;
  auto wake = [&](const std::string& q) {
    if (std::find(queues->begin(), queues->end(), q) == queues->end()) queues->push_back(q);
  };
  if (const auto* add = std::get_if<AddOp>(op)) wake(add->queue_name);
  if (const auto* fail = std::get_if<FailOp>(op)) wake(fail->queue_name);
  if (const auto* create = std::get_if<CreateOp>(op)) wake(create->name);
  if (const auto* batch = std::get_if<BatchOp>(op)) {
    for (const TaskOp& t : batch->ops) {
      if (const auto* fail = std::get_if<FailOp>(&t)) wake(fail->queue_name);
    }
  }
}

Status ConflictFor(TaskState state, const TaskRecord& task, const Uuid& worker,
                   std::string* reason) {
  switch (state) {
    case TaskState::kDone:
      *reason = task.status.worker == worker ? "done" : "done_by_another_worker";
      return Status::Conflict(task.status.worker == worker ? "the task is done"
                                                           : "the task was done by another worker");
    case TaskState::kDead:
      *reason = "dead";
      return Status::Conflict("the task is dead: its attempts ran out");
    case TaskState::kCancelled:
      *reason = "cancelled";
      return Status::Conflict("the task was cancelled");
    default:
      *reason = "internal";
      return Status::Internal("not a terminal state");
  }
}

// A local Create, Delete or Add that would lose to a queue register stamped
// after it (an entry stamped beyond the clock's bounds, stored before they
// were enforced or in attached mode) would do nothing: Conflict
// "superseded" instead of a success that did nothing.
Status CheckTakesEffect(const Event& event, const State& state, std::string* reason) {
  const QueueOp* op = std::get_if<QueueOp>(&event.op);
  if (op == nullptr) return Status::Ok();
  const std::string* name = nullptr;
  QueueWrite kind = QueueWrite::kCreateOrDelete;
  if (const auto* create = std::get_if<CreateOp>(op)) name = &create->name;
  if (const auto* del = std::get_if<DeleteOp>(op)) name = &del->name;
  if (const auto* add = std::get_if<AddOp>(op)) {
    name = &add->queue_name;
    kind = QueueWrite::kAdd;
  }
  if (name == nullptr) return Status::Ok();
  const QueueRecord* queue = state.FindQueue(*name);
  if (QueueWriteTakesEffect(queue, kind, Stamp{event.when, event.id})) return Status::Ok();
  const Stamp& newer = kind == QueueWrite::kAdd ? *queue->last_delete : queue->last;
  *reason = "superseded";
  return Status::Conflict(
      "queue \"" + *name + "\" was written at " + newer.hlc.ToJson() +
      ", after this write's timestamp " + event.when.ToJson() +
      " (an entry stamped ahead of the clocks); the write would have no effect");
}

}  // namespace

Sequencer::Sequencer(Node* node, const SequencerOptions& options)
    : node_(node), options_(options) {}

Sequencer::~Sequencer() { Stop(); }

void Sequencer::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  StateCommitter::Listener listener;
  // The changes are kept and committed again (state_committer.h); the
  // checkpoint moves only with them, and the log holds every write.
  listener.on_down = [this](const Status& error) {
    health_.Report(BackendHealth::kState, error);
    log::Warn("state store commits failing; changes kept in memory, retrying with backoff",
              {{"error", error.ToString()}});
  };
  listener.on_up = [this](uint64_t failures, std::chrono::milliseconds down_for) {
    health_.Report(BackendHealth::kState, Status::Ok());
    log::Info("state store commits resumed; caught up",
              {{"failed_commits", failures}, {"down_ms", static_cast<int64_t>(down_for.count())}});
  };
  listener.on_retry = [this] {
    {
      std::lock_guard guard(mu_);
      commit_failed_ = true;
    }
    cv_.notify_all();
  };
  committer_ = std::make_unique<StateCommitter>(node_->state_store(), std::move(listener));
  health_.StartProbing(node_->log(), node_->state_store(), kProbeInterval);
  replier_ = std::make_unique<SerialExecutor>("replies");
  thread_ = std::thread([this] {
    SetThreadName("sequencer");
    Run();
  });
}

void Sequencer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  replier_.reset();  // runs the last callbacks
  committer_.reset();
  health_.StopProbing();
  // Never started: answer whatever was queued.
  std::deque<Pending> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (Pending& p : left) {
    WriteResult r;
    r.status = Status::Unavailable("the server is shutting down");
    p.done(std::move(r));
  }
}

void Sequencer::BeginShutdown() {
  {
    std::lock_guard lock(mu_);
    draining_ = true;
  }
  cv_.notify_all();
}

void Sequencer::Submit(WriteRequest request, WriteCallback done) {
  Pending p{std::move(request), std::move(done), {}};
  if (p.request.kind == WriteKind::kClaimNext) {
    p.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(p.request.wait_ms);
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(p));
      cv_.notify_one();
      return;
    }
  }
  WriteResult r;
  r.status = Status::Unavailable("the server is shutting down");
  p.done(std::move(r));
}

void Sequencer::Run() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_tick = Clock::now();
  for (;;) {
    std::vector<Pending> batch;
    bool stop = false;
    {
      std::unique_lock lock(mu_);
      auto ready = [&] {
        return !queue_.empty() || stopping_ || !woken_queues_.empty() ||
               (draining_ && !waiters_.empty()) || commit_failed_;
      };
      std::optional<Clock::time_point> wake;
      if (!waiters_.empty()) {
        wake = last_tick + options_.wait_tick;
        for (const Pending& w : waiters_) wake = std::min(*wake, w.deadline);
      }
      if (uncommitted_seq_ != 0) {
        Clock::time_point due = last_state_commit_ + options_.state_commit_interval;
        wake = wake ? std::min(*wake, due) : due;
      }
      if (committer_) {
        if (std::optional<Clock::time_point> retry = committer_->retry_at()) {
          // Failed commits are retried even when nothing new arrives.
          Clock::time_point due =
              std::max(*retry, last_state_commit_ + options_.state_commit_interval);
          wake = wake ? std::min(*wake, due) : due;
        }
      }
      if (wake) {
        cv_.wait_until(lock, *wake, ready);
      } else {
        cv_.wait(lock, ready);
      }
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stop = stopping_ && queue_.empty();
      commit_failed_ = false;  // the wake-up below accounts for its retry
    }
    const bool draining = stop || draining_;
    Clock::time_point now = Clock::now();
    bool tick = now >= last_tick + options_.wait_tick;
    if (tick) last_tick = now;
    if (!waiters_.empty()) {
      std::vector<Pending> keep;
      for (Pending& w : waiters_) {
        bool due = draining || tick || now >= w.deadline ||
                   std::find(woken_queues_.begin(), woken_queues_.end(), w.request.queue) !=
                       woken_queues_.end();
        (due ? batch : keep).push_back(std::move(w));
      }
      waiters_ = std::move(keep);
    }
    woken_queues_.clear();
    if (!batch.empty()) {
      stopping_batch_ = draining;
      ProcessBatch(std::move(batch));
    }
    const bool held = committer_->holding() || refused_.has_value();
    if ((uncommitted_seq_ != 0 || held) &&
        (stop || Clock::now() >= last_state_commit_ + options_.state_commit_interval)) {
      CommitState(/*final=*/stop);
    }
    if (stop) break;
  }
}

void Sequencer::CommitState(bool final) {
  last_state_commit_ = std::chrono::steady_clock::now();
  if (final) {
    committer_->Wait();
  } else if (!committer_->ready()) {
    return;  // retried after another interval, with the newer changes merged in
  }
  if (uncommitted_seq_ == 0 && !committer_->holding() && !refused_) return;
  // With nothing new, an empty batch: the committer merges it into the
  // failed changes it holds and commits them again.
  StateBatch changes;
  if (uncommitted_seq_ != 0) {
    node_->WriteLocked([&](State* s) { changes = s->TakeChanges(uncommitted_seq_); });
    uncommitted_seq_ = 0;
  }
  if (refused_) {
    MergeNewerBatch(&*refused_, std::move(changes));
    changes = std::move(*refused_);
    refused_.reset();
  }
  // Only this thread offers, and the committer was idle, so it is taken;
  // should it not be, the changes wait here for the next interval.
  if (!committer_->Offer(&changes, /*force=*/final)) refused_ = std::move(changes);
  if (final) {
    committer_->Wait();
    if (committer_->holding()) {
      log::Error(
          "state store commits still failing at stop; the next start catches up "
          "from the log");
    }
  }
}

void Sequencer::ProcessBatch(std::vector<Pending> batch) {
  struct Slot {
    size_t first_event = 0;
    size_t end_event = 0;
    WriteResult result;
    bool parked = false;
  };
  std::vector<Slot> slots(batch.size());
  std::vector<Event> events;
  std::unordered_set<Uuid> touched;  // tasks this batch already writes
  const State& state = node_->WriterView();
  const uint64_t now_ns = node_->NowNanos();
  const auto steady_now = std::chrono::steady_clock::now();
  const Uuid& me = node_->id();
  std::optional<Uuid> head = node_->head();
  uint64_t claims = 0;
  uint64_t expiries = 0;
  // Metrics of the requests decided here, counted once the batch is in the
  // log and only for requests that succeeded: (request, queue, run time).
  struct RunTime {
    size_t request;
    std::string queue;
    uint64_t ns;
  };
  struct Failure {
    size_t request;
    std::string queue;
    bool dead;
  };
  std::vector<RunTime> run_times;
  std::vector<Failure> failures;
  size_t request_index = 0;
  // Whether every event of the batch has an id minted here just now.
  bool all_fresh = !options_.external_write;

  auto add_local = [&](std::string data, const std::vector<Uuid>& deps) -> Result<Uuid> {
    if (options_.external_write) {
      PIGTAIL_ASSIGN_OR_RETURN(Event e, options_.external_write(data, deps));
      (void)node_->clock().Observe(e.when);
      Uuid id = e.id;
      events.push_back(std::move(e));
      return id;
    }
    NewEvent fields{Uuid::Random(), me, head, node_->clock().Now(), std::move(data), deps};
    PIGTAIL_ASSIGN_OR_RETURN(Event e, MakeEvent(fields));
    head = fields.id;
    events.push_back(std::move(e));
    return fields.id;
  };
  // A queue op decided here: its event is built without parsing it back.
  auto add_op = [&](QueueOp op, const Hlc& when) -> Status {
    if (options_.external_write) return add_local(SerializeQueueOp(op), {}).status();
    const Uuid id = Uuid::Random();
    events.push_back(MakeOpEvent(id, me, head, when, std::move(op)));
    head = id;
    return Status::Ok();
  };
  // The task ops of the request being decided. With batching they become
  // one Batch entry per kMaxBatchOps ops (an op alone stays a plain op)
  // when the request ends; without, an entry each, now.
  const bool batching = options_.batch_ops && !options_.external_write;
  std::vector<TaskOp> request_ops;
  Hlc request_when;
  auto flush_task_ops = [&]() -> Status {
    if (request_ops.empty()) return Status::Ok();
    QueueOp op = request_ops.size() == 1 ? ToQueueOp(std::move(request_ops.front()))
                                         : QueueOp(BatchOp{std::move(request_ops)});
    request_ops.clear();
    return add_op(std::move(op), request_when);
  };
  // Returns the `when` of the entry that will hold the op.
  auto add_task_op = [&](TaskOp op) -> Result<Hlc> {
    if (!batching) {
      PIGTAIL_RETURN_IF_ERROR(add_op(ToQueueOp(std::move(op)), node_->clock().Now()));
      return events.back().when;
    }
    if (request_ops.empty()) request_when = node_->clock().Now();
    request_ops.push_back(std::move(op));
    const Hlc when = request_when;
    if (request_ops.size() == kMaxBatchOps) PIGTAIL_RETURN_IF_ERROR(flush_task_ops());
    return when;
  };
  auto claim = [&](const TaskRecord& task, const QueueRecord& queue, const TaskView& view,
                   const Uuid& worker, bool heartbeat, WriteResult* result) -> Status {
    const uint64_t lease = heartbeat ? view.lease : view.next_lease;
    PIGTAIL_ASSIGN_OR_RETURN(Hlc when, add_task_op(ProgressOp{task.queue, task.id, worker, lease}));
    const uint64_t expires_ns = LeaseExpiresAtNs(when.time, LeaseTimeoutMs(task, queue));
    result->claimed.push_back(ClaimedTask{task.id, task.add->task_name, task.add->info_json, lease,
                                          expires_ns / kNanosPerMilli, worker, heartbeat});
    touched.insert(task.id);
    if (!heartbeat) {
      ++claims;
      if (view.lease_expired) {
        ++expiries;
        (void)lease_storm_.Add(task.queue, 1, steady_now);
      }
      if (claim_ns_.size() >= kMaxClaimTimes) claim_ns_.clear();
      claim_ns_[task.id] = when.time;
    }
    return Status::Ok();
  };
  // Looks up a visible task of a live queue.
  auto find = [&](const std::string& queue_name, const Uuid& id, const QueueRecord** queue,
                  const TaskRecord** task) -> Status {
    *queue = state.FindQueue(queue_name);
    if (*queue == nullptr || !(*queue)->alive) {
      return Status::NotFound("no queue named \"" + queue_name + "\"");
    }
    *task = state.FindTask(queue_name, id);
    if (*task == nullptr || !TaskVisible(**task, *queue)) {
      return Status::NotFound("no task " + id.ToString() + " in queue \"" + queue_name + "\"");
    }
    return Status::Ok();
  };

  // Finds the task a request names and its read-time view. A missing task is
  // NotFound; a finished one (done, dead, cancelled) is a Conflict with its
  // reason. Returns false, with `result` filled in, in both cases.
  auto find_unfinished = [&](const WriteRequest& req, WriteResult* result,
                             const QueueRecord** queue, const TaskRecord** task,
                             TaskView* view) -> bool {
    result->status = find(req.queue, req.task, queue, task);
    if (!result->status.ok()) return false;
    *view = ViewTask(**task, **queue, now_ns);
    if (IsFinished(view->state)) {
      result->status = ConflictFor(view->state, **task, req.worker, &result->reason);
      return false;
    }
    return true;
  };

  for (size_t i = 0; i < batch.size(); ++i) {
    const WriteRequest& req = batch[i].request;
    Slot& slot = slots[i];
    request_index = i;
    WriteResult& result = slot.result;
    slot.first_event = events.size();
    const std::optional<Uuid> head_before = head;
    switch (req.kind) {
      case WriteKind::kLocal: {
        for (const std::string& data : req.data) {
          Result<Uuid> id = add_local(data, req.dependencies);
          if (!id.ok()) {
            result.status = id.status();
            break;
          }
          result.status = CheckTakesEffect(events.back(), state, &result.reason);
          if (!result.status.ok()) break;
          result.ids.push_back(*id);
        }
        break;
      }
      case WriteKind::kExternal: {
        for (size_t k = 0; k < req.events.size(); ++k) {
          const Event& e = req.events[k];
          if (e.owner == me) {
            result.status = Status::InvalidArgument("the entry's owner is this node");
            break;
          }
          // Admission (docs/registers.md, "Hostile clocks"): an entry
          // beyond the clock's bounds is deferred, not stored; anti-entropy
          // fetches it again. Attached mode mirrors one log, so there it is
          // stored; the clock never follows it.
          DeferredEntry deferral{k, Status::Ok(), ""};
          deferral.status = node_->clock().Observe(e.when, &deferral.reason);
          if (!deferral.status.ok()) {
            node_->counters().future_events++;
            if (!options_.external_write) {
              deferral.status = Status::OutOfRange(
                  "entry " + e.id.ToString() + " deferred: " + deferral.status.message() +
                  "; not stored now, fetched again once the node's clock reaches it");
              result.deferred.push_back(std::move(deferral));
              continue;
            }
          }
          events.push_back(e);
          all_fresh = false;
        }
        break;
      }
      case WriteKind::kClaimNext: {
        const QueueRecord* queue = state.FindQueue(req.queue);
        if (queue == nullptr || !queue->alive) {
          result.status = Status::NotFound("no queue named \"" + req.queue + "\"");
          break;
        }
        std::vector<const TaskRecord*> candidates =
            ClaimableTasks(state, req.queue, now_ns, req.max + touched.size());
        for (const TaskRecord* task : candidates) {
          if (result.claimed.size() >= req.max) break;
          if (touched.contains(task->id)) continue;
          TaskView view = ViewTask(*task, *queue, now_ns);
          result.status = claim(*task, *queue, view, req.worker, false, &result);
          if (!result.status.ok()) break;
        }
        if (result.status.ok() && result.claimed.empty() && req.wait_ms > 0 && !stopping_batch_ &&
            steady_now < batch[i].deadline) {
          slot.parked = true;
        }
        break;
      }
      case WriteKind::kClaimOne: {
        const QueueRecord* queue = nullptr;
        const TaskRecord* task = nullptr;
        result.status = find(req.queue, req.task, &queue, &task);
        if (!result.status.ok()) break;
        if (touched.contains(task->id)) {
          result.reason = "busy";
          result.status = Status::Conflict("the task is being changed by another request");
          break;
        }
        TaskView view = ViewTask(*task, *queue, now_ns);
        if (IsFinished(view.state)) {
          result.status = ConflictFor(view.state, *task, req.worker, &result.reason);
          break;
        }
        if (view.state == TaskState::kWorking) {
          if (task->status.worker != req.worker) {
            result.reason = "leased_by_another_worker";
            result.status = Status::Conflict("the task is leased by another worker");
            break;
          }
          if (req.lease && *req.lease != view.lease) {
            result.reason = "lease_lost";
            result.status =
                Status::Conflict("lease " + std::to_string(*req.lease) +
                                 " was lost; the current lease is " + std::to_string(view.lease));
            break;
          }
          result.status = claim(*task, *queue, view, req.worker, true, &result);
          break;
        }
        if (req.lease && *req.lease != view.next_lease) {
          result.reason = "lease_lost";
          result.status =
              Status::Conflict("lease " + std::to_string(*req.lease) + " was lost (it expired)");
          break;
        }
        if (!view.claimable) {
          result.reason = "not_ready";
          result.status = Status::Conflict("the task is not claimable before " +
                                           std::to_string(view.ready_at_ns / kNanosPerMilli) +
                                           " ms since the epoch");
          break;
        }
        result.status = claim(*task, *queue, view, req.worker, false, &result);
        break;
      }
      case WriteKind::kDone: {
        const QueueRecord* queue = state.FindQueue(req.queue);
        if (queue == nullptr || !queue->alive) {
          result.status = Status::NotFound("no queue named \"" + req.queue + "\"");
          break;
        }
        for (const DoneItem& item : req.items) {
          const TaskRecord* task = nullptr;
          Status s = find(req.queue, item.id, &queue, &task);
          if (s.ok()) {
            TaskView view = ViewTask(*task, *queue, now_ns);
            std::string reason;
            if (view.state == TaskState::kDone) {
              // Already done: a repeat is not an error.
            } else if (view.state == TaskState::kDead || view.state == TaskState::kCancelled) {
              s = ConflictFor(view.state, *task, req.worker, &reason);
            } else if (item.lease && (task->status.key.phase != Phase::kWorking ||
                                      task->status.worker != req.worker ||
                                      task->status.key.lease != *item.lease)) {
              s = Status::Conflict("lease_lost: lease " + std::to_string(*item.lease) +
                                   " is not held by this worker");
            } else if (touched.contains(task->id)) {
              s = Status::Conflict("busy: the task is being changed by another request");
            } else {
              Result<Hlc> when = add_task_op(
                  DoneOp{req.queue, item.id, req.worker, item.lease.value_or(view.lease)});
              s = when.status();
              if (s.ok()) {
                touched.insert(item.id);
                auto claimed = claim_ns_.find(item.id);
                if (claimed != claim_ns_.end()) {
                  if (when->time > claimed->second) {
                    run_times.push_back({request_index, req.queue, when->time - claimed->second});
                  }
                  claim_ns_.erase(claimed);
                }
              }
            }
          }
          result.item_status.push_back(std::move(s));
        }
        break;
      }
      case WriteKind::kFail: {
        const QueueRecord* queue = nullptr;
        const TaskRecord* task = nullptr;
        TaskView view;
        if (!find_unfinished(req, &result, &queue, &task, &view)) break;
        if (task->status.key.phase != Phase::kWorking || task->status.worker != req.worker ||
            (req.lease && task->status.key.lease != *req.lease) || touched.contains(task->id)) {
          result.reason = "lease_lost";
          result.status = Status::Conflict("this worker does not hold the task's lease");
          break;
        }
        FailOp op = DecideFail(*task, *queue, req.worker, task->status.key.lease, req.error);
        result.status = add_task_op(op).status();
        if (result.status.ok()) {
          touched.insert(task->id);
          failures.push_back({i, req.queue, op.dead});
          claim_ns_.erase(task->id);
          result.fail = std::move(op);
        }
        break;
      }
      case WriteKind::kCancel: {
        const QueueRecord* queue = nullptr;
        const TaskRecord* task = nullptr;
        TaskView view;
        if (!find_unfinished(req, &result, &queue, &task, &view)) break;
        result.status = add_task_op(CancelOp{req.queue, req.task}).status();
        if (result.status.ok()) {
          touched.insert(task->id);
          claim_ns_.erase(task->id);
        }
        break;
      }
    }
    if (result.status.ok()) {
      result.status = flush_task_ops();
    } else {
      request_ops.clear();
    }
    if (!result.status.ok() && events.size() > slot.first_event) {
      // The request failed part way: drop what it added.
      events.resize(slot.first_event);
      head = head_before;
      result.ids.clear();
      result.claimed.clear();
    }
    slot.end_event = events.size();
  }

  std::vector<uint64_t> seqs;
  if (!events.empty()) {
    const bool sync = options_.sync == SyncMode::kBatch;
    Result<std::vector<uint64_t>> appended =
        all_fresh ? node_->log()->AppendNew(events, sync) : node_->log()->Append(events, sync);
    health_.Report(BackendHealth::kLog, appended.status());
    if (!appended.ok()) {
      Status error = appended.status().WithContext("appending to the log");
      for (Slot& slot : slots) {
        if (slot.end_event > slot.first_event) {
          slot.result = WriteResult();
          slot.result.status = error;
        }
      }
    } else {
      seqs = std::move(appended).value();
      if (head) node_->set_head(*head);
      NodeCounters& counters = node_->counters();
      uint64_t last_seq = 0;
      uint64_t added = 0;
      node_->WriteLocked([&](State* s) {
        for (size_t i = 0; i < events.size(); ++i) {
          if (seqs[i] == 0) continue;
          ++added;
          last_seq = std::max(last_seq, seqs[i]);
          ApplyOutcome outcome = ApplyEvent(events[i], s);
          if (outcome.kind == ApplyKind::kRejected) {
            counters.rejected_ops++;
            static log::Every every(std::chrono::seconds(10));
            if (every.Allow()) {
              log::Warn("queue op rejected (stored, not applied)",
                        {{"id", events[i].id.ToString()},
                         {"reason", outcome.reason},
                         {"suppressed", every.suppressed()}});
            }
          }
          if (outcome.kind == ApplyKind::kForeign) counters.foreign_events++;
          AddQueuesToWake(events[i], &woken_queues_);
        }
      });
      uncommitted_seq_ = std::max(uncommitted_seq_, last_seq);
      counters.events_appended += added;
      counters.duplicate_events += events.size() - added;
      counters.claims += claims;
      counters.lease_expiries += expiries;
      counters.batches++;
      for (const RunTime& r : run_times) {
        if (slots[r.request].result.status.ok()) queue_metrics_.ObserveRunTime(r.queue, r.ns);
      }
      for (const Failure& f : failures) {
        if (slots[f.request].result.status.ok()) queue_metrics_.CountFailure(f.queue, f.dead);
      }
      if (added > 0 && on_applied_) on_applied_();
    }
  }

  std::vector<std::pair<WriteCallback, WriteResult>> replies;
  replies.reserve(batch.size());
  size_t reply_items = 0;  // claimed tasks and done items to render
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& slot = slots[i];
    if (slot.parked) {
      waiters_.push_back(std::move(batch[i]));
      continue;
    }
    if (batch[i].request.kind == WriteKind::kExternal && !slot.result.status.ok()) {
      static log::Every every(std::chrono::seconds(10));
      if (every.Allow()) {
        log::Warn("peer entries rejected", {{"entries", batch[i].request.events.size()},
                                            {"error", slot.result.status.ToString()},
                                            {"suppressed", every.suppressed()}});
      }
    }
    if (batch[i].request.kind == WriteKind::kExternal && slot.result.status.ok()) {
      const std::vector<DeferredEntry>& deferred = slot.result.deferred;
      size_t e = slot.first_event;
      size_t d = 0;
      for (size_t k = 0; k < batch[i].request.events.size(); ++k) {
        if (d < deferred.size() && deferred[d].index == k) {
          slot.result.stored.push_back(false);
          ++d;
        } else {
          slot.result.stored.push_back(seqs[e++] != 0);
        }
      }
    }
    reply_items += slot.result.claimed.size() + slot.result.item_status.size();
    replies.emplace_back(std::move(batch[i].done), std::move(slot.result));
  }
  auto run = [replies = std::move(replies)]() mutable {
    for (auto& [done, result] : replies) done(std::move(result));
  };
  // Small replies cost less to render here than a hand-off to another
  // thread; big ones go to the replies thread, so the next batch can start.
  if (reply_items < kRepliesHandedOff && replier_->idle()) {
    run();
  } else {
    replier_->Post(std::move(run));
  }
}

}  // namespace pigtail

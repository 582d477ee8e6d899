#include "server/sequencer.h"

#include <algorithm>
#include <cstdio>
#include <span>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/fresh_tasks.h"
#include "core/projector.h"
#include "server/log.h"
#include "server/memory_trim.h"
#include "server/thread_name.h"

namespace pigtail {
namespace {

// Whether the request's reply carries the entries it wrote (a claim
// forwarded by another node, server/claim_router.h).
bool ReturnsEntries(const WriteRequest& request) {
  if (const auto* next = std::get_if<ClaimNextRequest>(&request)) return next->return_entries;
  if (const auto* one = std::get_if<ClaimOneRequest>(&request)) return one->return_entries;
  return false;
}

// Batches whose replies hold at least this many claimed tasks and done
// items are answered on the replies thread.
constexpr size_t kRepliesHandedOff = 64;
// Most claim times kept for run time metrics.
constexpr size_t kMaxClaimTimes = 1'000'000;
// How often the stores are probed while idle (BackendHealth).
constexpr std::chrono::seconds kProbeInterval{1};
// How often at most memory freed by dropped tasks goes back to the system.
constexpr std::chrono::seconds kTrimInterval{10};
// How soon drops a listing held back (Node::DropHold) are tried again.
constexpr std::chrono::milliseconds kHeldDropRetry{10};

uint64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

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
  if (const auto* retry = std::get_if<RetryOp>(op)) wake(retry->queue_name);
  if (const auto* pause = std::get_if<PauseOp>(op); pause != nullptr && !pause->paused) {
    wake(pause->queue_name);
  }
  if (const auto* batch = std::get_if<BatchOp>(op)) {
    for (const TaskOp& t : batch->ops) {
      if (const auto* fail = std::get_if<FailOp>(&t)) wake(fail->queue_name);
    }
    const std::string* last = nullptr;
    for (const AddOp& add : batch->adds) {
      if (last == nullptr || *last != add.queue_name) wake(add.queue_name);
      last = &add.queue_name;
    }
  }
}

// Calls fn with each task op of an entry's op: the op itself, or those of
// its Batch.
template <typename Fn>
void VisitTaskOps(const QueueOp& op, Fn&& fn) {
  if (const auto* batch = std::get_if<BatchOp>(&op)) {
    for (const TaskOp& t : batch->ops) std::visit(fn, t);
  } else {
    std::visit(fn, op);
  }
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
  // Finished tasks the commit wrote may now leave memory (DropCommitted).
  listener.on_committed = [this, drops = node_->WriterView().evict_finished()] {
    if (!drops) return;
    {
      std::lock_guard guard(mu_);
      committed_ = true;
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
  if (const auto* claim = std::get_if<ClaimNextRequest>(&p.request)) {
    p.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(claim->wait_ms);
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(p));
      ++arrivals_;
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
               (draining_ && !waiters_.empty()) || commit_failed_ || committed_;
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
      if (dropped_since_trim_ > 0) {
        // An idle node gives back what a burst of dropped tasks left.
        Clock::time_point due = last_trim_ + kTrimInterval;
        wake = wake ? std::min(*wake, due) : due;
      }
      if (drops_held_back_) {
        Clock::time_point due = Clock::now() + kHeldDropRetry;
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
      if (gather_want_ > 0 && !queue_.empty()) {
        // The clients the last batch answered may share this batch's append.
        cv_.wait_until(lock, gather_until_, [&] {
          return arrivals_ - gather_base_ >= gather_want_ || stopping_ || draining_ ||
                 queue_.size() >= options_.max_batch;
        });
        gather_window_.OnWait(std::chrono::steady_clock::now() - gather_from_);
        gather_want_ = 0;
      }
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stop = stopping_ && queue_.empty();
      commit_failed_ = false;  // the wake-up below accounts for its retry
      committed_ = false;      // DropCommitted below
    }
    const bool draining = stop || draining_;
    Clock::time_point now = Clock::now();
    bool tick = now >= last_tick + options_.wait_tick;
    if (tick) last_tick = now;
    if (!waiters_.empty()) {
      std::vector<Pending> keep;
      for (Pending& w : waiters_) {
        const std::string& queue = std::get<ClaimNextRequest>(w.request).queue;
        bool due =
            draining || tick || now >= w.deadline ||
            std::find(woken_queues_.begin(), woken_queues_.end(), queue) != woken_queues_.end();
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
    const uint64_t committed = committer_->committed_checkpoint();
    dropped_since_trim_ += node_->DropCommitted(committed);
    drops_held_back_ = node_->WriterView().eviction_due(committed);
    if (dropped_since_trim_ > 0 && Clock::now() >= last_trim_ + kTrimInterval) {
      ReleaseFreeMemory();
      dropped_since_trim_ = 0;
      last_trim_ = Clock::now();
    }
    node_->counters().sequencer_busy_ns += NanosSince(now);
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
    changes = committer_->TakeSpare();
    node_->WriteLocked([&](State* s) { s->TakeChangesInto(uncommitted_seq_, &changes); });
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

struct Sequencer::BatchFacts {
  struct RunTime {
    std::string queue;
    uint64_t ns;
  };
  struct Failure {
    std::string queue;
    bool dead;
  };
  std::vector<RunTime> run_times;
  std::vector<Failure> failures;
  uint64_t claims = 0;
  uint64_t expiries = 0;
};

class Sequencer::EntryWriter {
 public:
  EntryWriter(Node* node, const SequencerOptions& options)
      : node_(node), options_(options), head_(node->head()) {}

  std::vector<Event>& events() { return events_; }
  const std::vector<Event>& events() const { return events_; }
  // This node's last entry once the batch is in the log.
  const std::optional<Uuid>& head() const { return head_; }
  // Whether every entry has an id minted here just now.
  bool all_fresh() const { return !options_.external_write && all_external_ == 0; }

  // Whether events()[i] came from elsewhere (AddExternal), so that an Add
  // in it may name a task this node has seen.
  bool external(size_t i) const { return i < external_.size() && external_[i]; }

  // Starts a request: Rollback() drops what it adds.
  size_t Mark() {
    mark_ = events_.size();
    mark_head_ = head_;
    return mark_;
  }
  void Rollback() {
    events_.resize(mark_);
    if (external_.size() > mark_) external_.resize(mark_);
    head_ = mark_head_;
  }

  // A new entry of this node: minted here, or written by external_write.
  Result<Uuid> AddLocal(std::string data, const std::vector<Uuid>& dependencies) {
    if (options_.external_write) {
      PIGTAIL_ASSIGN_OR_RETURN(Event e, options_.external_write(data, dependencies));
      (void)node_->clock().Observe(e.when);
      events_.push_back(std::move(e));
      return events_.back().id;
    }
    const Hlc when = node_->clock().Now();
    NewEvent fields{EntryId(when), node_->id(), head_, when, std::move(data), dependencies};
    PIGTAIL_ASSIGN_OR_RETURN(Event e, MakeEvent(fields));
    head_ = fields.id;
    events_.push_back(std::move(e));
    return fields.id;
  }

  // The entries `decision` writes, built without parsing them back; in
  // attached mode written by external_write, and restamped with the
  // timestamps the external log gave them.
  Status AddDecided(Decision* decision) {
    for (size_t k = 0; k < decision->entries.size(); ++k) {
      DecidedEntry& entry = decision->entries[k];
      if (options_.external_write) {
        PIGTAIL_RETURN_IF_ERROR(AddLocal(SerializeQueueOp(entry.op), {}).status());
        Restamp(decision, k, events_.back().when);
        continue;
      }
      const Uuid id = EntryId(entry.when);
      events_.push_back(MakeOpEvent(id, node_->id(), head_, entry.when, entry.op));
      head_ = id;
    }
    return Status::Ok();
  }

  // Time-ordered, so a node's tasks list by id in the order added.
  static Uuid EntryId(const Hlc& when) { return Uuid::TimeOrdered(when.time / 1'000'000); }

  void AddExternal(Event event) {
    external_.resize(events_.size(), false);
    external_.push_back(true);
    events_.push_back(std::move(event));
    ++all_external_;
  }

 private:
  Node* const node_;
  const SequencerOptions& options_;
  std::vector<Event> events_;
  std::vector<bool> external_;  // per event up to the last external one
  std::optional<Uuid> head_;
  size_t all_external_ = 0;  // entries from elsewhere
  size_t mark_ = 0;
  std::optional<Uuid> mark_head_;
};

WriteResult Sequencer::DecideRequest(Pending& pending, BatchView* view, const DecideContext& ctx,
                                     EntryWriter* writer, BatchFacts* facts, bool* park) {
  const WriteRequest& request = pending.request;
  if (const auto* local = std::get_if<LocalRequest>(&request)) {
    WriteResult result;
    for (const std::string& data : local->data) {
      Result<Uuid> id = writer->AddLocal(data, local->dependencies);
      if (!id.ok()) {
        WriteResult failed;
        failed.status = id.status();
        return failed;
      }
      WriteResult checked = DecideLocal(*view, std::span(&writer->events().back(), 1));
      if (!checked.status.ok()) return checked;
      result.ids.push_back(*id);
    }
    return result;
  }
  if (auto* external = std::get_if<ExternalRequest>(&pending.request)) {
    Admission admission = AdmitExternal(*external, node_->id(), node_->clock(),
                                        static_cast<bool>(options_.external_write));
    node_->counters().future_events += admission.beyond_bounds;
    if (admission.reply.status.ok()) {
      for (size_t k : admission.admitted) writer->AddExternal(std::move(external->events[k]));
    }
    return std::move(admission.reply);
  }
  Decision decision = std::visit(
      [&](const auto& r) -> Decision {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, LocalRequest> || std::is_same_v<T, ExternalRequest>) {
          return Decision();  // decided above
        } else {
          return Decide(*view, r, ctx);
        }
      },
      request);
  if (!decision.reply.status.ok()) return std::move(decision.reply);
  Status written = writer->AddDecided(&decision);
  if (!written.ok()) {
    WriteResult failed;
    failed.status = std::move(written);
    return failed;
  }
  if (std::holds_alternative<AddRequest>(request)) {
    // The tasks' ids come from the entries' ids, minted just now.
    const std::vector<Event>& events = writer->events();
    for (size_t k = events.size() - decision.entries.size(); k < events.size(); ++k) {
      if (const auto* op = std::get_if<QueueOp>(&events[k].op)) {
        AppendAddedTaskIds(*op, events[k].id, &decision.reply.ids);
      }
    }
  }
  view->Accept(decision);
  NoteDecision(decision, facts);
  if (const auto* claim = std::get_if<ClaimNextRequest>(&request)) {
    // A claim that found tasks for other homes answers now, so that its
    // caller asks them (server/claim_router.h).
    *park = decision.reply.claimed.empty() && decision.reply.forward_to.empty() &&
            claim->wait_ms > 0 && !stopping_batch_ &&
            std::chrono::steady_clock::now() < pending.deadline;
  }
  return std::move(decision.reply);
}

Status Sequencer::ReinstateForRequests(const std::vector<Pending>& batch) {
  const State& state = node_->WriterView();
  if (!state.evict_finished()) return Status::Ok();
  std::vector<TaskKey> absent;
  for (const Pending& p : batch) {
    AppendAbsentTasks(state, p.request, &absent);
    if (const auto* purge = std::get_if<PurgeRequest>(&p.request)) {
      PIGTAIL_RETURN_IF_ERROR(AppendPurgeCandidates(state, *purge, &absent));
    }
  }
  return node_->ReinstateTasks(std::move(absent));
}

Status Sequencer::AppendPurgeCandidates(const State& state, const PurgeRequest& purge,
                                        std::vector<TaskKey>* absent) {
  const QueueRecord* queue = state.FindQueue(purge.queue);
  if (queue == nullptr) return Status::Ok();
  // Enough to fill the purge and tell whether more match; the store is read
  // a page at a time, in id order, bounded by the queue's tasks.
  size_t wanted = purge.max + 1;
  std::optional<Uuid> after;
  constexpr size_t kPage = 1000;
  while (wanted > 0) {
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> page,
                             node_->state_store()->ListTasks(purge.queue, after, kPage));
    for (const TaskRecord& task : page) {
      if (wanted == 0) break;
      if (state.FindTask(task.queue, task.id) != nullptr || !PurgeMatches(purge, *queue, task)) {
        continue;
      }
      absent->push_back(TaskKey{task.queue, task.id});
      --wanted;
    }
    if (page.size() < kPage) break;
    after = page.back().id;
  }
  return Status::Ok();
}

Status Sequencer::ReinstateForEntries(const EntryWriter& writer, std::vector<TaskKey> fresh) {
  const State& state = node_->WriterView();
  if (!state.evict_finished()) return Status::Ok();
  std::vector<TaskKey> absent;
  const std::vector<Event>& events = writer.events();
  for (size_t i = 0; i < events.size(); ++i) {
    AppendAbsentTasks(state, events[i], /*fresh=*/!writer.external(i), &absent);
  }
  if (!fresh.empty()) {
    SortUnique(&fresh);
    std::erase_if(absent,
                  [&](const TaskKey& key) { return std::ranges::binary_search(fresh, key); });
  }
  return node_->ReinstateTasks(std::move(absent));
}

void Sequencer::ClaimFreshTasks(std::vector<Pending>* batch, std::vector<Slot>* slots,
                                BatchView* view, const DecideContext& ctx, EntryWriter* writer,
                                BatchFacts* facts, std::vector<TaskKey>* claimed_fresh) {
  auto added = [&](size_t i) {
    return std::holds_alternative<AddRequest>((*batch)[i].request) &&
           (*slots)[i].result.status.ok();
  };
  size_t first_add = 0;
  while (first_add < batch->size() && !added(first_add)) ++first_add;
  if (waiters_.empty() || first_add == batch->size()) return;
  FreshTasks fresh(view->state());
  for (const Pending& w : waiters_) {
    const auto& claim = std::get<ClaimNextRequest>(w.request);
    fresh.Want(claim.queue, claim.max);
  }
  const std::vector<Event>& events = writer->events();
  for (size_t i = first_add; i < batch->size() && fresh.wants_any(); ++i) {
    if (!added(i)) continue;
    const size_t end = i + 1 < slots->size() ? (*slots)[i + 1].first_event : events.size();
    for (size_t e = (*slots)[i].first_event; e < end; ++e) fresh.Take(events[e]);
  }
  if (fresh.taken() == 0) return;
  BatchView fresh_view(fresh.state());
  // Read after the Adds were stamped: a task is ready from its Add's time.
  DecideContext fresh_ctx = ctx;
  fresh_ctx.now_ns = node_->NowNanos();
  std::vector<Pending> waiting;
  for (Pending& w : waiters_) {
    const auto& claim = std::get<ClaimNextRequest>(w.request);
    Decision decision = Decide(fresh_view, claim, fresh_ctx);
    if (decision.reply.claimed.empty()) {
      waiting.push_back(std::move(w));
      continue;
    }
    const size_t first_event = writer->Mark();
    if (!writer->AddDecided(&decision).ok()) {
      writer->Rollback();  // decided again later, against the State
      waiting.push_back(std::move(w));
      continue;
    }
    fresh_view.Accept(decision);
    view->Accept(decision);
    NoteDecision(decision, facts);
    for (const ClaimedTask& task : decision.reply.claimed) {
      claimed_fresh->push_back(TaskKey{claim.queue, task.id});
    }
    batch->push_back(std::move(w));
    slots->push_back(Slot{first_event, std::move(decision.reply), false, true});
  }
  waiters_ = std::move(waiting);
}

void Sequencer::NoteDecision(const Decision& decision, BatchFacts* facts) {
  const auto steady_now = std::chrono::steady_clock::now();
  size_t claim = 0;  // the claims' Progress ops come in the order of reply.claimed
  for (const DecidedEntry& entry : decision.entries) {
    const uint64_t when_ns = entry.when.time;
    VisitTaskOps(entry.op, [&](const auto& op) {
      using T = std::decay_t<decltype(op)>;
      if constexpr (std::is_same_v<T, ProgressOp>) {
        const bool heartbeat = decision.reply.claimed.at(claim).heartbeat;
        const bool expired = decision.claims.at(claim).took_expired_lease;
        ++claim;
        if (heartbeat) return;
        ++facts->claims;
        if (expired) {
          ++facts->expiries;
          (void)lease_storm_.Add(op.queue_name, 1, steady_now);
        }
        if (claim_ns_.size() >= kMaxClaimTimes) claim_ns_.clear();
        claim_ns_[op.id] = when_ns;
      } else if constexpr (std::is_same_v<T, DoneOp>) {
        auto claimed = claim_ns_.find(op.id);
        if (claimed == claim_ns_.end()) return;
        if (when_ns > claimed->second) {
          facts->run_times.push_back({op.queue_name, when_ns - claimed->second});
        }
        claim_ns_.erase(claimed);
      } else if constexpr (std::is_same_v<T, FailOp>) {
        facts->failures.push_back({op.queue_name, op.dead});
        claim_ns_.erase(op.id);
      } else if constexpr (std::is_same_v<T, CancelOp>) {
        claim_ns_.erase(op.id);
      }
    });
  }
}

void Sequencer::Apply(const std::vector<Event>& events, const std::vector<uint64_t>& seqs,
                      const BatchFacts& facts) {
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
  counters.claims += facts.claims;
  counters.lease_expiries += facts.expiries;
  counters.batches++;
  for (const BatchFacts::RunTime& r : facts.run_times) queue_metrics_.ObserveRunTime(r.queue, r.ns);
  for (const BatchFacts::Failure& f : facts.failures) queue_metrics_.CountFailure(f.queue, f.dead);
  if (added > 0 && on_applied_) on_applied_();
}

bool Sequencer::WaitAgain(Slot* slot, Pending* pending) {
  if (slot->parked) return true;
  if (!slot->fresh) return false;
  waiters_.push_back(std::move(*pending));
  slot->parked = true;
  return true;
}

void Sequencer::ProcessBatch(std::vector<Pending> batch) {
  const auto batch_start = std::chrono::steady_clock::now();
  uint64_t append_ns = 0;
  std::vector<Slot> slots(batch.size());
  EntryWriter writer(node_, options_);
  // Nothing is decided or written without the tasks it reads.
  Status reinstated = ReinstateForRequests(batch);
  BatchView view(node_->WriterView());
  DecideContext ctx;
  ctx.now_ns = node_->NowNanos();
  ctx.stamp = [this] { return node_->clock().Now(); };
  ctx.batch_ops = options_.batch_ops && !options_.external_write;
  BatchFacts facts;
  for (size_t i = 0; i < batch.size() && reinstated.ok(); ++i) {
    Slot& slot = slots[i];
    slot.first_event = writer.Mark();
    slot.result = DecideRequest(batch[i], &view, ctx, &writer, &facts, &slot.parked);
    // A request that failed part way adds nothing.
    if (!slot.result.status.ok()) writer.Rollback();
    if (slot.parked) waiters_.push_back(std::move(batch[i]));
  }
  std::vector<TaskKey> claimed_fresh;
  if (reinstated.ok()) {
    ClaimFreshTasks(&batch, &slots, &view, ctx, &writer, &facts, &claimed_fresh);
    reinstated = ReinstateForEntries(writer, std::move(claimed_fresh));
  }
  if (!reinstated.ok()) {
    // A read: the probe brings the store back once it answers again.
    health_.Report(BackendHealth::kState, reinstated, /*probe=*/true);
    for (size_t i = 0; i < slots.size(); ++i) {
      Slot& slot = slots[i];
      if (WaitAgain(&slot, &batch[i])) continue;
      slot.result = WriteResult();
      slot.result.status = reinstated;
    }
  }

  const std::vector<Event>& events = writer.events();
  std::vector<uint64_t> seqs;
  if (!events.empty() && reinstated.ok()) {
    const bool sync = options_.sync == SyncMode::kBatch;
    const auto append_start = std::chrono::steady_clock::now();
    Result<std::vector<uint64_t>> appended = writer.all_fresh()
                                                 ? node_->log()->AppendNew(events, sync)
                                                 : node_->log()->Append(events, sync);
    append_ns = NanosSince(append_start);
    node_->counters().log_append_ns += append_ns;
    health_.Report(BackendHealth::kLog, appended.status());
    if (!appended.ok()) {
      Status error = appended.status().WithContext("appending to the log");
      for (size_t i = 0; i < slots.size(); ++i) {
        Slot& slot = slots[i];
        if (WaitAgain(&slot, &batch[i])) continue;
        slot.result = WriteResult();
        slot.result.status = error;
      }
    } else {
      seqs = std::move(appended).value();
      if (writer.head()) node_->set_head(*writer.head());
      node_->counters().batch_requests += batch.size();
      Apply(events, seqs, facts);
    }
  }

  std::vector<std::pair<WriteCallback, WriteResult>> replies;
  replies.reserve(batch.size());
  size_t reply_items = 0;    // claimed tasks and done items to render
  size_t fresh_replies = 0;  // of waiting claims that took tasks the batch adds
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& slot = slots[i];
    if (slot.parked) continue;  // in waiters_
    if (const auto* external = std::get_if<ExternalRequest>(&batch[i].request)) {
      if (!slot.result.status.ok()) {
        static log::Every every(std::chrono::seconds(10));
        if (every.Allow()) {
          log::Warn("peer entries rejected", {{"entries", external->events.size()},
                                              {"error", slot.result.status.ToString()},
                                              {"suppressed", every.suppressed()}});
        }
      } else {
        const std::vector<DeferredEntry>& deferred = slot.result.deferred;
        size_t e = slot.first_event;
        size_t d = 0;
        for (size_t k = 0; k < external->events.size(); ++k) {
          if (d < deferred.size() && deferred[d].index == k) {
            slot.result.stored.push_back(false);
            ++d;
          } else {
            slot.result.stored.push_back(seqs[e++] != 0);
          }
        }
      }
    }
    if (ReturnsEntries(batch[i].request) && slot.result.status.ok()) {
      const size_t end = i + 1 < batch.size() ? slots[i + 1].first_event : events.size();
      for (size_t e = slot.first_event; e < end; ++e) slot.result.entries.push_back(events[e].raw);
    }
    reply_items += slot.result.claimed.size() + slot.result.items.size();
    if (slot.fresh) ++fresh_replies;
    replies.emplace_back(std::move(batch[i].done), std::move(slot.result));
  }
  // The waiting claims that took tasks this batch adds come last in it
  // (ClaimFreshTasks); they are answered first, so that their workers
  // start before the adders learn that the tasks are in.
  std::rotate(replies.begin(), replies.end() - fresh_replies, replies.end());
  if (!seqs.empty() && options_.sync == SyncMode::kBatch && options_.adaptive_group_commit) {
    gather_window_.OnBatch(std::chrono::nanoseconds(append_ns),
                           std::chrono::nanoseconds(NanosSince(batch_start) - append_ns));
    const std::chrono::nanoseconds window = gather_window_.Window();
    if (window.count() > 0) {
      // Counted before the replies go out: every later arrival may be one
      // of their clients.
      std::lock_guard lock(mu_);
      gather_base_ = arrivals_;
      gather_want_ = replies.size();
      gather_from_ = std::chrono::steady_clock::now();
      gather_until_ = gather_from_ + window;
    }
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

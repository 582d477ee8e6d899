#include "server/node.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "core/cold_tasks.h"
#include "core/projector.h"
#include "server/log.h"

namespace pigtail {
namespace {

constexpr uint64_t kNanosPerMilli = 1'000'000;

Result<std::vector<std::string>> DecodeSet(const std::optional<std::string>& text) {
  std::vector<std::string> out;
  if (!text) return out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*text, ec);
  if (ec || !v.is_array()) return Status::Corruption("stored set is not a JSON array");
  for (const boost::json::value& item : v.as_array()) {
    if (!item.is_string()) return Status::Corruption("stored set holds a non-string");
    out.emplace_back(item.as_string());
  }
  return out;
}

std::string EncodeSet(const std::vector<std::string>& values) {
  boost::json::array a;
  for (const std::string& v : values) a.emplace_back(v);
  return boost::json::serialize(a);
}

}  // namespace

Node::Node(std::unique_ptr<EventStore> log, std::unique_ptr<StateStore> state_store,
           const NodeOptions& options)
    : log_(std::move(log)),
      state_store_(std::move(state_store)),
      physical_(options.physical),
      clock_(options.max_clock_offset_ms > UINT64_MAX / kNanosPerMilli
                 ? UINT64_MAX
                 : options.max_clock_offset_ms * kNanosPerMilli,
             options.physical) {}

Result<std::unique_ptr<Node>> Node::Open(std::unique_ptr<EventStore> log,
                                         std::unique_ptr<StateStore> state_store,
                                         const NodeOptions& options) {
  std::unique_ptr<Node> node(new Node(std::move(log), std::move(state_store), options));
  PIGTAIL_RETURN_IF_ERROR(node->Load(options));
  return node;
}

Status Node::Load(const NodeOptions& options) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  PIGTAIL_ASSIGN_OR_RETURN(id_, EnsureNodeId(log_.get()));
  log::Info("loading the state store", {{"node", id_.ToString()}});
  state_.set_evict_finished(options.drop_finished);
  state_.set_track_changes(false);
  Clock::time_point next_load_progress = start + options.load_progress_every;
  auto load_progress = [&](uint64_t tasks_read) {
    if (Clock::now() < next_load_progress) return;
    next_load_progress = Clock::now() + options.load_progress_every;
    log::Info("loading the state store: progress",
              {{"task_registers", tasks_read}, {"elapsed_s", seconds_since(start)}});
  };
  state_.BeginLoad();
  PIGTAIL_RETURN_IF_ERROR(
      state_store_->LoadInto(&state_, load_progress).WithContext("loading state"));
  const bool claim_index_rebuilt = state_.FinishLoad();
  state_.set_track_changes(true);
  const double load_s = seconds_since(start);
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t checkpoint, state_store_->Checkpoint());
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, log_->LastSequence());
  if (checkpoint > last) {
    return Status::FailedPrecondition("state checkpoint " + std::to_string(checkpoint) +
                                      " is ahead of the log (last sequence " +
                                      std::to_string(last) + "); the state belongs to another log");
  }
  uint64_t after = checkpoint;
  size_t chunk = std::max<size_t>(options.catch_up_chunk, 1);
  if (last > checkpoint) {
    log::Info("catching up from the log",
              {{"checkpoint", checkpoint}, {"last", last}, {"events", last - checkpoint}});
  }
  const Clock::time_point catch_up_start = Clock::now();
  Clock::time_point next_progress = catch_up_start + options.load_progress_every;
  for (;;) {
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, log_->Scan(after, chunk));
    if (events.empty()) break;
    std::vector<TaskKey> absent;
    for (const StoredEvent& e : events)
      AppendAbsentTasks(state_, e.event, /*fresh=*/false, &absent);
    PIGTAIL_RETURN_IF_ERROR(ReinstateTasks(std::move(absent)).WithContext("catching up"));
    for (const StoredEvent& e : events) {
      (void)ApplyEvent(e.event, &state_);
      // An entry stamped beyond the clock's bounds (stored before they
      // were enforced, or in attached mode) is projected as it is, but the
      // clock does not follow it.
      (void)clock_.Observe(e.event.when);
      after = e.seq;
      ++caught_up_events_;
    }
    PIGTAIL_RETURN_IF_ERROR(state_store_->Commit(state_.TakeChanges(after), true));
    DropCommitted(after);
    if (Clock::now() >= next_progress) {
      next_progress = Clock::now() + options.load_progress_every;
      log::Info("catching up from the log: progress",
                {{"applied", caught_up_events_},
                 {"of", last - checkpoint},
                 {"position", after},
                 {"elapsed_s", seconds_since(catch_up_start)}});
    }
  }
  // Readers will share the State under the shared lock (see State).
  state_.SettleDigests();
  PIGTAIL_ASSIGN_OR_RETURN(auto heads, log_->Heads());
  auto it = heads.find(id_);
  if (it != heads.end()) {
    head_ = it->second;
    PIGTAIL_ASSIGN_OR_RETURN(std::optional<StoredEvent> own, log_->Get(it->second));
    if (own) (void)clock_.Observe(own->event.when);
  }
  log::Info("loaded", {{"queues", state_.queues().size()},
                       {"tasks", state_.task_count()},
                       {"caught_up_events", caught_up_events_},
                       {"claim_index_rebuilt", claim_index_rebuilt},
                       {"checkpoint", after},
                       {"load_s", load_s},
                       {"catch_up_s", seconds_since(catch_up_start)},
                       {"total_s", seconds_since(start)}});
  return Status::Ok();
}

Status Node::ReinstateTasks(std::vector<TaskKey> keys) {
  Result<std::vector<TaskRecord>> stored = state_store_->GetTasks(std::move(keys));
  if (!stored.ok()) return stored.status().WithContext("reading finished tasks back");
  if (stored->empty()) return Status::Ok();
  counters_.tasks_reinstated += stored->size();
  WriteLocked([&](State* s) {
    for (TaskRecord& t : *stored) s->Reinstate(std::move(t));
  });
  return Status::Ok();
}

size_t Node::DropCommitted(uint64_t committed) {
  if (!state_.eviction_due(committed)) return 0;
  return WriteLocked([&](State* s) -> size_t {
    return drop_holds_.load() > 0 ? 0 : s->EvictCommitted(committed);
  });
}

Node::DropHold Node::HoldDrops() {
  std::shared_lock lock(mu_);
  drop_holds_.fetch_add(1);
  return DropHold(&drop_holds_);
}

Result<std::vector<std::string>> Node::ListSet(std::string_view key) {
  std::lock_guard lock(meta_mu_);
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> text, log_->GetMeta(key));
  return DecodeSet(text);
}

Result<bool> Node::AddToSet(std::string_view key, std::string_view value) {
  std::lock_guard lock(meta_mu_);
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> text, log_->GetMeta(key));
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::string> values, DecodeSet(text));
  if (std::find(values.begin(), values.end(), value) != values.end()) return false;
  values.emplace_back(value);
  PIGTAIL_RETURN_IF_ERROR(log_->PutMeta(key, EncodeSet(values)));
  return true;
}

Result<bool> Node::RemoveFromSet(std::string_view key, std::string_view value) {
  std::lock_guard lock(meta_mu_);
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> text, log_->GetMeta(key));
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::string> values, DecodeSet(text));
  auto it = std::find(values.begin(), values.end(), value);
  if (it == values.end()) return false;
  values.erase(it);
  PIGTAIL_RETURN_IF_ERROR(log_->PutMeta(key, EncodeSet(values)));
  return true;
}

}  // namespace pigtail

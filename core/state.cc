#include "core/state.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "core/task_view.h"

namespace pigtail {
namespace {

// EvictCommitted shrinks a queue's task map past this many buckets once
// it is 1/8 full.
constexpr size_t kMinBucketsToShrink = 1024;

}  // namespace

State::IndexPlace State::PlaceIn(const QueueSlot& slot, const TaskRecord& t) {
  IndexPlace place;
  if (!t.add || t.status.key.outcome != Outcome::kLive) return place;
  place.visible = TaskVisible(t, slot.record ? &*slot.record : nullptr);
  if (t.status.key.phase == Phase::kWorking) {
    place.leased = LeaseOrder{LeaseExpiresAtNs(t, slot.record ? slot.record->timeout_ms : 0), t.id};
  } else {
    place.open = ClaimOrder{t.add->priority, t.add->hlc, t.id};
    const uint64_t ready_ns = ReadyAtNs(t);
    if (place.visible && ready_ns > t.status.key.hlc.time)
      place.delayed = ReadyOrder{ready_ns, t.id};
  }
  return place;
}

void State::CountPlace(QueueSlot* slot, const IndexPlace& place, bool enter) {
  if (place.visible) {
    uint64_t& count = place.leased ? slot->live.working : slot->live.pending;
    if (enter) {
      ++count;
    } else {
      --count;
    }
  }
  if (place.delayed) {
    if (enter) {
      slot->delayed.insert(*place.delayed);
    } else {
      slot->delayed.erase(*place.delayed);
    }
  }
}

State::IndexPlace State::PlaceOf(const QueueSlot& slot, const TaskRecord& t) const {
  return claim_index_ ? PlaceIn(slot, t) : IndexPlace{};
}

void State::RebuildClaimIndexes(QueueSlot* slot) {
  slot->open.clear();
  slot->leased.clear();
  slot->live = LiveCounts{};
  slot->delayed.clear();
  std::vector<std::pair<ClaimOrder, TaskEntry*>> open;
  std::vector<std::pair<LeaseOrder, TaskEntry*>> leased;
  for (auto& [id, entry] : slot->tasks) {
    IndexPlace place = PlaceIn(*slot, entry);
    CountPlace(slot, place, true);
    if (place.open) open.emplace_back(*place.open, &entry);
    if (place.leased) leased.emplace_back(*place.leased, &entry);
  }
  auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::sort(open.begin(), open.end(), by_key);
  std::sort(leased.begin(), leased.end(), by_key);
  for (const auto& [order, entry] : open) {
    entry->open_it = slot->open.emplace_hint(slot->open.end(), order);
  }
  for (const auto& [order, entry] : leased) {
    entry->leased_it = slot->leased.emplace_hint(slot->leased.end(), order);
  }
}

bool ClaimOrder::operator<(const ClaimOrder& o) const {
  if (priority != o.priority) return priority > o.priority;
  if (added != o.added) return added < o.added;
  return id < o.id;
}

const State::QueueSlot* State::FindSlot(std::string_view queue) const {
  auto it = queues_.find(queue);
  return it == queues_.end() ? nullptr : &it->second;
}

bool State::HoldsDropped(std::string_view queue) const {
  // Registers leave a slot's map only when dropped; task_count counts them all.
  const QueueSlot* slot = FindSlot(queue);
  return slot != nullptr && slot->task_count > slot->tasks.size();
}

const QueueRecord* State::FindQueue(std::string_view name) const {
  const QueueSlot* slot = FindSlot(name);
  return slot == nullptr || !slot->record ? nullptr : &*slot->record;
}

const TaskRecord* State::FindTask(std::string_view queue, const Uuid& id) const {
  const QueueSlot* slot = FindSlot(queue);
  if (slot == nullptr) return nullptr;
  auto it = slot->tasks.find(id);
  return it == slot->tasks.end() ? nullptr : &it->second;
}

Digest State::QueueDigest(std::string_view name) const {
  assert(!digests_stale());
  const QueueSlot* slot = FindSlot(name);
  return slot == nullptr ? Digest{} : slot->digest;
}

void State::ReplaceDigest(QueueSlot* slot, const std::string& old_encoding,
                          const std::string& new_encoding) {
  if (!old_encoding.empty()) {
    Digest old = Digest::Of(old_encoding);
    slot->digest.Subtract(old);
    total_.Subtract(old);
  }
  Digest now = Digest::Of(new_encoding);
  slot->digest.Add(now);
  total_.Add(now);
}

void State::PutQueue(QueueRecord queue) {
  auto [it, inserted] = queues_.try_emplace(queue.name);
  QueueSlot& slot = it->second;
  std::string old = slot.record ? EncodeQueueRecord(*slot.record) : std::string();
  ReplaceDigest(&slot, old, EncodeQueueRecord(queue));
  if (track_changes_) changed_queues_.insert(queue.name);
  // Leases of tasks without a timeout of their own run for the queue's.
  const bool timeout_changed = !slot.record || slot.record->timeout_ms != queue.timeout_ms;
  const bool visibility_changed = !slot.record || slot.record->alive != queue.alive ||
                                  slot.record->last_delete != queue.last_delete;
  // Only a queue absent or deleted keeps finished tasks (Droppable).
  const bool kept_finished = !slot.record || !slot.record->alive;
  slot.record = std::move(queue);
  if (visibility_changed) ListForRecount(&slot, evict_finished_ && kept_finished);
  // What the indexes count (visible tasks) changes with visibility.
  if (claim_index_ && (visibility_changed || (timeout_changed && !slot.leased.empty()))) {
    RebuildClaimIndexes(&slot);
  }
}

void State::ListForRecount(QueueSlot* slot, bool offer_kept) {
  slot->offer_kept |= offer_kept;
  if (slot->recount) return;
  slot->recount = true;
  recount_slots_.push_back(slot);
}

void State::RecountFinished(QueueSlot* slot) {
  if (!slot->recount) return;
  slot->recount = false;
  slot->finished = FinishedCounts{};
  const bool offer_kept = std::exchange(slot->offer_kept, false);
  // A deleted queue shows no task, and keeps none that became droppable.
  if (!offer_kept && (!slot->record || !slot->record->alive)) return;
  for (const auto& [id, entry] : slot->tasks) {
    slot->finished.Add(FinishedKindIn(*slot, entry));
    if (offer_kept && entry.status.key.outcome != Outcome::kLive && !entry.changed) {
      eviction_queue_.push_back({entry.taken_at, slot, id});
    }
  }
}

void State::RecountListed() {
  for (QueueSlot* slot : recount_slots_) RecountFinished(slot);
  recount_slots_.clear();
}

void State::PutTask(TaskRecord task) {
  auto [slot_it, slot_inserted] = queues_.try_emplace(task.queue);
  QueueSlot& slot = slot_it->second;
  auto [it, inserted] = slot.tasks.try_emplace(task.id);
  TaskEntry& entry = it->second;
  IndexPlace before;
  FinishedKind finished_before = FinishedKind::kNone;
  if (!inserted) {
    before = PlaceOf(slot, entry);
    finished_before = FinishedKindIn(slot, entry);
  }
  static_cast<TaskRecord&>(entry) = std::move(task);
  TaskChanged(&slot_it->first, &slot, &entry, inserted, before, finished_before);
}

void State::PutStoredTask(TaskRecord task) {
  if (evict_finished_) {
    QueueSlot& slot = queues_.try_emplace(task.queue).first->second;
    if (Droppable(slot, task)) {
      RecountFinished(&slot);  // before counting a task that is not in memory
      Digest digest = DigestOf(task);
      slot.digest.Add(digest);
      total_.Add(digest);
      slot.finished.Add(FinishedKindIn(slot, task));
      ++slot.task_count;
      ++task_count_;
      ++dropped_count_;
      return;
    }
  }
  PutTask(std::move(task));
}

void State::PutStoredTally(std::string_view queue, const Digest& digest, const QueueTally& tally) {
  assert(evict_finished_);
  QueueSlot& slot = queues_.try_emplace(std::string(queue)).first->second;
  assert(slot.tasks.empty());
  // The stored digest covers the queue register too.
  total_.Subtract(slot.digest);
  slot.digest = digest;
  total_.Add(digest);
  slot.task_count = tally.tasks;
  slot.finished = tally.finished;
  slot.recount = false;  // the stored tally counts its dropped tasks; memory holds none
  slot.offer_kept = false;
  task_count_ += tally.tasks;
  dropped_count_ += tally.tasks;
}

Status State::PutTalliedTask(TaskRecord task) {
  auto slot = queues_.find(task.queue);
  if (slot == queues_.end()) {
    return Status::Corruption("stored task of queue " + task.queue + " has no tally");
  }
  if (!Droppable(slot->second, task) && !slot->second.tasks.contains(task.id)) {
    PutCounted(&slot->second, std::move(task));
  }
  return Status::Ok();
}

State::TaskEntry& State::PutCounted(QueueSlot* slot, TaskRecord stored) {
  TaskEntry& entry = slot->tasks.try_emplace(stored.id).first->second;
  static_cast<TaskRecord&>(entry) = std::move(stored);
  entry.digest = DigestOf(entry);  // already counted in the sums
  if (dropped_count_ > 0) --dropped_count_;
  IndexPlace place = PlaceOf(*slot, entry);
  // Try the end first: a loader mostly brings a node's tasks in claim order.
  if (place.open) {
    entry.open_it = slot->open.insert(slot->open.end(), *place.open);
    if (loading_) SampleLoadOrder(*slot, entry.open_it);
  }
  if (place.leased) entry.leased_it = slot->leased.insert(slot->leased.end(), *place.leased);
  CountPlace(slot, place, true);
  if (loading_ && claim_index_ && LoadComesUnordered()) set_claim_index(false);
  return entry;
}

bool State::LoadComesUnordered() const {
  return load_sampled_ == kLoadOrderSample && load_far_ > kLoadOrderSample / 2;
}

void State::SampleLoadOrder(const QueueSlot& slot, OpenIndex::const_iterator put) {
  if (load_sampled_ == kLoadOrderSample) return;
  ++load_sampled_;
  // Near: among the last few of its priority in the index, where tasks put
  // in the order they were added go, along a path of the tree in cache.
  constexpr int kNear = 16;
  const int64_t priority = put->priority;
  for (int steps = 0; steps <= kNear; ++steps) {
    if (++put == slot.open.end() || put->priority != priority) return;
  }
  ++load_far_;
}

void State::BeginLoad() {
  loading_ = true;
  load_sampled_ = 0;
  load_far_ = 0;
}

bool State::FinishLoad() {
  loading_ = false;
  // Only puts into a claim index are sampled: an unordered sample means
  // the load turned the indexes off.
  if (!LoadComesUnordered()) return false;
  set_claim_index(true);
  return true;
}

Digest State::DigestOf(const TaskRecord& task) {
  scratch_.clear();
  AppendTaskRecord(task, &scratch_);
  return Digest::Of(scratch_);
}

bool State::Droppable(const QueueSlot& slot, const TaskRecord& task) {
  if (task.status.key.outcome == Outcome::kLive || !slot.record) return false;
  if (TaskVisible(task, &*slot.record)) return true;
  // Invisible for good: no Add yet (it reads the task back when it comes),
  // or added before the queue's last Delete.
  const std::optional<Stamp>& last_delete = slot.record->last_delete;
  return !task.add || (last_delete && Stamp{task.add->hlc, task.id} <= *last_delete);
}

size_t State::EvictCommitted(uint64_t committed) {
  // A recount sees only the tasks in memory, so it comes first; it may also
  // list more candidates.
  if (!recount_slots_.empty()) RecountListed();
  size_t dropped = 0;
  while (!eviction_queue_.empty() && eviction_queue_.front().checkpoint <= committed) {
    const EvictionCandidate c = eviction_queue_.front();
    eviction_queue_.pop_front();
    auto it = c.slot->tasks.find(c.id);
    if (it == c.slot->tasks.end()) continue;
    TaskEntry& entry = it->second;
    // Changed or taken again since: a later candidate, if any, decides.
    if (entry.taken_at != c.checkpoint || entry.changed || entry.stale) continue;
    if (entry.status.key.outcome == Outcome::kLive) {
      if (!evict_live_ || task_count_ - dropped_count_ <= keep_in_memory_) continue;
    } else if (!Droppable(*c.slot, entry)) {
      continue;
    }
    c.slot->tasks.erase(it);  // finished, or the claim indexes are off: in no index
    ++dropped_count_;
    ++dropped;
    // A map keeps its slots when emptied: give back those of a drained
    // backlog (rehashing a node map moves no entry, so pointers hold).
    auto& tasks = c.slot->tasks;
    if (tasks.bucket_count() > kMinBucketsToShrink && tasks.size() * 8 < tasks.bucket_count()) {
      tasks.rehash(0);
    }
  }
  return dropped;
}

void State::Reinstate(TaskRecord stored) {
  QueueSlot& slot = queues_.try_emplace(stored.queue).first->second;
  if (slot.tasks.contains(stored.id)) return;
  TaskEntry& entry = PutCounted(&slot, std::move(stored));
  // Leaves memory again at the next EvictCommitted unless it changes.
  eviction_queue_.push_front({0, &slot, entry.id});
}

State::TaskHandle State::OpenTask(std::string_view queue, const Uuid& id) {
  TaskHandle h;
  h.slot = queues_.find(queue);
  if (h.slot == queues_.end()) {
    h.slot = queues_.try_emplace(std::string(queue)).first;
    h.slot_created = true;
  }
  auto [it, inserted] = h.slot->second.tasks.try_emplace(id);
  h.entry = &it->second;
  h.created = inserted;
  if (inserted) {
    h.entry->queue = h.slot->first;
    h.entry->id = id;
  } else {
    h.place = PlaceOf(h.slot->second, *h.entry);
    h.finished = FinishedKindIn(h.slot->second, *h.entry);
  }
  return h;
}

void State::CloseTask(const TaskHandle& h, bool changed) {
  if (changed) {
    TaskChanged(&h.slot->first, &h.slot->second, h.entry, h.created, h.place, h.finished);
    return;
  }
  if (h.created) {
    h.slot->second.tasks.erase(h.entry->id);
    if (h.slot_created) queues_.erase(h.slot);
  }
}

void State::TaskChanged(const std::string* queue, QueueSlot* slot, TaskEntry* entry, bool created,
                        const IndexPlace& before, FinishedKind finished_before) {
  if (created) {
    ++task_count_;
    ++slot->task_count;
  }
  FinishedKind finished_now = FinishedKindIn(*slot, *entry);
  if (finished_now != finished_before) {
    slot->finished.Remove(finished_before);
    slot->finished.Add(finished_now);
  }
  if (!entry->stale) {
    entry->stale = true;
    stale_tasks_.emplace_back(slot, entry);
  }
  IndexPlace now = PlaceOf(*slot, *entry);
  CountPlace(slot, before, false);
  CountPlace(slot, now, true);
  if (before.open != now.open) {
    if (before.open) slot->open.erase(entry->open_it);
    // New Adds mostly carry the newest time: try the end first.
    if (now.open) entry->open_it = slot->open.insert(slot->open.end(), *now.open);
  }
  if (before.leased != now.leased) {
    if (before.leased) slot->leased.erase(entry->leased_it);
    // New claims and heartbeats mostly run out last: try the end first.
    if (now.leased) entry->leased_it = slot->leased.insert(slot->leased.end(), *now.leased);
  }
  if (track_changes_ && !entry->changed) {
    entry->changed = true;
    changed_tasks_.push_back({queue, slot, entry});
  }
}

void State::SetDigest(QueueSlot* slot, TaskEntry* entry, std::string_view encoding) {
  // A task's digest is zero until its first settle, so this also covers
  // tasks created since.
  slot->digest.Subtract(entry->digest);
  total_.Subtract(entry->digest);
  entry->digest = Digest::Of(encoding);
  slot->digest.Add(entry->digest);
  total_.Add(entry->digest);
  entry->stale = false;
}

void State::SettleStale() {
  for (auto [slot, entry] : stale_tasks_) {
    if (!entry->stale) continue;  // settled by TakeChangesInto
    scratch_.clear();
    AppendTaskRecord(*entry, &scratch_);
    SetDigest(slot, entry, scratch_);
  }
  stale_tasks_.clear();
}

Status State::CheckSettled() const {
  if (!digests_stale()) return Status::Ok();
  return Status::FailedPrecondition(
      "the state's digests are not settled: its writer must call SettleDigests() first");
}

void State::set_claim_index(bool on) {
  assert(!on || !evict_live_);
  if (on == claim_index_) return;
  claim_index_ = on;
  for (auto& [name, slot] : queues_) {
    if (on) {
      RebuildClaimIndexes(&slot);
    } else {
      slot.open.clear();
      slot.leased.clear();
      slot.live = LiveCounts{};
      slot.delayed.clear();
    }
  }
}

bool State::PutRejected(const Uuid& event_id, std::string reason) {
  auto [it, inserted] = rejected_.try_emplace(event_id, std::move(reason));
  if (!inserted) return false;
  total_.Add(Digest::Of(EncodeRejected(event_id, it->second)));
  if (track_changes_) changed_rejected_.push_back(event_id);
  return true;
}

StateBatch State::TakeChanges(uint64_t checkpoint) {
  StateBatch batch;
  TakeChangesInto(checkpoint, &batch);
  return batch;
}

void State::TakeChangesInto(uint64_t checkpoint, StateBatch* batch) {
  batch->checkpoint = checkpoint;
  batch->queues.resize(changed_queues_.size());
  size_t q = 0;
  for (const std::string& name : changed_queues_) batch->queues[q++] = *FindQueue(name);
  std::set<std::string, std::less<>> touched = std::move(changed_queues_);
  // In (queue, id) order, as the stores' keys sort. The keys are copied
  // out first so that comparisons do not chase entry pointers; tasks of one
  // queue share its key string, so most comparisons are of ids.
  struct SortKey {
    const std::string* queue;
    Uuid id;
    QueueSlot* slot;
    TaskEntry* entry;
  };
  std::vector<SortKey> keys;
  keys.reserve(changed_tasks_.size());
  for (const ChangedTask& c : changed_tasks_) {
    keys.push_back({c.queue, c.entry->id, c.slot, c.entry});
  }
  std::sort(keys.begin(), keys.end(), [](const SortKey& a, const SortKey& b) {
    if (a.queue != b.queue) return *a.queue < *b.queue;
    return a.id < b.id;
  });
  // Copy-assigning into the previous batch's records (and encodings)
  // reuses their strings; records beyond them are copy-constructed, not
  // default-constructed first. The encoding also settles a stale digest.
  const size_t reused = std::min(batch->tasks.size(), keys.size());
  batch->tasks.resize(reused);
  batch->tasks.reserve(keys.size());
  batch->task_bytes.resize(keys.size());
  const std::string* last_queue = nullptr;
  for (size_t i = 0; i < keys.size(); ++i) {
    TaskEntry* entry = keys[i].entry;
    entry->changed = false;
    const TaskRecord& record = *entry;
    if (i < reused) {
      batch->tasks[i] = record;
    } else {
      batch->tasks.push_back(record);
    }
    std::string& bytes = batch->task_bytes[i];
    bytes.clear();
    AppendTaskRecord(*entry, &bytes);
    if (entry->stale) SetDigest(keys[i].slot, entry, bytes);
    entry->taken_at = checkpoint;
    if (evict_finished_ && (evict_live_ || entry->status.key.outcome != Outcome::kLive)) {
      eviction_queue_.push_back({checkpoint, keys[i].slot, entry->id});
    }
    if (last_queue != keys[i].queue) touched.insert(*keys[i].queue);
    last_queue = keys[i].queue;
  }
  SettleDigests();  // tasks that are stale but not changed (tracking was off)
  batch->total_digest = total_;
  batch->queue_digests.clear();
  batch->queue_tallies.clear();
  for (const std::string& name : touched) {
    const QueueSlot& slot = *FindSlot(name);
    batch->queue_digests[name] = slot.digest;
    batch->queue_tallies[name] = QueueTally{slot.task_count, slot.finished};
  }
  batch->rejected.resize(changed_rejected_.size());
  for (size_t i = 0; i < changed_rejected_.size(); ++i) {
    const Uuid& id = changed_rejected_[i];
    batch->rejected[i].first = id;
    batch->rejected[i].second = rejected_.at(id);
  }
  changed_queues_.clear();
  changed_tasks_.clear();
  changed_rejected_.clear();
}

bool State::SameRegisters(const State& other) const {
  assert(!digests_stale() && !other.digests_stale());
  if (total_ != other.total_ || task_count_ != other.task_count_ || rejected_ != other.rejected_ ||
      queues_.size() != other.queues_.size()) {
    return false;
  }
  for (const auto& [name, slot] : queues_) {
    const QueueSlot* theirs = other.FindSlot(name);
    if (theirs == nullptr || slot.record != theirs->record || slot.tasks != theirs->tasks) {
      return false;
    }
  }
  return true;
}

void State::Clear() {
  queues_.clear();
  rejected_.clear();
  task_count_ = 0;
  dropped_count_ = 0;
  eviction_queue_.clear();
  total_ = Digest{};
  stale_tasks_.clear();
  recount_slots_.clear();
  changed_queues_.clear();
  changed_tasks_.clear();
  changed_rejected_.clear();
}

}  // namespace pigtail

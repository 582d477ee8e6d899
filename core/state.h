// The projected state of a node: every queue register, task register and
// rejected op, with claim indexes and digests kept up to date on each write.
//
// Not thread-safe: one writer (the projector, driven by the ingest sequencer
// or a replay) at a time; readers must be serialized with it by the caller.
//
// Task digests are brought up to date lazily: a task write only marks the
// task's digest stale (a task often changes several times between two reads
// of a digest), and SettleDigests() re-encodes and re-hashes each stale task
// once. The writer settles: const accessors only read, so any number of
// readers may share a settled State (e.g. under a shared lock), and a digest
// read through them (total_digest(), QueueDigest(), QueueSlot::digest,
// TaskEntry::digest, SameRegisters()) is current only while
// !digests_stale(). The non-const overloads of those accessors settle first,
// for a single owner that both writes and reads; so does TakeChanges().
//
// Dropping finished tasks (set_evict_finished): a node keeps in memory what
// is live and leaves finished tasks (done, dead, cancelled, purged) to the
// state store once it holds them. Their digests stay counted, so digests
// cover every task. An op for a dropped task is decided and applied against
// its stored register: the caller reads it back with Reinstate() first
// (core/cold_tasks.h), and it leaves memory again once committed.
#ifndef PIGTAIL_CORE_STATE_H_
#define PIGTAIL_CORE_STATE_H_

#include <absl/container/node_hash_map.h>
#include <cassert>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/digest.h"
#include "core/queue_tally.h"
#include "core/registers.h"
#include "core/state_batch.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

// The order in which claimable tasks are handed out: higher priority first,
// then the oldest Add, then the task id.
struct ClaimOrder {
  int64_t priority = 0;
  Hlc added;
  Uuid id;
  bool operator<(const ClaimOrder& o) const;
  bool operator==(const ClaimOrder& o) const = default;
};

// The order of leased (Working) tasks: the lease that runs out first, then
// the task id.
struct LeaseOrder {
  uint64_t expires_ns = 0;  // the status's hlc time + the task's lease length
  Uuid id;
  auto operator<=>(const LeaseOrder& o) const = default;
};

// A Pending task that is not claimable when its status is written (a
// delayed Add, a retry after a backoff): when it becomes claimable, then
// the task id.
struct ReadyOrder {
  uint64_t ready_ns = 0;  // ReadyAtNs
  Uuid id;
  auto operator<=>(const ReadyOrder& o) const = default;
};

// How many of a queue's tasks are visible and live, by their phase.
struct LiveCounts {
  uint64_t pending = 0;  // of these, the delayed ones are in QueueSlot::delayed
  uint64_t working = 0;  // whose lease may have run out since (QueueSlot::leased says)
  bool operator==(const LiveCounts&) const = default;
};

class State {
 public:
  // Pending tasks of one queue, in claim order.
  using OpenIndex = std::set<ClaimOrder>;
  // Working tasks of one queue, by lease expiry.
  using LeaseIndex = std::set<LeaseOrder>;
  // A task register as the state holds it: the record plus what the state
  // keeps about it (compares equal to the plain TaskRecord).
  struct TaskEntry : TaskRecord {
    // The task's element of its queue's OpenIndex while it has one (see
    // QueueSlot::open), so leaving the index needs no search.
    OpenIndex::iterator open_it;
    // Its element of QueueSlot::leased, likewise.
    LeaseIndex::iterator leased_it;
    // Of EncodeTaskRecord(record) as counted in the queue's and the total
    // digest (zero before the first settle); behind the record while stale.
    Digest digest;
    // The checkpoint of the last TakeChanges that took this task (0 for a
    // task read back by Reinstate).
    uint64_t taken_at = 0;
    bool stale = false;    // listed for the next SettleDigests()
    bool changed = false;  // listed among the changes since the last TakeChanges()
  };
  // Everything stored under one queue name. The queue register may be absent
  // while tasks for it have arrived before its Create.
  struct QueueSlot {
    std::optional<QueueRecord> record;
    // A node map: an entry keeps its address until erased (the changed
    // list and the eviction queue point at entries). Abseil's, because a
    // lookup reads its slot array and the entry, where std::unordered_map
    // reads a bucket, the entry before and the entry, each a cache miss
    // once the tasks outgrow the caches.
    absl::node_hash_map<Uuid, TaskEntry, std::hash<Uuid>> tasks;
    // The claim indexes, over tasks with an Add whose outcome is live:
    // Pending ones (claimable once ready) in claim order, and Working ones
    // by lease expiry (claimable once it has passed), so a claim looks at
    // leased tasks only when a lease has run out.
    OpenIndex open;
    LeaseIndex leased;
    // Kept with the claim indexes, for counts without a scan (CountTasks):
    // the visible live tasks by phase, and the visible Pending ones whose
    // status made them wait, by when they may be claimed.
    LiveCounts live;
    std::set<ReadyOrder> delayed;
    Digest digest;            // of the queue register and its tasks, dropped ones too (settled)
    uint64_t task_count = 0;  // its task registers, dropped ones too
    // Its visible finished tasks, dropped ones too. When what is visible
    // changes (the queue register comes, or its `alive` or last Delete
    // moves), they are counted again over the tasks in memory: every task
    // that may turn visible then is in memory (Droppable), except one added
    // on another node after a Delete's stamp and dropped here before that
    // Delete arrived, which is no longer counted (its register and digest
    // are unaffected).
    FinishedCounts finished;
    // Set when what is visible changed: `finished` is counted again at the
    // next SettleDigests() (or before a task of the slot leaves memory),
    // once for any number of changes, so a log that deletes and re-creates
    // a queue often costs one scan of its tasks per settle, not per change.
    bool recount = false;
    // With `recount`: the queue was absent or deleted, so finished tasks it
    // kept in memory may have become droppable; the recount lists them for
    // EvictCommitted.
    bool offer_kept = false;
  };
  using QueueMap = std::map<std::string, QueueSlot, std::less<>>;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  const QueueRecord* FindQueue(std::string_view name) const;
  const TaskRecord* FindTask(std::string_view queue, const Uuid& id) const;
  // The slot's claim indexes are always current; its digests only when
  // settled (see above).
  const QueueSlot* FindSlot(std::string_view queue) const;
  const QueueSlot* FindSlot(std::string_view queue) {
    SettleDigests();
    return std::as_const(*this).FindSlot(queue);
  }
  const QueueMap& queues() const { return queues_; }
  const QueueMap& queues() {
    SettleDigests();
    return queues_;
  }
  const std::map<Uuid, std::string>& rejected() const { return rejected_; }
  // Every task register, in memory or dropped.
  size_t task_count() const { return task_count_; }
  // The task registers changed since the last TakeChanges (0 while change
  // tracking is off): what the next commit writes.
  size_t changed_task_count() const { return changed_tasks_.size(); }
  // The task registers dropped from memory (in the state store only).
  size_t dropped_count() const { return dropped_count_; }
  // Whether the state store may hold a task register of `queue` that
  // memory does not (dropped, or not loaded). When false, a task of the
  // queue that FindTask does not find is new.
  bool HoldsDropped(std::string_view queue) const;

  // REQUIRES: !digests_stale().
  Digest total_digest() const {
    assert(!digests_stale());
    return total_;
  }
  Digest total_digest() {
    SettleDigests();
    return total_;
  }
  // REQUIRES: !digests_stale().
  Digest QueueDigest(std::string_view name) const;
  Digest QueueDigest(std::string_view name) {
    SettleDigests();
    return std::as_const(*this).QueueDigest(name);
  }

  // Brings every stale task digest (and the queue and total digests) up to
  // date, and counts the finished tasks of each queue whose visibility
  // changed (QueueSlot::recount) again. Cheap when nothing is stale.
  void SettleDigests() {
    if (!stale_tasks_.empty()) SettleStale();
    if (!recount_slots_.empty()) RecountListed();
  }
  // True when some digest or finished count awaits SettleDigests().
  bool digests_stale() const { return !stale_tasks_.empty() || !recount_slots_.empty(); }
  // FailedPrecondition while digests_stale(): for readers that take a
  // const State and must not compare stale digests.
  Status CheckSettled() const;

  // Writes a register value, replacing any previous one, and updates indexes
  // and digests. The projector decides what to write; loaders call these
  // directly with stored values.
  void PutQueue(QueueRecord queue);
  void PutTask(TaskRecord task);
  // Changes a task register in place: finds it (or starts {queue, id} with
  // the least status if absent) and calls change(record, created). If that
  // returns true, indexes, digests and change tracking are updated as by
  // PutTask; if false, the state is left exactly as it was. Returns what
  // `change` returned.
  // REQUIRES: `change` leaves queue and id alone, and alters the record only
  // when it returns true.
  template <typename Fn>
  bool UpdateTask(std::string_view queue, const Uuid& id, Fn&& change) {
    TaskHandle h = OpenTask(queue, id);
    bool changed = change(static_cast<TaskRecord&>(*h.entry), h.created);
    CloseTask(h, changed);
    return changed;
  }
  // A task register read from the state store by a loader: as PutTask,
  // except that with evict_finished() a finished task is counted (digests,
  // task_count(), tally) and not kept in memory.
  // REQUIRES: its queue register, if stored, was put first.
  void PutStoredTask(TaskRecord task);
  // A loader that reads a store's tallies (StateBatch::queue_tallies)
  // instead of every task: puts the queue's stored digest (of its register
  // and tasks) and tally, counting all of its tasks as dropped;
  // PutTalliedTask then puts back each task the store holds that memory
  // must (a live one, and every task of a queue without a register or not
  // alive).
  // REQUIRES: evict_finished(); the queue register, if stored, was put
  // first; no task of the queue was put yet.
  void PutStoredTally(std::string_view queue, const Digest& digest, const QueueTally& tally);
  // A stored task register of a queue put by PutStoredTally: kept in memory
  // unless it may be dropped, and not counted again. Corruption if its
  // queue has no tally (nothing changes).
  Status PutTalliedTask(TaskRecord task);

  // When on (off by default), TakeChanges lists the finished tasks it takes,
  // and EvictCommitted drops them from memory once the store holds them.
  void set_evict_finished(bool on) { evict_finished_ = on; }
  bool evict_finished() const { return evict_finished_; }
  // With evict_finished(): live tasks leave memory too once committed, while
  // more than `keep` task registers are in memory, and are read back like
  // finished ones. For a replay, where nothing claims (the claim indexes
  // are off) and memory should not grow with the tasks live at once.
  // REQUIRES: !claim_index() while on; the State holds no live task it
  // dropped when the indexes are turned back on.
  void set_evict_live(bool on, size_t keep = 0) {
    assert(!on || !claim_index_);
    evict_live_ = on;
    keep_in_memory_ = keep;
  }
  // Drops from memory the listed tasks taken at a checkpoint <= `committed`
  // (the store's checkpoint after a commit) and unchanged since, which
  // are still finished; and those read back by Reinstate and left
  // unchanged. Returns how many it dropped.
  // Not dropped, so that QueueSlot::finished stays exact: a task whose queue
  // register is absent, or whose Add comes after the queue's last Delete
  // while the queue is deleted (a Create would make it visible).
  size_t EvictCommitted(uint64_t committed);
  // Whether EvictCommitted(committed) has a task to look at.
  bool eviction_due(uint64_t committed) const {
    return !eviction_queue_.empty() && eviction_queue_.front().checkpoint <= committed;
  }
  // Puts back a dropped task register, read from the state store. Nothing
  // changes when the task is in memory.
  // REQUIRES: `stored` is the register the store holds for a task that
  // was dropped, so the one its digests count.
  void Reinstate(TaskRecord stored);

  // Returns false (and changes nothing) if `event_id` is already recorded.
  bool PutRejected(const Uuid& event_id, std::string reason);

  // When on (the default), writes are remembered until TakeChanges().
  void set_track_changes(bool on) { track_changes_ = on; }

  // When on (the default), the claim indexes (QueueSlot::open and leased)
  // are kept up to date on each write. A bulk writer that reads no claim
  // index (a replay) turns it off: the indexes are emptied and no longer
  // maintained, and turning it back on rebuilds them from the tasks
  // (sorting each queue's tasks once is much cheaper than as many random
  // inserts into a large tree).
  void set_claim_index(bool on);
  bool claim_index() const { return claim_index_; }

  // For a loader that puts a store's tasks with PutTalliedTask (a node's
  // start), which come in id order. Between BeginLoad and FinishLoad the claim
  // indexes are kept as the tasks come while that is about claim order (a
  // node mints time-ordered task ids); when most of the first
  // kLoadOrderSample land far from the end of their priority in their
  // queue's index (ids picked by clients, in no order), the indexes are
  // dropped for the rest of the load and FinishLoad builds them once, by
  // sorting. FinishLoad returns whether it did.
  void BeginLoad();
  bool FinishLoad();
  static constexpr uint32_t kLoadOrderSample = 4096;

  // The registers written since the last call, with current (settled)
  // digests, their encodings (StateBatch::task_bytes) and `checkpoint`.
  // Clears the record of changes.
  StateBatch TakeChanges(uint64_t checkpoint);
  // The same into `*batch`, replacing its contents but reusing its storage:
  // a caller that commits many batches keeps one StateBatch, so the copies
  // of the changed registers reuse the previous batch's strings.
  void TakeChangesInto(uint64_t checkpoint, StateBatch* batch);

  // True if both hold the same registers (indexes and digests follow).
  // REQUIRES: neither has stale digests; the non-const overload settles both.
  bool SameRegisters(const State& other) const;
  bool SameRegisters(State& other) {
    SettleDigests();
    other.SettleDigests();
    return std::as_const(*this).SameRegisters(std::as_const(other));
  }

  void Clear();

 private:
  void ReplaceDigest(QueueSlot* slot, const std::string& old_encoding,
                     const std::string& new_encoding);
  void SettleStale();
  // Sets a task's digest from its encoding (and its queue's and the total)
  // and clears `stale`.
  void SetDigest(QueueSlot* slot, TaskEntry* entry, std::string_view encoding);

  // Where a task belongs in its queue's claim indexes (in at most one).
  struct IndexPlace {
    std::optional<ClaimOrder> open;
    std::optional<LeaseOrder> leased;
    bool visible = false;  // counted in QueueSlot::live (with open or leased)
    std::optional<ReadyOrder> delayed;
  };
  static IndexPlace PlaceIn(const QueueSlot& slot, const TaskRecord& task);
  // PlaceIn, or nowhere while the claim indexes are off.
  IndexPlace PlaceOf(const QueueSlot& slot, const TaskRecord& task) const;
  // Puts every task of `slot` in its claim index from scratch.
  static void RebuildClaimIndexes(QueueSlot* slot);
  // During a load: counts `put`, just put in slot.open, among the sample,
  // and as far when it is not among the last few of its priority.
  void SampleLoadOrder(const QueueSlot& slot, OpenIndex::const_iterator put);
  // Whether the load's sample is complete and mostly far from the end.
  bool LoadComesUnordered() const;
  // Counts a task at `place` in `slot`'s live counts and delayed set
  // (`enter`), or stops counting it.
  static void CountPlace(QueueSlot* slot, const IndexPlace& place, bool enter);

  // A task opened for a change by UpdateTask.
  struct TaskHandle {
    QueueMap::iterator slot;
    TaskEntry* entry = nullptr;
    bool created = false;                         // the task was absent
    bool slot_created = false;                    // so was its queue slot
    IndexPlace place;                             // its claim index entries before the change
    FinishedKind finished = FinishedKind::kNone;  // and how it counted
  };
  TaskHandle OpenTask(std::string_view queue, const Uuid& id);
  void CloseTask(const TaskHandle& h, bool changed);
  // Updates digests, the claim indexes, tallies and change tracking after
  // `entry` (in `slot`) changed; `before` is its place in the indexes
  // before and `finished_before` how it counted.
  // `queue` is the slot's key in queues_.
  void TaskChanged(const std::string* queue, QueueSlot* slot, TaskEntry* entry, bool created,
                   const IndexPlace& before, FinishedKind finished_before);

  // Of the task's encoding (reuses scratch_).
  Digest DigestOf(const TaskRecord& task);
  // Whether a finished `task` may leave memory, and if so whether it
  // counts in slot.dropped (*counted).
  static bool Droppable(const QueueSlot& slot, const TaskRecord& task);
  static FinishedKind FinishedKindIn(const QueueSlot& slot, const TaskRecord& task) {
    return FinishedKindOf(task, slot.record ? &*slot.record : nullptr);
  }
  // Lists `slot` for a recount of its finished tasks (QueueSlot::recount).
  void ListForRecount(QueueSlot* slot, bool offer_kept);
  // Counts slot->finished again over the tasks in memory, if listed, and
  // offers the kept finished tasks to EvictCommitted.
  void RecountFinished(QueueSlot* slot);
  void RecountListed();
  // Puts a stored register in memory whose digest is already counted.
  TaskEntry& PutCounted(QueueSlot* slot, TaskRecord stored);

  QueueMap queues_;
  std::map<Uuid, std::string> rejected_;
  size_t task_count_ = 0;
  size_t dropped_count_ = 0;
  bool evict_finished_ = false;
  bool evict_live_ = false;
  size_t keep_in_memory_ = 0;  // see set_evict_live
  // Tasks to drop once the store holds the checkpoint they were taken at.
  struct EvictionCandidate {
    uint64_t checkpoint;
    QueueSlot* slot;
    Uuid id;
  };
  std::deque<EvictionCandidate> eviction_queue_;
  Digest total_;
  // Tasks with `stale` set when listed, each listed once, with their slot
  // (TakeChangesInto may settle some early: SettleStale skips them). Same
  // address stability argument as changed_tasks_.
  std::vector<std::pair<QueueSlot*, TaskEntry*>> stale_tasks_;
  // Slots with `recount` set when listed, each listed once (slots of
  // queues_, a std::map, keep their address).
  std::vector<QueueSlot*> recount_slots_;
  std::string scratch_;  // reused encoding buffer

  bool track_changes_ = true;
  bool claim_index_ = true;
  // Between BeginLoad and FinishLoad: the puts sampled so far, and how
  // many of them landed far from the end of their index.
  bool loading_ = false;
  uint32_t load_sampled_ = 0;
  uint32_t load_far_ = 0;
  std::set<std::string, std::less<>> changed_queues_;
  // Tasks with `changed` set, each listed once, in the order first changed,
  // with their queue's key in queues_ (for sorting). Entries of a
  // node map keep their address until erased, and an entry is erased
  // only when it never changed (CloseTask) or by Clear().
  struct ChangedTask {
    const std::string* queue;
    QueueSlot* slot;
    TaskEntry* entry;
  };
  std::vector<ChangedTask> changed_tasks_;
  std::vector<Uuid> changed_rejected_;
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_STATE_H_

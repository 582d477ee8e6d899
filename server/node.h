// A Pigtail node's durable and in-memory state: the event store (the log),
// the state store, the projected State, the hybrid clock, this node's id and
// the head of its own chain.
//
// Thread safety: readers call Read() (a shared lock on the State); only the
// ingest sequencer writes, through WriteLocked() (the exclusive lock). The
// stores and the clock are thread-safe themselves. Metadata list helpers are
// serialized by an internal mutex.
#ifndef PIGTAIL_SERVER_NODE_H_
#define PIGTAIL_SERVER_NODE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/event_store.h"
#include "core/state.h"
#include "core/state_store.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

struct NodeOptions {
  // How far ahead of our physical clock a peer's timestamp may be; a peer
  // entry stamped further ahead is deferred (docs/registers.md).
  uint64_t max_clock_offset_ms = 60'000;
  // Physical time source for the HLC and for read-time views (tests inject
  // a fake).
  HybridClock::PhysicalClock physical = &HybridClock::SystemNanos;
  // Events read per step while catching up from the checkpoint at Open.
  size_t catch_up_chunk = 10'000;
  // Catching up logs progress at most this often, once it has taken this
  // long (server/log.h).
  std::chrono::milliseconds load_progress_every{1'000};
  // Finished tasks leave memory once the state store holds them
  // (State::set_evict_finished); off keeps every task in memory.
  bool drop_finished = true;
};

// Counters the sequencer bumps and /metrics reports.
struct NodeCounters {
  std::atomic<uint64_t> events_appended{0};  // new events stored (local and peer)
  std::atomic<uint64_t> duplicate_events{0};
  std::atomic<uint64_t> claims{0};          // leases granted
  std::atomic<uint64_t> lease_expiries{0};  // claims that took over an expired lease
  std::atomic<uint64_t> rejected_ops{0};    // malformed queue ops stored
  std::atomic<uint64_t> foreign_events{0};
  // Peer entries stamped beyond the clock's bounds (time more than
  // max_clock_offset_ms ahead, epoch above ours, count above kMaxHlcCount):
  // deferred, not stored (in attached mode stored, and the clock did not
  // follow them). docs/registers.md, "Hostile clocks".
  std::atomic<uint64_t> future_events{0};
  std::atomic<uint64_t> batches{0};  // sequencer batches written
  // Requests decided in the batches written; divided by `batches`, how many
  // requests share one (synced) log append.
  std::atomic<uint64_t> batch_requests{0};
  // Time in the sequencer's log appends, each with its sync (--sync batch).
  std::atomic<uint64_t> log_append_ns{0};
  // Time the sequencer spent on batches and state commits, that is, not
  // waiting for requests: near the time elapsed, the sequencer is the
  // bottleneck of the writes.
  std::atomic<uint64_t> sequencer_busy_ns{0};
  // Finished tasks read back from the state store for an op on them.
  std::atomic<uint64_t> tasks_reinstated{0};
};

class Node {
 public:
  // Loads the state store into memory, then applies the log from the state's
  // checkpoint onwards (committing as it goes), and sets up the clock past
  // every timestamp it saw. Errors from the stores are returned as is.
  static Result<std::unique_ptr<Node>> Open(std::unique_ptr<EventStore> log,
                                            std::unique_ptr<StateStore> state_store,
                                            const NodeOptions& options);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const Uuid& id() const { return id_; }
  EventStore* log() { return log_.get(); }
  StateStore* state_store() { return state_store_.get(); }
  HybridClock& clock() { return clock_; }
  NodeCounters& counters() { return counters_; }
  // Physical time now, in nanoseconds since the Unix epoch.
  uint64_t NowNanos() const { return physical_(); }
  // Log events applied at Open while catching up.
  uint64_t caught_up_events() const { return caught_up_events_; }

  // Runs `f(const State&)` under the shared lock.
  template <typename F>
  auto Read(F&& f) const {
    std::shared_lock lock(mu_);
    return f(static_cast<const State&>(state_));
  }
  // Runs `f(State*)` under the exclusive lock. For the sequencer. Settles
  // the State's digests before unlocking, so readers under the shared lock
  // (and WriterView) never make the State's const accessors write.
  template <typename F>
  auto WriteLocked(F&& f) {
    std::unique_lock lock(mu_);
    struct Settle {
      State* state;
      ~Settle() { state->SettleDigests(); }
    } settle{&state_};
    return f(&state_);
  }
  // The State without locking. REQUIRES: the caller is the only writer
  // (the sequencer thread) and only reads.
  const State& WriterView() const { return state_; }

  // Reads the task registers `keys` name from the state store and puts
  // those it holds back in the State (State::Reinstate), so that ops on
  // finished tasks dropped from memory are decided and applied against
  // them (core/cold_tasks.h). The store is read without the lock.
  // Sequencer thread (or Open) only. An error changes nothing.
  Status ReinstateTasks(std::vector<TaskKey> keys);
  // State::EvictCommitted under the lock, when there is something to drop
  // and no DropHold lives; returns how many tasks left memory.
  size_t DropCommitted(uint64_t committed);

  // While a DropHold lives, DropCommitted drops nothing (what it would drop
  // waits for the next call). A reader that merges registers read from the
  // state store with the State's holds one from before the store read until
  // the merge: every task the State does not hold at the merge left memory
  // before the read, so the store returned the register the State last
  // held, not an older one whose successor was committed and dropped
  // meanwhile.
  class DropHold {
   public:
    DropHold(DropHold&& other) noexcept : holds_(std::exchange(other.holds_, nullptr)) {}
    DropHold& operator=(DropHold&&) = delete;
    ~DropHold() {
      if (holds_ != nullptr) holds_->fetch_sub(1);
    }

   private:
    friend class Node;
    explicit DropHold(std::atomic<uint32_t>* holds) : holds_(holds) {}
    std::atomic<uint32_t>* holds_;
  };
  DropHold HoldDrops();

  // The last entry of this node's own chain (the `prev` of the next one).
  // Sequencer thread only.
  const std::optional<Uuid>& head() const { return head_; }
  void set_head(const Uuid& id) { head_ = id; }

  // Persistent string sets kept in the log's metadata (e.g. registered
  // notification URLs, peers). Add returns true if it was absent, Remove
  // true if it was present.
  Result<std::vector<std::string>> ListSet(std::string_view key);
  Result<bool> AddToSet(std::string_view key, std::string_view value);
  Result<bool> RemoveFromSet(std::string_view key, std::string_view value);

 private:
  Node(std::unique_ptr<EventStore> log, std::unique_ptr<StateStore> state_store,
       const NodeOptions& options);
  Status Load(const NodeOptions& options);

  std::unique_ptr<EventStore> log_;
  std::unique_ptr<StateStore> state_store_;
  HybridClock::PhysicalClock physical_;
  HybridClock clock_;
  Uuid id_;
  std::optional<Uuid> head_;
  uint64_t caught_up_events_ = 0;
  NodeCounters counters_;

  mutable std::shared_mutex mu_;
  State state_;  // guarded by mu_ (the sequencer is its only writer)
  // Live DropHolds; taken under mu_ (shared) and checked under mu_
  // (exclusive), so a drop either precedes a hold or waits for it.
  std::atomic<uint32_t> drop_holds_{0};

  std::mutex meta_mu_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_NODE_H_

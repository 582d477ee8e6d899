// StateStore: the projection target. Holds the registers the projector
// computes, the checkpoint (the last log sequence number applied) and the
// digests, and commits each batch of them atomically.
//
// Implementations: memory (core/memory_state_store.h), RocksDB and
// PostgreSQL (backends/). Chosen by URI (backends/registry.h).
//
// Thread safety: all methods may be called concurrently; Commit calls are
// serialized internally and a reader sees a batch whole or not at all.
//
// Errors: as EventStore. An error from Commit means nothing of the batch,
// checkpoint or digests was applied.
#ifndef PIGTAIL_CORE_STATE_STORE_H_
#define PIGTAIL_CORE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cold_tasks.h"
#include "core/digest.h"
#include "core/registers.h"
#include "core/state.h"
#include "core/state_batch.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

struct DigestSummary {
  Digest total;
  std::map<std::string, Digest> queues;  // queues with a non-zero digest
  uint64_t checkpoint = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Writes every register in `batch`, its digests and its checkpoint in one
  // atomic write. REQUIRES: batch.checkpoint >= Checkpoint().
  // When `sync` is true the write is durable on return.
  virtual Status Commit(const StateBatch& batch, bool sync) = 0;

  virtual Result<uint64_t> Checkpoint() = 0;
  virtual Result<DigestSummary> Digests() = 0;

  virtual Result<std::optional<QueueRecord>> GetQueue(std::string_view name) = 0;
  virtual Result<std::vector<QueueRecord>> ListQueues() = 0;
  virtual Result<std::optional<TaskRecord>> GetTask(std::string_view queue, const Uuid& id) = 0;
  // The task registers stored under `keys` (in any order, repeats
  // allowed), in key order; a key without one is skipped. One ReadTasks.
  Result<std::vector<TaskRecord>> GetTasks(std::vector<TaskKey> keys);
  // The task registers stored under `queue` with id > `after` (nullopt: from
  // the first), in id order, at most `limit`.
  virtual Result<std::vector<TaskRecord>> ListTasks(std::string_view queue,
                                                    const std::optional<Uuid>& after,
                                                    size_t limit) = 0;
  virtual Result<std::map<Uuid, std::string>> ListRejected() = 0;

  // Called by LoadInto, on its thread, with the number of task registers
  // read so far: after every kLoadProgressTasks of them.
  using LoadProgress = std::function<void(uint64_t tasks_read)>;
  static constexpr uint64_t kLoadProgressTasks = 1 << 16;

  // Reads every register into `state` (which must be empty), without
  // recording them as changes, and reports progress to `progress` when it
  // is set; leaves `state` with settled digests. Used at startup and by
  // verify.
  virtual Status LoadInto(State* state, const LoadProgress& progress) = 0;
  Status LoadInto(State* state) { return LoadInto(state, nullptr); }

  // Removes every register, digest and the checkpoint.
  virtual Status Reset() = 0;

  // Rebuild path: replaces the whole contents with `state` and `checkpoint`
  // as fast as the backend allows (e.g. RocksDB without WAL then flush;
  // PostgreSQL COPY into fresh tables in one transaction). Atomic or
  // all-or-nothing from the point of view of a later open.
  // FailedPrecondition if state.digests_stale().
  virtual Status BulkLoad(const State& state, uint64_t checkpoint) = 0;

 protected:
  // For LoadInto into a State that drops finished tasks: State::
  // PutStoredTally of each queue with a stored tally or digest (a queue
  // with no tally stored gets a zero one). Returns the queues, in order.
  static std::vector<std::string> PutStoredTallies(
      State* state, const std::map<std::string, Digest>& digests,
      const std::map<std::string, QueueTally>& tallies);

  // GetTasks of sorted keys without repeats, at least one. The default
  // reads them one by one; backends read them in one go.
  virtual Result<std::vector<TaskRecord>> ReadTasks(const std::vector<TaskKey>& keys);
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_STATE_STORE_H_

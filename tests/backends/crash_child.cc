// The process the crash test (crash_test.cc) kills. It runs a node's write
// path in a loop until killed:
//   1. open the event store and the state store (as pigtaild does: RocksDB
//      state commits skip the write-ahead log), load the state, and catch
//      the state up from its checkpoint to the end of the log;
//   2. loop: make a batch of queue events, Append it (sync), project the new
//      ones, Commit the StateBatch (synced every kSyncEvery-th time, as a
//      node's committer does not sync), then print
//      "commit <checkpoint> <id of the batch's last event> <1 if synced>"
//      and flush.
//
// Usage: backends_crash_child EVENT_URI STATE_URI POSTGRES_SCHEMA SEED
// Exits 0 after kMaxBatches batches (the parent kills it long before), 2 on
// bad usage, 1 on any store error (printed to stderr).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backends/registry.h"
#include "core/projector.h"
#include "core/state.h"
#include "tests/backends/workload.h"

namespace pigtail {
namespace {

constexpr int kMaxBatches = 100'000;
constexpr int kSyncEvery = 4;

int Fail(const Status& s, const char* what) {
  std::fprintf(stderr, "crash_child: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

int Run(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s EVENT_URI STATE_URI POSTGRES_SCHEMA SEED\n", argv[0]);
    return 2;
  }
  BackendOptions options;
  options.postgres_schema = argv[3];
  // Small memtables, so that unsynced commits are flushed (or not) at many
  // points between the synced ones.
  options.rocksdb_write_buffer_bytes = 64 << 10;
  options.rocksdb_memory_bytes = 8 << 20;
  options.rocksdb_state_commits_skip_wal = true;  // as pigtaild opens it
  options.rocksdb_log_wal_zero_fill = true;       // every append below is synced
  const uint64_t seed = std::strtoull(argv[4], nullptr, 10);

  Result<std::unique_ptr<EventStore>> log = OpenEventStore(argv[1], options);
  if (!log.ok()) return Fail(log.status(), "open event store");
  Result<std::unique_ptr<StateStore>> store = OpenStateStore(argv[2], options);
  if (!store.ok()) return Fail(store.status(), "open state store");

  State state;
  if (Status s = (*store)->LoadInto(&state); !s.ok()) return Fail(s, "load state");
  Result<uint64_t> checkpoint = (*store)->Checkpoint();
  if (!checkpoint.ok()) return Fail(checkpoint.status(), "read checkpoint");
  uint64_t applied = *checkpoint;
  for (int page = 0; page < 1'000'000; ++page) {
    Result<std::vector<StoredEvent>> events = (*log)->Scan(applied, 1000);
    if (!events.ok()) return Fail(events.status(), "scan log");
    if (events->empty()) break;
    for (const StoredEvent& e : *events) {
      (void)ApplyEvent(e.event, &state);
      applied = e.seq;
    }
  }
  if (Status s = (*store)->Commit(state.TakeChanges(applied), true); !s.ok()) {
    return Fail(s, "commit catch-up");
  }
  std::printf("ready %" PRIu64 "\n", applied);
  std::fflush(stdout);

  testing::QueueWorkload workload(seed, 2);
  for (int i = 0; i < kMaxBatches; ++i) {
    std::vector<Event> batch = workload.Take(1 + workload.maker().rng()() % 40);
    Result<std::vector<uint64_t>> seqs = (*log)->Append(batch, true);
    if (!seqs.ok()) return Fail(seqs.status(), "append");
    for (size_t k = 0; k < batch.size(); ++k) {
      if ((*seqs)[k] == 0) continue;
      (void)ApplyEvent(batch[k], &state);
      applied = (*seqs)[k];
    }
    const bool sync = i % kSyncEvery == kSyncEvery - 1;
    if (Status s = (*store)->Commit(state.TakeChanges(applied), sync); !s.ok()) {
      return Fail(s, "commit");
    }
    std::printf("commit %" PRIu64 " %s %d\n", applied, batch.back().id.ToString().c_str(),
                sync ? 1 : 0);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace pigtail

int main(int argc, char** argv) { return pigtail::Run(argc, argv); }

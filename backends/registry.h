// Opens an EventStore or StateStore by URI:
//   memory:                 in memory (tests)
//   rocksdb:PATH            embedded RocksDB at PATH (the default)
//   postgresql://...        PostgreSQL; any libpq connection URI
//   postgres://...          the same
// The log and the state may use different URIs. Opening the event store and
// the state store on the same rocksdb:PATH in one process is allowed.
//
// Creating stores: a writer (BackendOptions::create_if_missing, the default)
// creates a store that does not exist yet, but a RocksDB one only inside an
// existing directory (rocksdb:PATH needs PATH's parent), so a mistyped path
// fails instead of starting empty. A reader (create_if_missing = false)
// never creates anything: no directory, no PostgreSQL schema or table.
#ifndef PIGTAIL_BACKENDS_REGISTRY_H_
#define PIGTAIL_BACKENDS_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event_store.h"
#include "core/state_store.h"
#include "core/status.h"

namespace pigtail {

struct BackendOptions {
  // --- Behaviour ---

  // PostgreSQL schema that holds Pigtail's tables. Created if missing (when
  // create_if_missing).
  std::string postgres_schema = "pigtail";

  // Whether opening may create a store where there is none. false (tools
  // that only read): a missing store is NotFound ("no Pigtail log at ...",
  // "no Pigtail store in schema S") and nothing is created.
  bool create_if_missing = true;

  // RocksDB state store: commits skip the write-ahead log and last from the
  // next flush, which writes every family at one point (a synced commit
  // flushes). For a caller that catches the state up from the log after a
  // crash, as pigtaild does at start; off, each commit lasts once written,
  // so a killed replay resumes after its last commit. Default: off.
  bool rocksdb_state_commits_skip_wal = false;

  // RocksDB event store: its write-ahead log files are filled with zeros
  // ahead of the writes (backends/rocksdb_wal_files.h), so a synced append
  // need not commit a new file size. Only for a caller that syncs every
  // append before it writes the next, as pigtaild does with --sync batch:
  // in an OS crash, unsynced writes over zeros may reach the disk out of
  // order (a later one kept, an earlier one lost), while ext4 lets the
  // appends to a growing file survive only as a prefix. Default: off.
  bool rocksdb_log_wal_zero_fill = false;

  // Called once per store an open creates, with where ("rocksdb:PATH (log)",
  // "PostgreSQL schema S"; never a connection URI), e.g. for a log line.
  // Default: nothing.
  std::function<void(const std::string&)> on_created;

  // --- Performance ---

  // RocksDB memtable size per column family.
  size_t rocksdb_write_buffer_bytes = 64 << 20;
  // RocksDB's memory: one block cache, shared by every RocksDB database the
  // process opens with the same value (pigtaild's log and state), with
  // their memtables charged to it. Memtables take at most half: past that,
  // the largest is flushed.
  size_t rocksdb_memory_bytes = 512 << 20;
};

// The values the flags that set rocksdb_memory_bytes in MiB accept
// (pigtaild's and pigtail-replay's --rocksdb-memory-mb).
inline constexpr uint64_t kMinRocksDbMemoryMb = 8;
inline constexpr uint64_t kMaxRocksDbMemoryMb = uint64_t{1} << 30;

// Returns InvalidArgument for an unknown scheme or malformed URI; NotFound
// for a store that does not exist and may not be created (see above);
// Unavailable, with a message IsStoreLocked recognizes, for a RocksDB store
// another process has open; and the backend's error (Unavailable, IOError,
// Corruption) if it cannot open.
Result<std::unique_ptr<EventStore>> OpenEventStore(std::string_view uri,
                                                   const BackendOptions& options = {});
Result<std::unique_ptr<StateStore>> OpenStateStore(std::string_view uri,
                                                   const BackendOptions& options = {});

// Bytes in use of the RocksDB memory of this process
// (BackendOptions::rocksdb_memory_bytes, every value in use): cached blocks
// and the memtables charged to the cache.
uint64_t RocksDbMemoryInUse();

// The same memory by what holds it, in RocksDB's names for the roles of
// cache entries ("data-block", "filter-block", "index-block",
// "write-buffer" for the memtables' charge, ...), roles holding nothing
// left out. RocksDB rescans the cache only every few seconds, so the
// figures may lag and need not add up to RocksDbMemoryInUse.
std::vector<std::pair<std::string, uint64_t>> RocksDbMemoryByRole();

// Times this process has dropped from RocksDB's cache the blocks of tables
// compaction deleted (backends/rocksdb_cache_sweeper.h), every budget
// still in use.
uint64_t RocksDbCacheSweeps();

// True for the error of opening a store that another process holds open
// (RocksDB's LOCK file), so a caller can add a hint of its own.
bool IsStoreLocked(const Status& status);

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_REGISTRY_H_

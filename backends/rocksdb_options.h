// How the RocksDB backends configure and open their databases, and how
// rocksdb::Status becomes a pigtail Status. Internal to backends/.
//
// On-disk layout: the URI "rocksdb:PATH" names a directory. The event store
// lives in PATH/log and the state store in PATH/state, two independent
// RocksDB instances, so one process may open both on the same PATH (and the
// log and the state can be copied, dropped or rebuilt separately).
//
// Options (every field has a fixed default; the tunable ones come from
// BackendOptions in backends/registry.h):
//
// --- Behaviour ---
//   * Durability is chosen per call: EventStore::Append(events, sync) and
//     StateStore::Commit(batch, sync) set rocksdb::WriteOptions::sync, so a
//     `true` call returns after the WAL is fsynced. The WAL is always on,
//     except during StateStore::BulkLoad (see rocksdb_state_store.cc).
//   * A missing database is created on open only when
//     BackendOptions::create_if_missing and PATH's parent directory exists
//     (PATH and PATH/log or PATH/state are then created); otherwise the open
//     is NotFound and creates nothing. Missing column families are created;
//     a directory that holds an unrelated RocksDB with other column families
//     is opened as long as ours can be added.
//   * A database another process has open (its LOCK file is held) fails the
//     open with Unavailable naming kLockedMessage.
//   * paranoid_checks stays on (RocksDB's default): a corrupt file fails the
//     open with Corruption instead of being skipped.
//
// --- Performance ---
//   * write buffer: BackendOptions::rocksdb_write_buffer_bytes per column
//     family memtable (default 64 MiB), at most 3 memtables per family;
//     write-ahead logs at most 4 write buffers in all, so rarely written
//     families are flushed rather than keeping old logs alive.
//   * memory: BackendOptions::rocksdb_memory_bytes (default 512 MiB), one
//     LRU block cache shared by every database the process opens with the
//     same value (pigtaild's log and state) and every column family, with
//     the memtables charged to it by a WriteBufferManager of half its size
//     (past which the largest memtable is flushed). So RocksDB's memory
//     stays within it however large the stores grow (index and filter
//     blocks are cached too). A CacheSweeper (rocksdb_cache_sweeper.h)
//     drops the blocks of deleted tables once they could fill 1/32 of the
//     budget, so the cache holds what live tables use rather than filling
//     with what compaction replaced. Obsolete tables are deleted by the
//     background threads (avoid_unnecessary_blocking_io).
//   * compression: LZ4 for levels 0-5 and ZSTD for the bottommost level;
//     event JSON compresses about 3x and LZ4 costs little on the hot path.
//   * filters: whole keys, about a 1% false positive rate (Bloom for level
//     0, Ribbon below), on every family read by keys that may be missing,
//     so the point lookups Append makes (dedup, next pointers) rarely touch
//     disk; none on families only scanned (FamilyUse), whose filters would
//     fill the block cache in step with the log and spare no read.
//   * blocks: 4 KiB, 16 KiB in families only scanned.
//   * background jobs: 2 (the target machine has 2 cores).
//   * the log's write-ahead log files are zero-filled a few MiB ahead of
//     the writes when BackendOptions::rocksdb_log_wal_zero_fill says every
//     append is synced (rocksdb_wal_files.h), so a synced write overwrites
//     blocks the file already has and its fdatasync commits no new file
//     size to the file system's journal.
#ifndef PIGTAIL_BACKENDS_ROCKSDB_OPTIONS_H_
#define PIGTAIL_BACKENDS_ROCKSDB_OPTIONS_H_

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/status.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/registry.h"
#include "core/status.h"

namespace pigtail::rocks {

// Bytes in use of every memory budget in use (RocksDbMemoryInUse).
uint64_t MemoryInUse();
// RocksDbMemoryByRole.
std::vector<std::pair<std::string, uint64_t>> MemoryByRole();
// RocksDbCacheSweeps.
uint64_t CacheSweeps();

// Subdirectories of a rocksdb:PATH.
inline constexpr std::string_view kLogSubdir = "log";
inline constexpr std::string_view kStateSubdir = "state";

// In the message of an open that found the database locked.
inline constexpr std::string_view kLockedMessage = "is locked by another process";

// Translates a RocksDB status. NotFound -> NotFound, Corruption ->
// Corruption, IOError/NoSpace -> IOError, Busy/TimedOut/TryAgain ->
// Unavailable, InvalidArgument -> InvalidArgument, anything else ->
// Internal. The message is prefixed with `context`.
Status FromRocks(const rocksdb::Status& s, std::string_view context);

// Views of the same bytes in RocksDB's and the standard library's types.
inline rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// How a column family is read and written, which decides its memtable and
// its table format.
enum class FamilyUse {
  // Read by key and by scans: a skiplist memtable, a filter, 4 KiB blocks.
  kMixed,
  // Read only by key (Get, MultiGet), never iterated, most lookups missing:
  // its 16-byte-prefixed keys go into a hashed memtable, which makes
  // random-key inserts and lookups cheap. A filter, 4 KiB blocks.
  kPoint,
  // Read by scans, or by keys that are there: no filter (it would never
  // spare a read, yet fill the block cache as the family grows) and 16 KiB
  // blocks (a quarter of the index).
  kScanned,
  // kScanned, and written in large batches: the memtable is a vector (an
  // insert is an append; it is sorted once, at flush or when an iterator
  // or a Get needs it, which then copies it), so random-key inserts cost no
  // search.
  kAppended,
};

// How a database's writes survive a crash.
enum class Durability {
  // Each write goes through the write-ahead log, and is kept once Write
  // returns (once synced, if it asked to be).
  kWriteAheadLog,
  // For a store rebuilt from another past its checkpoint (the state, from
  // the log). Writes may skip the write-ahead log (WriteOptions::disableWAL)
  // and then last from their flush on: every flush writes all families at
  // one point, so a crash leaves the database as it was after some earlier
  // write, never part of one.
  kAtomicFlush,
};

// An open database and its column families, in the order requested.
// Closing (the destructor) releases the handles and the DB.
class Database {
 public:
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(size_t i) const { return handles_[i]; }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }

  // Opens the database in PATH/`subdir` of the store rocksdb:`path`, with
  // the column families `families` (besides "default", which is opened and
  // unused), each configured for its FamilyUse in `uses` (kMixed when not
  // named there), with `durability`. Creates it as the header comment says
  // and then calls options.on_created. Returns NotFound for a missing
  // database that may not be created, Unavailable (kLockedMessage) if
  // another process has it open, IOError if a directory cannot be created.
  static Result<std::unique_ptr<Database>> Open(std::string_view path, std::string_view subdir,
                                                const std::vector<std::string>& families,
                                                const BackendOptions& options,
                                                const std::map<std::string, FamilyUse>& uses = {},
                                                Durability durability = Durability::kWriteAheadLog);

  // Flushes every family's memtable (at one point under kAtomicFlush) and
  // waits: what was written is then on disk without the write-ahead log.
  Status FlushAll();

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// A consistent read view over all column families of a DB for one read
// call: pass options() to every read. Released on destruction.
class Snapshot {
 public:
  explicit Snapshot(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {
    options_.snapshot = snapshot_;
  }
  ~Snapshot() { db_->ReleaseSnapshot(snapshot_); }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  const rocksdb::ReadOptions& options() const { return options_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions options_;
};

}  // namespace pigtail::rocks

#endif  // PIGTAIL_BACKENDS_ROCKSDB_OPTIONS_H_

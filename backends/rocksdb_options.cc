#include "backends/rocksdb_options.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>

#include "backends/rocksdb_cache_sweeper.h"
#include "backends/rocksdb_wal_files.h"

namespace pigtail::rocks {

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::Ok();  // the common case builds no message
  std::string message = std::string(context) + ": rocksdb: " + s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kOk:
      return Status::Ok();
    case rocksdb::Status::kNotFound:
      return Status::NotFound(std::move(message));
    case rocksdb::Status::kCorruption:
      return Status::Corruption(std::move(message));
    case rocksdb::Status::kIOError:
      return Status::IOError(std::move(message));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain:
      return Status::Unavailable(std::move(message));
    case rocksdb::Status::kInvalidArgument:
      return Status::InvalidArgument(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

namespace {

// The block cache, memtable accounting and cache sweeper of one memory
// budget, shared by every database open with it (each holds all three), and
// forgotten when the last closes.
template <template <typename> class Pointer>
struct Memory {
  Pointer<rocksdb::Cache> cache;
  Pointer<rocksdb::WriteBufferManager> buffers;
  Pointer<CacheSweeper> sweeper;
};
using SharedMemory = Memory<std::shared_ptr>;

struct MemoryBudgets {
  std::mutex mu;
  std::map<size_t, Memory<std::weak_ptr>> by_bytes;  // guarded by mu
  // The open databases, by the budget they share; one is enough to read
  // that budget's cache statistics. A database leaves before it closes, so
  // a reader holding mu never sees a closed one.
  std::multimap<size_t, rocksdb::DB*> open;  // guarded by mu
};

MemoryBudgets& Budgets() {
  static MemoryBudgets* budgets = new MemoryBudgets();  // never destroyed
  return *budgets;
}

// The cache is swept once the deleted tables' index and filter blocks could
// fill this fraction of it (16 MiB of the default 512 MiB).
constexpr size_t kSweepFraction = 32;

SharedMemory MemoryFor(size_t bytes) {
  MemoryBudgets& budgets = Budgets();
  std::lock_guard lock(budgets.mu);
  Memory<std::weak_ptr>& weak = budgets.by_bytes[bytes];
  SharedMemory m{weak.cache.lock(), weak.buffers.lock(), weak.sweeper.lock()};
  if (m.cache && m.buffers && m.sweeper) return m;
  m.cache = rocksdb::NewLRUCache(bytes);
  m.buffers = std::make_shared<rocksdb::WriteBufferManager>(bytes / 2, m.cache);
  m.sweeper = std::make_shared<CacheSweeper>(m.cache, bytes / kSweepFraction);
  weak = {m.cache, m.buffers, m.sweeper};
  return m;
}

// Options of a family of `use`. The filters cost memory in step with the
// keys stored (index and filter blocks live in the block cache, and a
// table's are loaded when it is opened): Bloom for level 0, built fast on
// every flush, and Ribbon below, the same false positive rate (about 1%)
// in about 30% less space.
rocksdb::ColumnFamilyOptions FamilyOptions(const BackendOptions& options,
                                           const std::shared_ptr<rocksdb::Cache>& cache,
                                           FamilyUse use) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.rocksdb_write_buffer_bytes;
  cf.max_write_buffer_number = 3;
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kZSTD;
  const bool scanned = use == FamilyUse::kScanned || use == FamilyUse::kAppended;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  if (!scanned) {
    table.filter_policy.reset(rocksdb::NewRibbonFilterPolicy(10, /*bloom_before_level=*/1));
  }
  table.block_size = scanned ? 16 << 10 : 4 << 10;
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  switch (use) {
    case FamilyUse::kPoint: {
      // Keys are grouped by their first 16 bytes (a random UUID) in a hashed
      // memtable instead of one big skiplist, so an insert or a lookup (most
      // lookups on the append path miss: is this id stored?) is a hash probe
      // and a search of a tiny list, not a search of a skiplist of millions
      // of keys. One bucket per 64 bytes of write buffer (2^20 for the
      // default 64 MiB, between 2^12 and 2^20): an `ids` entry takes about
      // that much of a memtable, so a full one has about one key per bucket,
      // and the bucket array (8 bytes each, from the memtable's arena) is 1/8
      // of the buffer. A fixed 2^17 left ~8 keys per bucket in a full 64 MiB
      // memtable and the probes measurably slower.
      cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
      const size_t buckets = std::clamp<size_t>(cf.write_buffer_size / 64, 1 << 12, 1 << 20);
      cf.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(buckets));
      break;
    }
    case FamilyUse::kAppended:
      cf.memtable_factory.reset(new rocksdb::VectorRepFactory());
      break;
    case FamilyUse::kMixed:
    case FamilyUse::kScanned:
      break;
  }
  return cf;
}

// The store directory of rocksdb:`path`, without a trailing separator.
std::filesystem::path StoreRoot(std::string_view path) {
  std::filesystem::path root{std::string(path)};
  while (!root.has_filename() && root.has_relative_path()) root = root.parent_path();
  return root;
}

// Decides whether the database in PATH/`subdir` is to be created, and if so
// creates its directories. Returns true when it is to be created.
Result<bool> PrepareDirectory(std::string_view path, std::string_view subdir,
                              const std::string& what, const BackendOptions& options) {
  namespace fs = std::filesystem;
  const fs::path root = StoreRoot(path);
  const fs::path dir = root / std::string(subdir);
  const std::string where = "rocksdb:" + std::string(path);
  std::error_code ec;
  if (fs::exists(dir / "CURRENT", ec)) return false;
  if (!options.create_if_missing) {
    return Status::NotFound("no Pigtail " + what + " at " + where + " (" + dir.string() +
                            (fs::exists(root, ec) ? " holds no database" : " does not exist") +
                            "; nothing was created)");
  }
  if (!fs::is_directory(root, ec)) {
    fs::path parent = root.parent_path();
    if (parent.empty()) parent = ".";
    if (!fs::is_directory(parent, ec)) {
      return Status::NotFound("cannot create a store at " + where + ": the directory " +
                              parent.string() + " does not exist (create it first)");
    }
    fs::create_directory(root, ec);
    if (ec)
      return Status::IOError("cannot create directory " + root.string() + ": " + ec.message());
  }
  fs::create_directory(dir, ec);
  if (ec) return Status::IOError("cannot create directory " + dir.string() + ": " + ec.message());
  return true;
}

}  // namespace

Database::~Database() {
  if (!db_) return;
  {
    MemoryBudgets& budgets = Budgets();
    std::lock_guard lock(budgets.mu);
    for (auto it = budgets.open.begin(); it != budgets.open.end(); ++it) {
      if (it->second == db_.get()) {
        budgets.open.erase(it);
        break;
      }
    }
  }
  // A clean close leaves nothing in the write-ahead log: without this the
  // next open replays every write since the last flush (seconds for a busy
  // node). A read-only database refuses, harmlessly.
  rocksdb::FlushOptions flush;
  flush.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> families = handles_;
  if (default_handle_ != nullptr) families.push_back(default_handle_);
  (void)db_->Flush(flush, families);
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    (void)db_->DestroyColumnFamilyHandle(h);
  }
  if (default_handle_ != nullptr) (void)db_->DestroyColumnFamilyHandle(default_handle_);
  (void)db_->Close();
}

Result<std::unique_ptr<Database>> Database::Open(std::string_view path, std::string_view subdir,
                                                 const std::vector<std::string>& families,
                                                 const BackendOptions& options,
                                                 const std::map<std::string, FamilyUse>& uses,
                                                 Durability durability) {
  const std::string what = subdir == kLogSubdir ? "log" : "state";
  const std::string where = "rocksdb:" + std::string(path);
  PIGTAIL_ASSIGN_OR_RETURN(bool create, PrepareDirectory(path, subdir, what, options));
  const std::string dir = (StoreRoot(path) / std::string(subdir)).string();

  const SharedMemory memory = MemoryFor(options.rocksdb_memory_bytes);
  rocksdb::DBOptions db_options;
  if (subdir == kLogSubdir && options.rocksdb_log_wal_zero_fill) {
    db_options.env = WalZeroFillingEnv();
  }
  db_options.write_buffer_manager = memory.buffers;
  db_options.listeners.push_back(memory.sweeper);
  // Deleting obsolete tables (and so sweeping the cache) is left to the
  // background threads, never to a reader releasing the last iterator.
  db_options.avoid_unnecessary_blocking_io = true;
  db_options.create_if_missing = create;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // A family written rarely (the queues, the checkpoint) keeps every
  // write-ahead log file alive until its memtable is flushed; past this
  // total, RocksDB flushes the families holding the oldest one. Without it
  // a state directory held 21 logs and 1.3 GB after 2.9M lifecycles.
  db_options.max_total_wal_size = 4 * options.rocksdb_write_buffer_bytes;
  db_options.atomic_flush = durability == Durability::kAtomicFlush;
  // The hashed and vector memtables take one writer at a time (writes are
  // serialized by the stores anyway).
  if (std::any_of(uses.begin(), uses.end(), [](const auto& named) {
        return named.second == FamilyUse::kPoint || named.second == FamilyUse::kAppended;
      })) {
    db_options.allow_concurrent_memtable_write = false;
  }

  auto use_of = [&uses](const std::string& name) {
    auto found = uses.find(name);
    return found == uses.end() ? FamilyUse::kMixed : found->second;
  };
  const rocksdb::ColumnFamilyOptions cf_options =
      FamilyOptions(options, memory.cache, FamilyUse::kMixed);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (const std::string& name : families) {
    descriptors.emplace_back(name, FamilyOptions(options, memory.cache, use_of(name)));
  }

  // Column families that exist on disk but that we do not use must be
  // opened too.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const std::string& name : existing) {
      bool known = name == rocksdb::kDefaultColumnFamilyName;
      for (const std::string& f : families) known = known || f == name;
      if (!known) descriptors.emplace_back(name, cf_options);
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (s.IsIOError() && s.ToString().find("/LOCK:") != std::string::npos) {
    return Status::Unavailable("the " + what + " at " + where + " " + std::string(kLockedMessage) +
                               " (" + s.ToString() + ")");
  }
  if (!s.ok()) return FromRocks(s, "open " + dir);
  if (create && options.on_created) options.on_created(where + " (" + what + ")");

  auto out = std::make_unique<Database>();
  out->db_.reset(raw);
  out->default_handle_ = handles[0];
  out->handles_.assign(handles.begin() + 1, handles.begin() + 1 + families.size());
  // Handles of unknown families are not needed after the open.
  for (size_t i = 1 + families.size(); i < handles.size(); ++i) {
    (void)raw->DestroyColumnFamilyHandle(handles[i]);
  }
  MemoryBudgets& budgets = Budgets();
  std::lock_guard lock(budgets.mu);
  budgets.open.emplace(options.rocksdb_memory_bytes, raw);
  return out;
}

Status Database::FlushAll() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  return FromRocks(db_->Flush(flush, handles_), "flush");
}

uint64_t MemoryInUse() {
  MemoryBudgets& budgets = Budgets();
  std::lock_guard lock(budgets.mu);
  uint64_t bytes = 0;
  for (const auto& [budget, memory] : budgets.by_bytes) {
    if (std::shared_ptr<rocksdb::Cache> cache = memory.cache.lock()) bytes += cache->GetUsage();
  }
  return bytes;
}

uint64_t CacheSweeps() {
  MemoryBudgets& budgets = Budgets();
  std::lock_guard lock(budgets.mu);
  uint64_t sweeps = 0;
  for (const auto& [budget, memory] : budgets.by_bytes) {
    if (std::shared_ptr<CacheSweeper> sweeper = memory.sweeper.lock()) sweeps += sweeper->sweeps();
  }
  return sweeps;
}

std::vector<std::pair<std::string, uint64_t>> MemoryByRole() {
  MemoryBudgets& budgets = Budgets();
  std::lock_guard lock(budgets.mu);
  std::vector<std::pair<std::string, uint64_t>> roles;
  for (uint32_t i = 0; i < rocksdb::kNumCacheEntryRoles; ++i) {
    roles.emplace_back(rocksdb::GetCacheEntryRoleName(static_cast<rocksdb::CacheEntryRole>(i)), 0);
  }
  for (auto it = budgets.open.begin(); it != budgets.open.end();
       it = budgets.open.upper_bound(it->first)) {  // one database per budget
    std::map<std::string, std::string> stats;
    if (!it->second->GetMapProperty(rocksdb::DB::Properties::kBlockCacheEntryStats, &stats)) {
      continue;
    }
    for (uint32_t i = 0; i < rocksdb::kNumCacheEntryRoles; ++i) {
      auto found = stats.find(
          rocksdb::BlockCacheEntryStatsMapKeys::UsedBytes(static_cast<rocksdb::CacheEntryRole>(i)));
      if (found != stats.end())
        roles[i].second += std::strtoull(found->second.c_str(), nullptr, 10);
    }
  }
  std::erase_if(roles, [](const auto& role) { return role.second == 0; });
  return roles;
}

}  // namespace pigtail::rocks

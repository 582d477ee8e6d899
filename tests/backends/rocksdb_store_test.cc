// RocksDB-specific behaviour the conformance suites cannot reach: a
// BulkLoad that died half way is detected at open, and its table files are
// deleted; a BulkLoad of many tasks, written in parallel, reads back
// exactly; a store written before
// tallies were kept gets them at open; the event store's `next` family
// keeps only dangling prevs; the log's open write-ahead log is filled with
// zeros ahead only when asked, and a clean close leaves none.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/registry.h"
#include "backends/rocksdb_store.h"
#include "backends/rocksdb_wal_files.h"
#include "tests/backends/backend_fixture.h"
#include "tests/backends/dropping_load.h"
#include "tests/backends/test_macros.h"
#include "tests/backends/workload.h"

namespace pigtail::testing {
namespace {

// Runs `f(db, handle of family)` on the raw `family` of the closed store
// in PATH/`subdir` ("log" or "state").
template <typename F>
void WithRawFamily(const std::string& path, const std::string& subdir, const std::string& family,
                   F&& f) {
  rocksdb::DBOptions options;
  std::vector<std::string> families;
  const std::string dir = (std::filesystem::path(path) / subdir).string();
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : families)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, descriptors, &handles, &db).ok());
  size_t index = families.size();
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i] == family) index = i;
  }
  EXPECT_LT(index, families.size());
  if (index < families.size()) f(db, handles[index]);
  for (rocksdb::ColumnFamilyHandle* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  EXPECT_TRUE(db->Close().ok());
  delete db;
}

TEST(RocksDbStateStoreTest, InterruptedBulkLoadIsDiscardedAtOpen) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  QueueWorkload workload(9, 2);
  State state;
  ProjectAll(workload.Take(200), &state);
  {
    std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
    ASSERT_OK(store->BulkLoad(state, 200));
    ASSERT_EQ(MUST(store->Checkpoint()), 200u);
  }
  // Simulate a crash inside a later BulkLoad: the marker it writes first is
  // still there.
  WithRawFamily(path, "state", "checkpoint",
                [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* checkpoint) {
                  rocksdb::WriteOptions wo;
                  wo.sync = true;
                  EXPECT_TRUE(db->Put(wo, checkpoint, "bulk_load_incomplete", "").ok());
                });
  std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
  EXPECT_EQ(MUST(store->Checkpoint()), 0u);
  State loaded;
  ASSERT_OK(store->LoadInto(&loaded));
  EXPECT_EQ(loaded.task_count(), 0u);
  EXPECT_TRUE(loaded.queues().empty());
  EXPECT_TRUE(MUST(store->Digests()).total.IsZero());
  // And it works normally afterwards.
  ASSERT_OK(store->BulkLoad(state, 200));
  State again;
  ASSERT_OK(store->LoadInto(&again));
  EXPECT_TRUE(again.SameRegisters(state));
}

// The queue `name` with `tasks` added tasks, as events of `maker`.
std::vector<Event> QueueWithTasks(EventMaker& maker, const std::string& name, size_t tasks) {
  const Uuid owner = maker.NewId();
  std::vector<Event> events = {
      maker.NextOp(owner, CreateOp{name, 30'000, std::nullopt, std::nullopt})};
  for (size_t i = 0; i < tasks; ++i) {
    AddOp add;
    add.queue_name = name;
    add.task_name = "t" + std::to_string(i);
    add.info_json = "{}";
    events.push_back(maker.NextOp(owner, add));
  }
  return events;
}

// BulkLoad writes the tasks as table files, key ranges on parallel threads
// (enough tasks here for several), queue by queue in key order, which is
// not name order: a task key starts with its queue name's length, so "zz"
// comes before "alpha" and "aaaaaaaaaaaa" after "gamma_3-x". Loaded over a
// store that held other registers, the store holds exactly the new ones,
// with their live index and tallies, and no staged file is left.
TEST(RocksDbStateStoreTest, BulkLoadOfManyTasksReadsBackExactly) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  QueueWorkload workload(21, 3);
  State state;
  ProjectAll(workload.Take(10'000), &state);
  ProjectAll(QueueWithTasks(workload.maker(), "zz", 20'000), &state);
  ProjectAll(QueueWithTasks(workload.maker(), "aaaaaaaaaaaa", 20'000), &state);
  state.SettleDigests();
  ASSERT_GT(state.task_count(), 40'000u);
  ASSERT_FALSE(state.rejected().empty());
  QueueWorkload older_workload(22, 2);
  State older;
  ProjectAll(older_workload.Take(5'000), &older);
  older.SettleDigests();

  std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
  ASSERT_OK(store->BulkLoad(older, 5'000));
  ASSERT_OK(store->BulkLoad(state, 50'002));
  EXPECT_EQ(MUST(store->Checkpoint()), 50'002u);
  EXPECT_EQ(MUST(store->Digests()).total, state.total_digest());
  State loaded;
  ASSERT_OK(store->LoadInto(&loaded));
  EXPECT_TRUE(loaded.SameRegisters(state));
  EXPECT_EQ(loaded.rejected(), state.rejected());
  ExpectDroppingLoadMatches(store.get(), state);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path) / "state" / "bulk_load"));
}

// A crash between writing table files and ingesting them leaves the files
// in the staging directory; the next open deletes them.
TEST(RocksDbStateStoreTest, TableFilesACrashLeftAreDeletedAtOpen) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  QueueWorkload workload(23, 2);
  State state;
  ProjectAll(workload.Take(300), &state);
  state.SettleDigests();
  {
    std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
    ASSERT_OK(store->BulkLoad(state, 300));
  }
  const std::filesystem::path staging = std::filesystem::path(path) / "state" / "bulk_load";
  std::filesystem::create_directories(staging);
  { std::ofstream(staging / "tasks0.sst") << "half a table file"; }
  std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
  EXPECT_FALSE(std::filesystem::exists(staging));
  State loaded;
  ASSERT_OK(store->LoadInto(&loaded));
  EXPECT_TRUE(loaded.SameRegisters(state));
}

// Deletes every key of the raw `family`.
void ClearRawFamily(const std::string& path, const std::string& family) {
  WithRawFamily(path, "state", family, [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      EXPECT_TRUE(db->Delete({}, cf, it->key()).ok());
    }
    EXPECT_TRUE(it->status().ok());
  });
}

TEST(RocksDbStateStoreTest, AStoreWithoutTalliesGetsThemAtOpen) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  QueueWorkload workload(11, 2);
  State state;
  {
    std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
    for (uint64_t done = 0; done < 600; done += 100) {
      ProjectAll(workload.Take(100), &state);
      ASSERT_OK(store->Commit(state.TakeChanges(done + 100), true));
    }
  }
  // As an older version left it: no tallies, no live index, no marker.
  ClearRawFamily(path, "tallies");
  ClearRawFamily(path, "live");
  WithRawFamily(path, "state", "checkpoint", [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    EXPECT_TRUE(db->Delete({}, cf, "tallied").ok());
  });
  std::unique_ptr<StateStore> store = MUST(OpenRocksDbStateStore(path, backend.options()));
  ExpectDroppingLoadMatches(store.get(), state);
  // And commits keep them up to date.
  ProjectAll(workload.Take(100), &state);
  ASSERT_OK(store->Commit(state.TakeChanges(700), true));
  ExpectDroppingLoadMatches(store.get(), state);
}

TEST(RocksDbEventStoreTest, OpenFailsCleanlyOnAFile) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  // PATH/log is a regular file: the open must fail with an error, not crash.
  {
    std::FILE* f = std::fopen((path + "/log").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  Result<std::unique_ptr<EventStore>> store = OpenRocksDbEventStore(path, backend.options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIOError) << store.status().ToString();
}

std::vector<std::pair<std::string, std::string>> AllKeys(rocksdb::DB* db,
                                                         rocksdb::ColumnFamilyHandle* h) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, h));
  for (it->SeekToFirst(); it->Valid() && out.size() < 1000; it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  EXPECT_TRUE(it->status().ok());
  return out;
}

// The `next` family holds only prevs that are not stored (the usual in-order
// log leaves it empty), and an older log that kept every next pointer there
// is cleaned up at open without losing a pointer.
TEST(RocksDbEventStoreTest, NextHoldsOnlyDanglingPrevs) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  EventMaker maker(7);
  const Uuid owner = maker.NewId();
  const Event a = maker.Next(owner, "1");
  const Event b = maker.Next(owner, "2");
  const Event c = maker.Next(owner, "3");
  const Event d = maker.Next(owner, "4");
  {
    std::unique_ptr<EventStore> store = MUST(OpenRocksDbEventStore(path, backend.options()));
    std::vector<Event> first = {a, b, d};
    MUST(store->Append(first, true));
    EXPECT_EQ(MUST(store->Get(a.id))->next, b.id);
  }
  WithRawFamily(path, "log", "next", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* h) {
    auto keys = AllKeys(db, h);
    ASSERT_EQ(keys.size(), 1u);  // c -> d only
    EXPECT_EQ(keys[0].first, c.id.Bytes());
    EXPECT_EQ(keys[0].second, d.id.Bytes());
    // What the earlier layout also stored: a -> b.
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EXPECT_TRUE(db->Put(wo, h, std::string(a.id.Bytes()), std::string(b.id.Bytes())).ok());
  });
  {
    std::unique_ptr<EventStore> store = MUST(OpenRocksDbEventStore(path, backend.options()));
    EXPECT_EQ(MUST(store->Get(a.id))->next, b.id);
    EXPECT_FALSE(MUST(store->Get(b.id))->next.has_value());
    std::vector<Event> second = {c};
    EXPECT_EQ(MUST(store->Append(second, true)), (std::vector<uint64_t>{4}));
    EXPECT_EQ(MUST(store->Get(b.id))->next, c.id);
    EXPECT_EQ(MUST(store->Get(c.id))->next, d.id);
    std::vector<StoredEvent> scanned = MUST(store->Scan(0, 10));
    ASSERT_EQ(scanned.size(), 4u);
    EXPECT_EQ(scanned[0].next, b.id);
    EXPECT_EQ(scanned[1].next, c.id);
    EXPECT_FALSE(scanned[2].next.has_value());
    EXPECT_EQ(scanned[3].next, d.id);
  }
  WithRawFamily(path, "log", "next", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* h) {
    EXPECT_TRUE(AllKeys(db, h).empty());
  });
}

// Appends `events` to the log and commits their projection to the state.
void StoreAndProject(EventStore* log, StateStore* state, const std::vector<Event>& events) {
  MUST(log->Append(events, true));
  State projected;
  ProjectAll(events, &projected);
  ASSERT_OK(state->Commit(projected.TakeChanges(events.size()), true));
}

// A clean close flushes: the next open has no write-ahead log to replay,
// and the state holds its last commit, which skipped that log (as pigtaild
// opens it).
TEST(RocksDbStoreTest, ACleanCloseLeavesNothingToReplay) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  BackendOptions options = backend.options();
  options.rocksdb_state_commits_skip_wal = true;
  options.rocksdb_log_wal_zero_fill = true;  // as pigtaild opens it; zeros are truncated too
  QueueWorkload workload(3, 2);
  std::vector<Event> events = workload.Take(300);
  {
    std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, options));
    std::unique_ptr<StateStore> state = MUST(OpenRocksDbStateStore(path, options));
    MUST(log->Append(events, true));
    State projected;
    ProjectAll(events, &projected);
    const uint64_t state_wal = WalBytes(path + "/state");
    ASSERT_OK(state->Commit(projected.TakeChanges(events.size()), /*sync=*/false));
    EXPECT_GT(WalBytes(path + "/log"), 0u);
    EXPECT_EQ(WalBytes(path + "/state"), state_wal);
  }
  EXPECT_EQ(WalBytes(path + "/log"), 0u);
  EXPECT_EQ(WalBytes(path + "/state"), 0u);
  std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, options));
  EXPECT_EQ(MUST(log->Count()), events.size());
  std::unique_ptr<StateStore> state = MUST(OpenRocksDbStateStore(path, options));
  EXPECT_EQ(MUST(state->Checkpoint()), events.size());
}

// The log's write-ahead log runs on zeros (backends/rocksdb_wal_files.h)
// only for a caller that syncs every append; the state's never does.
TEST(RocksDbStoreTest, OnlyTheLogOfASyncingCallerRunsOnZeros) {
  constexpr uint64_t kChunk = rocks::ZeroFilledWalFileSystem::kChunkBytes;
  QueueWorkload workload(3, 2);
  const std::vector<Event> events = workload.Take(50);
  for (const bool zero_fill : {false, true}) {
    TestBackend backend(BackendKind::kRocksDb);
    ASSERT_OK(backend.Prepare());
    BackendOptions options = backend.options();
    options.rocksdb_log_wal_zero_fill = zero_fill;
    std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(backend.dir(), options));
    std::unique_ptr<StateStore> state = MUST(OpenRocksDbStateStore(backend.dir(), options));
    MUST(log->Append(events, true));
    State projected;
    ProjectAll(events, &projected);
    ASSERT_OK(state->Commit(projected.TakeChanges(events.size()), /*sync=*/true));
    const uintmax_t log_wal = WalBytes(backend.dir() + "/log");
    const uintmax_t state_wal = WalBytes(backend.dir() + "/state");
    EXPECT_GT(log_wal, 0u);
    EXPECT_EQ(log_wal % kChunk == 0, zero_fill) << log_wal;
    EXPECT_GT(state_wal, 0u);
    EXPECT_NE(state_wal % kChunk, 0u) << state_wal;
  }
}

// The families only scanned carry no filter (it would only fill the block
// cache); the ones probed by keys that may be missing do.
TEST(RocksDbStoreTest, FiltersOnlyWhereLookupsMayMiss) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  QueueWorkload workload(3, 2);
  std::vector<Event> events = workload.Take(500);
  {
    std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, backend.options()));
    std::unique_ptr<StateStore> state = MUST(OpenRocksDbStateStore(path, backend.options()));
    StoreAndProject(log.get(), state.get(), events);
  }  // closing flushes every family to a table
  auto filter_bytes = [&](const std::string& subdir, const std::string& family) {
    uint64_t bytes = 0;
    size_t tables = 0;
    WithRawFamily(path, subdir, family, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
      rocksdb::TablePropertiesCollection properties;
      ASSERT_TRUE(db->GetPropertiesOfAllTables(cf, &properties).ok());
      for (const auto& [file, table] : properties) bytes += table->filter_size;
      tables = properties.size();
    });
    EXPECT_GT(tables, 0u) << subdir << "/" << family;
    return bytes;
  };
  EXPECT_GT(filter_bytes("log", "ids"), 0u);
  EXPECT_GT(filter_bytes("state", "tasks"), 0u);
  EXPECT_EQ(filter_bytes("log", "events"), 0u);
  EXPECT_EQ(filter_bytes("log", "owners"), 0u);
  EXPECT_EQ(filter_bytes("log", "next_by_seq"), 0u);
  EXPECT_EQ(filter_bytes("state", "live"), 0u);
}

// RocksDbMemoryByRole names what holds the cache of the open stores, and
// nothing once they are closed.
TEST(RocksDbStoreTest, MemoryByRoleNamesTheMemtablesAndTheTableBlocks) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  BackendOptions options = backend.options();
  options.rocksdb_memory_bytes = 24 << 20;  // a budget of this test's own
  QueueWorkload workload(3, 2);
  std::vector<Event> first = workload.Take(300);
  std::vector<Event> second = workload.Take(300);
  {
    std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, options));
    MUST(log->Append(first, true));
  }  // flushed to a level-0 table, whose index and filter stay cached
  std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, options));
  MUST(log->Append(second, true));  // in the memtable
  ASSERT_TRUE(MUST(log->Get(first[0].id)).has_value());
  std::map<std::string, uint64_t> roles;
  for (const auto& [role, bytes] : RocksDbMemoryByRole()) {
    EXPECT_GT(bytes, 0u) << role;
    roles[role] = bytes;
  }
  EXPECT_GT(roles["write-buffer"], 0u);
  EXPECT_GT(roles["index-block"], 0u);
  EXPECT_GT(roles["filter-block"], 0u);
  log.reset();
  EXPECT_TRUE(RocksDbMemoryByRole().empty());
}

// A scan of the log (a replay, a peer catching up) reads each block once and
// leaves none in the block cache.
TEST(RocksDbStoreTest, ScansLeaveNoDataBlocksInTheCache) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.dir();
  QueueWorkload workload(3, 2);
  std::vector<Event> events = workload.Take(5000);
  size_t bytes = 0;
  for (const Event& e : events) bytes += e.raw.size();
  ASSERT_GT(bytes, size_t{1} << 20);
  {
    std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, backend.options()));
    MUST(log->Append(events, true));
  }  // flushed to a table
  std::unique_ptr<EventStore> log = MUST(OpenRocksDbEventStore(path, backend.options()));
  const uint64_t before = RocksDbMemoryInUse();
  EXPECT_EQ(MUST(log->Scan(0, events.size())).size(), events.size());
  EXPECT_EQ(MUST(log->ScanRaw(0, events.size())).size(), events.size());
  // Caching the blocks read would have grown the cache by about `bytes`.
  EXPECT_LT(RocksDbMemoryInUse(), before + bytes / 8);
}

}  // namespace
}  // namespace pigtail::testing

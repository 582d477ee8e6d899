// RocksDB-specific behaviour the conformance suites cannot reach: a
// BulkLoad that died half way is detected at open.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>

#include "backends/rocksdb_store.h"
#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"
#include "tests/backends/workload.h"

namespace pigtail::testing {
namespace {

TEST(RocksDbStateStoreTest, InterruptedBulkLoadIsDiscardedAtOpen) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.uri().substr(std::string("rocksdb:").size());
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
  {
    rocksdb::DBOptions options;
    std::vector<std::string> families;
    const std::string dir = (std::filesystem::path(path) / "state").string();
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &families).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& f : families)
      descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, descriptors, &handles, &db).ok());
    size_t checkpoint_family = families.size();
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] == "checkpoint") checkpoint_family = i;
    }
    ASSERT_LT(checkpoint_family, families.size());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EXPECT_TRUE(db->Put(wo, handles[checkpoint_family], "bulk_load_incomplete", "").ok());
    for (rocksdb::ColumnFamilyHandle* h : handles)
      EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db->Close().ok());
    delete db;
  }
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

TEST(RocksDbEventStoreTest, OpenFailsCleanlyOnAFile) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string path = backend.uri().substr(std::string("rocksdb:").size());
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

}  // namespace
}  // namespace pigtail::testing

// CacheSweeper against a real RocksDB: compaction leaves the index and filter
// blocks of the tables it replaced in the block cache, and the sweeper drops
// them.
#include "backends/rocksdb_cache_sweeper.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"

namespace pigtail::testing {
namespace {

constexpr int kRounds = 8;
constexpr int kKeysPerRound = 40000;
constexpr uint64_t kThreshold = 256 << 10;

// A database in `dir` whose tables cache their index and filter blocks in
// `cache`, as the backends' do, with `sweeper` listening unless null.
std::unique_ptr<rocksdb::DB> OpenWithCache(const std::string& dir,
                                           const std::shared_ptr<rocksdb::Cache>& cache,
                                           const std::shared_ptr<rocks::CacheSweeper>& sweeper) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.avoid_unnecessary_blocking_io = true;
  if (sweeper) options.listeners.push_back(sweeper);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(rocksdb::DB::Open(options, dir, &db).ok());
  return std::unique_ptr<rocksdb::DB>(db);
}

// Writes kRounds rounds of new random keys into `db`, each flushed to a
// table and then compacted with every table before it, so that each round
// replaces every table. Returns the index and filter bytes of the live
// tables.
uint64_t CompactRounds(rocksdb::DB* db) {
  std::mt19937_64 random(42);
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kKeysPerRound; ++i) {
      const uint64_t key[2] = {random(), random()};
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(),
                          rocksdb::Slice(reinterpret_cast<const char*>(key), sizeof key),
                          std::string(64, 'v'))
                      .ok());
    }
    EXPECT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    EXPECT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  }
  rocksdb::TablePropertiesCollection tables;
  EXPECT_TRUE(db->GetPropertiesOfAllTables(&tables).ok());
  uint64_t bytes = 0;
  for (const auto& [file, properties] : tables)
    bytes += properties->index_size + properties->filter_size;
  return bytes;
}

TEST(CacheSweeperTest, DropsTheBlocksOfTablesCompactionReplaced) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string dir = backend.dir();

  // Without a sweeper the cache keeps the blocks of every table ever
  // written, several times what the live tables hold.
  auto unswept_cache = rocksdb::NewLRUCache(64 << 20);
  std::unique_ptr<rocksdb::DB> unswept = OpenWithCache(dir + "/unswept", unswept_cache, nullptr);
  ASSERT_NE(unswept, nullptr);
  const uint64_t unswept_live = CompactRounds(unswept.get());
  EXPECT_GT(unswept_cache->GetUsage(), 2 * (unswept_live + kThreshold));

  auto cache = rocksdb::NewLRUCache(64 << 20);
  auto sweeper = std::make_shared<rocks::CacheSweeper>(cache, kThreshold);
  std::unique_ptr<rocksdb::DB> db = OpenWithCache(dir + "/swept", cache, sweeper);
  ASSERT_NE(db, nullptr);
  const uint64_t live = CompactRounds(db.get());
  EXPECT_GT(sweeper->created_bytes(), 2 * (live + kThreshold));
  EXPECT_GT(sweeper->sweeps(), 0u);
  // The tables replaced by the last compaction are deleted in the
  // background, possibly after CompactRange returned.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (cache->GetUsage() > live + kThreshold && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LE(cache->GetUsage(), live + kThreshold);
}

}  // namespace
}  // namespace pigtail::testing

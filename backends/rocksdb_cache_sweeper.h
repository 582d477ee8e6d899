// Drops the blocks of deleted tables from a block cache. Internal to
// backends/.
//
// A table's index and filter blocks enter the block cache when the table is
// written (RocksDB opens every flush and compaction output to check it),
// and RocksDB 7.8 leaves them there after compaction has replaced and
// deleted the table: nothing will read them again, yet they hold their room
// until the cache is full. A node that compacts for hours fills its whole
// budget that way.
//
// CacheSweeper is an EventListener given to every database that shares one
// cache. It sums the index and filter bytes of each table it sees created;
// once the tables deleted since the last sweep held `threshold` bytes, it
// erases every entry of the cache that nothing references
// (Cache::EraseUnRefEntries). That drops the dead blocks, and also blocks of
// live tables not pinned at the moment (data blocks, index and filter
// blocks below level 0), which the next read that needs them loads again.
// Memtable reservations and pinned blocks are referenced and stay.
//
// Tables created before the databases were opened are not summed; their
// blocks go at the first sweep after they are deleted. Thread-safe: RocksDB
// calls the listener from its background threads of every database.
#ifndef PIGTAIL_BACKENDS_ROCKSDB_CACHE_SWEEPER_H_
#define PIGTAIL_BACKENDS_ROCKSDB_CACHE_SWEEPER_H_

#include <rocksdb/cache.h>
#include <rocksdb/listener.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pigtail::rocks {

class CacheSweeper : public rocksdb::EventListener {
 public:
  CacheSweeper(std::shared_ptr<rocksdb::Cache> cache, uint64_t threshold);

  const char* Name() const override { return "PigtailCacheSweeper"; }
  void OnTableFileCreated(const rocksdb::TableFileCreationInfo& info) override;
  void OnTableFileDeleted(const rocksdb::TableFileDeletionInfo& info) override;

  // Sweeps so far.
  uint64_t sweeps() const;
  // Index and filter bytes of the tables created so far (those the cache
  // would hold, dead or alive, without sweeps).
  uint64_t created_bytes() const;

 private:
  const std::shared_ptr<rocksdb::Cache> cache_;
  const uint64_t threshold_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> live_bytes_;  // by database and table; guarded by mu_
  uint64_t dead_bytes_ = 0;                     // since the last sweep; guarded by mu_
  uint64_t created_bytes_ = 0;                  // guarded by mu_
  uint64_t sweeps_ = 0;                         // guarded by mu_
};

}  // namespace pigtail::rocks

#endif  // PIGTAIL_BACKENDS_ROCKSDB_CACHE_SWEEPER_H_

#include "backends/rocksdb_cache_sweeper.h"

#include <utility>

namespace pigtail::rocks {
namespace {

// Two databases may share a cache and both have a table 000042.sst; and the
// directory a path names may be spelled differently at creation and at
// deletion.
std::string TableKey(const std::string& db_name, const std::string& file_path) {
  const size_t slash = file_path.find_last_of('/');
  return db_name + '/' + (slash == std::string::npos ? file_path : file_path.substr(slash + 1));
}

}  // namespace

CacheSweeper::CacheSweeper(std::shared_ptr<rocksdb::Cache> cache, uint64_t threshold)
    : cache_(std::move(cache)), threshold_(threshold) {}

void CacheSweeper::OnTableFileCreated(const rocksdb::TableFileCreationInfo& info) {
  if (!info.status.ok()) return;
  const uint64_t bytes = info.table_properties.index_size + info.table_properties.filter_size;
  std::lock_guard lock(mu_);
  live_bytes_[TableKey(info.db_name, info.file_path)] = bytes;
  created_bytes_ += bytes;
}

void CacheSweeper::OnTableFileDeleted(const rocksdb::TableFileDeletionInfo& info) {
  {
    std::lock_guard lock(mu_);
    auto found = live_bytes_.find(TableKey(info.db_name, info.file_path));
    if (found == live_bytes_.end()) return;
    dead_bytes_ += found->second;
    live_bytes_.erase(found);
    if (dead_bytes_ < threshold_) return;
    dead_bytes_ = 0;
    ++sweeps_;
  }
  // Outside the lock: erasing frees up to the whole cache, and the other
  // database's callbacks need not wait for it.
  cache_->EraseUnRefEntries();
}

uint64_t CacheSweeper::sweeps() const {
  std::lock_guard lock(mu_);
  return sweeps_;
}

uint64_t CacheSweeper::created_bytes() const {
  std::lock_guard lock(mu_);
  return created_bytes_;
}

}  // namespace pigtail::rocks

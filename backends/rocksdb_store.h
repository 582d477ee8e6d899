// Embedded RocksDB EventStore and StateStore at a directory path.
#ifndef PIGTAIL_BACKENDS_ROCKSDB_STORE_H_
#define PIGTAIL_BACKENDS_ROCKSDB_STORE_H_

#include <memory>
#include <string_view>

#include "backends/registry.h"

namespace pigtail {

Result<std::unique_ptr<EventStore>> OpenRocksDbEventStore(std::string_view path,
                                                          const BackendOptions& options);
Result<std::unique_ptr<StateStore>> OpenRocksDbStateStore(std::string_view path,
                                                          const BackendOptions& options);

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_ROCKSDB_STORE_H_

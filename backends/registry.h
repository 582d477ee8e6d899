// Opens an EventStore or StateStore by URI:
//   memory:                 in memory (tests)
//   rocksdb:PATH            embedded RocksDB at PATH (the default)
//   postgresql://...        PostgreSQL; any libpq connection URI
//   postgres://...          the same
// The log and the state may use different URIs. Opening the event store and
// the state store on the same rocksdb:PATH in one process is allowed.
#ifndef PIGTAIL_BACKENDS_REGISTRY_H_
#define PIGTAIL_BACKENDS_REGISTRY_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/event_store.h"
#include "core/state_store.h"
#include "core/status.h"

namespace pigtail {

struct BackendOptions {
  // --- Behaviour ---

  // PostgreSQL schema that holds Pigtail's tables. Created if missing.
  std::string postgres_schema = "pigtail";

  // --- Performance ---

  // RocksDB memtable size per column family.
  size_t rocksdb_write_buffer_bytes = 64 << 20;
  // RocksDB block cache shared by all column families.
  size_t rocksdb_block_cache_bytes = 256 << 20;
};

// Returns InvalidArgument for an unknown scheme or malformed URI, and the
// backend's error (Unavailable, IOError, Corruption) if it cannot open.
Result<std::unique_ptr<EventStore>> OpenEventStore(std::string_view uri,
                                                   const BackendOptions& options = {});
Result<std::unique_ptr<StateStore>> OpenStateStore(std::string_view uri,
                                                   const BackendOptions& options = {});

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_REGISTRY_H_

// The URI registry: maps a backend URI to the factory that opens it. The
// table is explicit (no static registrars a linker could drop).
#include "backends/registry.h"

#include <array>
#include <string>

#include "backends/rocksdb_options.h"
#include "backends/rocksdb_store.h"
#include "core/memory_store.h"
#ifdef PIGTAIL_HAVE_POSTGRES
#include "backends/postgres_store.h"
#endif

namespace pigtail {
namespace {

constexpr std::string_view kAcceptedSchemes =
    "accepted: \"memory:\", \"rocksdb:PATH\", \"postgresql://...\", \"postgres://...\"";

enum class Scheme { kMemory, kRocksDb, kPostgres };

struct ParsedUri {
  Scheme scheme;
  std::string_view rest;  // the path for rocksdb:, the whole URI for PostgreSQL
};

Result<ParsedUri> ParseUri(std::string_view uri) {
  if (uri == "memory:") return ParsedUri{Scheme::kMemory, {}};
  static constexpr std::string_view kRocks = "rocksdb:";
  if (uri.starts_with(kRocks)) {
    std::string_view path = uri.substr(kRocks.size());
    if (path.empty()) {
      return Status::InvalidArgument(
          "rocksdb: URI needs a directory path, e.g. rocksdb:/var/lib/pigtail");
    }
    return ParsedUri{Scheme::kRocksDb, path};
  }
  if (uri.starts_with("postgresql://") || uri.starts_with("postgres://")) {
    return ParsedUri{Scheme::kPostgres, uri};
  }
  return Status::InvalidArgument("unknown backend URI \"" + std::string(uri) + "\"; " +
                                 std::string(kAcceptedSchemes));
}

#ifndef PIGTAIL_HAVE_POSTGRES
Status PostgresNotBuilt() {
  return Status::FailedPrecondition(
      "this build of Pigtail has no PostgreSQL backend (backends/postgres.cmake missing)");
}
#endif

}  // namespace

Result<std::unique_ptr<EventStore>> OpenEventStore(std::string_view uri,
                                                   const BackendOptions& options) {
  PIGTAIL_ASSIGN_OR_RETURN(ParsedUri parsed, ParseUri(uri));
  switch (parsed.scheme) {
    case Scheme::kMemory:
      return NewMemoryEventStore();
    case Scheme::kRocksDb:
      return OpenRocksDbEventStore(parsed.rest, options);
    case Scheme::kPostgres:
#ifdef PIGTAIL_HAVE_POSTGRES
      return OpenPostgresEventStore(parsed.rest, options);
#else
      return PostgresNotBuilt();
#endif
  }
  return Status::Internal("unhandled backend scheme");
}

Result<std::unique_ptr<StateStore>> OpenStateStore(std::string_view uri,
                                                   const BackendOptions& options) {
  PIGTAIL_ASSIGN_OR_RETURN(ParsedUri parsed, ParseUri(uri));
  switch (parsed.scheme) {
    case Scheme::kMemory:
      return NewMemoryStateStore();
    case Scheme::kRocksDb:
      return OpenRocksDbStateStore(parsed.rest, options);
    case Scheme::kPostgres:
#ifdef PIGTAIL_HAVE_POSTGRES
      return OpenPostgresStateStore(parsed.rest, options);
#else
      return PostgresNotBuilt();
#endif
  }
  return Status::Internal("unhandled backend scheme");
}

uint64_t RocksDbMemoryInUse() { return rocks::MemoryInUse(); }

std::vector<std::pair<std::string, uint64_t>> RocksDbMemoryByRole() {
  return rocks::MemoryByRole();
}

uint64_t RocksDbCacheSweeps() { return rocks::CacheSweeps(); }

bool IsStoreLocked(const Status& status) {
  return status.code() == StatusCode::kUnavailable &&
         status.message().find(rocks::kLockedMessage) != std::string::npos;
}

}  // namespace pigtail

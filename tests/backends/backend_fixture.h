// One place to store things for one test, on any backend: a fresh temporary
// directory for RocksDB, a fresh schema for PostgreSQL, nothing for memory.
// Removed (directory deleted, schema dropped) when the object goes away.
//
// PostgreSQL: the server's URI comes from the environment variable
// PIGTAIL_TEST_POSTGRES_URI, which scripts/test.sh sets after starting a
// throwaway cluster. Without it, Prepare() fails: the postgres instances of
// the suites fail rather than skip.
#ifndef PIGTAIL_TESTS_BACKENDS_BACKEND_FIXTURE_H_
#define PIGTAIL_TESTS_BACKENDS_BACKEND_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/event_store.h"
#include "core/state_store.h"
#include "core/status.h"

namespace pigtail::testing {

enum class BackendKind { kMemory, kRocksDb, kPostgres };

// "memory", "rocksdb", "postgres": used as the test-name suffix, so every
// PostgreSQL test has "postgres" in its name.
std::string BackendName(BackendKind kind);

// For gtest's parameter printing.
inline void PrintTo(BackendKind kind, std::ostream* os) { *os << BackendName(kind); }

inline constexpr char kPostgresUriVariable[] = "PIGTAIL_TEST_POSTGRES_URI";

class TestBackend {
 public:
  explicit TestBackend(BackendKind kind);
  ~TestBackend();
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  // Creates the directory or picks the schema. Fails for PostgreSQL when
  // PIGTAIL_TEST_POSTGRES_URI is unset (the message says to use
  // scripts/test.sh).
  Status Prepare();

  BackendKind kind() const { return kind_; }
  // True if a second Open sees what the first one stored.
  bool persistent() const { return kind_ != BackendKind::kMemory; }
  // The URI for both stores (REQUIRES: Prepare() succeeded).
  const std::string& uri() const { return uri_; }
  // The directory of a RocksDB backend, the URI's PATH (REQUIRES: kind
  // kRocksDb, Prepare() succeeded).
  const std::string& dir() const { return dir_; }
  const BackendOptions& options() const { return options_; }

  Result<std::unique_ptr<EventStore>> OpenEvents() const;
  Result<std::unique_ptr<StateStore>> OpenState() const;

 private:
  BackendKind kind_;
  std::string uri_;
  std::string dir_;  // RocksDB only
  BackendOptions options_;
};

// The backends the suites run on: memory, rocksdb, postgres.
std::vector<BackendKind> AllBackends();
// Those whose data survives a reopen: rocksdb, postgres.
std::vector<BackendKind> PersistentBackends();

// Bytes in the write-ahead log files (rocks::IsWalFile) of the RocksDB
// database in `dir`, e.g. the log of a store as PATH/log.
uintmax_t WalBytes(const std::string& dir);

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_BACKENDS_BACKEND_FIXTURE_H_

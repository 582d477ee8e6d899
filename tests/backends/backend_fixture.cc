#include "tests/backends/backend_fixture.h"

#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string_view>

#include "backends/rocksdb_wal_files.h"
#include "core/uuid.h"

namespace pigtail::testing {

std::string BackendName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kMemory:
      return "memory";
    case BackendKind::kRocksDb:
      return "rocksdb";
    case BackendKind::kPostgres:
      return "postgres";
  }
  return "unknown";
}

TestBackend::TestBackend(BackendKind kind) : kind_(kind) {
  // Small buffers: tests open many databases.
  options_.rocksdb_write_buffer_bytes = 4 << 20;
  options_.rocksdb_memory_bytes = 8 << 20;
}

TestBackend::~TestBackend() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  if (kind_ == BackendKind::kPostgres && !uri_.empty()) {
    // Best effort: the cluster is throwaway anyway.
    try {
      pqxx::connection conn(uri_);
      pqxx::work tx(conn);
      tx.exec0("DROP SCHEMA IF EXISTS " + tx.quote_name(options_.postgres_schema) + " CASCADE");
      tx.commit();
    } catch (const std::exception&) {
    }
  }
}

Status TestBackend::Prepare() {
  switch (kind_) {
    case BackendKind::kMemory:
      uri_ = "memory:";
      return Status::Ok();
    case BackendKind::kRocksDb: {
      std::error_code ec;
      std::filesystem::path base = std::filesystem::temp_directory_path(ec);
      if (ec) return Status::IOError("no temporary directory: " + ec.message());
      std::string name = "pigtail-backends-test-" + Uuid::Random().ToString();
      dir_ = (base / name).string();
      std::filesystem::create_directories(dir_, ec);
      if (ec) return Status::IOError("cannot create " + dir_ + ": " + ec.message());
      uri_ = "rocksdb:" + dir_;
      return Status::Ok();
    }
    case BackendKind::kPostgres: {
      const char* uri = std::getenv(kPostgresUriVariable);
      if (uri == nullptr || std::string_view(uri).empty()) {
        return Status::FailedPrecondition(
            std::string(kPostgresUriVariable) +
            " is not set: run the PostgreSQL backend tests via scripts/test.sh, which starts a "
            "throwaway PostgreSQL cluster and sets it");
      }
      uri_ = uri;
      std::string id = Uuid::Random().ToString();
      std::erase(id, '-');
      options_.postgres_schema = "pigtail_test_" + id;
      return Status::Ok();
    }
  }
  return Status::Internal("unknown backend kind");
}

Result<std::unique_ptr<EventStore>> TestBackend::OpenEvents() const {
  return OpenEventStore(uri_, options_);
}

Result<std::unique_ptr<StateStore>> TestBackend::OpenState() const {
  return OpenStateStore(uri_, options_);
}

std::vector<BackendKind> AllBackends() {
  return {BackendKind::kMemory, BackendKind::kRocksDb, BackendKind::kPostgres};
}

std::vector<BackendKind> PersistentBackends() {
  return {BackendKind::kRocksDb, BackendKind::kPostgres};
}

uintmax_t WalBytes(const std::string& dir) {
  uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (rocks::IsWalFile(entry.path().string())) bytes += entry.file_size();
  }
  return bytes;
}

}  // namespace pigtail::testing

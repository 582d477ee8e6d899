// Helpers for the PostgreSQL backend's own tests (postgres_backend_test).
//
// The server comes from PIGTAIL_TEST_POSTGRES_URI (scripts/test.sh starts a
// throwaway cluster with scripts/pg_cluster.sh and exports its URI); tests
// fail with a clear message when it is unset. The reconnect test starts its
// own cluster instead, so it can stop and restart it.
#ifndef PIGTAIL_TESTS_BACKENDS_POSTGRES_TEST_ENV_H_
#define PIGTAIL_TESTS_BACKENDS_POSTGRES_TEST_ENV_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "backends/registry.h"
#include "core/status.h"

namespace pigtail::testing {

// The URI from PIGTAIL_TEST_POSTGRES_URI, or an error explaining how to set it.
Result<std::string> PostgresTestUri();

// A schema name no other test uses.
std::string FreshSchemaName();

// Drops `schema` (and everything in it) on the server at `uri`.
Status DropSchema(const std::string& uri, const std::string& schema);

// Runs one SQL query returning a single value as text (nullopt for NULL).
// For tests only: `sql` is a constant written by the test.
Result<std::optional<std::string>> QueryValue(const std::string& uri, const std::string& sql);

// Runs one SQL statement in its own transaction. For tests only.
Status ExecSql(const std::string& uri, const std::string& sql);

// A test with a schema of its own on the PIGTAIL_TEST_POSTGRES_URI server
// (in options_.postgres_schema), dropped after the test. SetUp fails the
// test when the variable is unset.
class PostgresSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string uri_;
  BackendOptions options_;
};

// A throwaway cluster of the test's own, made with scripts/pg_cluster.sh in
// a fresh directory, removed (server stopped by its PID) on destruction.
class OwnCluster {
 public:
  OwnCluster() = default;
  ~OwnCluster();
  OwnCluster(const OwnCluster&) = delete;
  OwnCluster& operator=(const OwnCluster&) = delete;

  Status Start();
  Status Halt();    // stop the server, keep the data
  Status Resume();  // start it again
  const std::string& uri() const { return uri_; }

 private:
  Status Script(const std::string& command, std::string* out);

  std::string dir_;
  std::string uri_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_BACKENDS_POSTGRES_TEST_ENV_H_

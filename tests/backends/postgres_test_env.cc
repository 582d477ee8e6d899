#include "tests/backends/postgres_test_env.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <pqxx/pqxx>

#include "core/uuid.h"

namespace pigtail::testing {
namespace {

// Quotes `s` for a POSIX shell.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

}  // namespace

Result<std::string> PostgresTestUri() {
  const char* uri = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  if (uri == nullptr || *uri == '\0') {
    return Status::FailedPrecondition(
        "PIGTAIL_TEST_POSTGRES_URI is not set: run the tests through scripts/test.sh, or "
        "start a server with `scripts/pg_cluster.sh start DIR` and export its output as "
        "PIGTAIL_TEST_POSTGRES_URI");
  }
  return std::string(uri);
}

std::string FreshSchemaName() {
  std::string hex = Uuid::Random().ToString();
  std::string name = "pgtest_";
  for (char c : hex) {
    if (c != '-') name.push_back(c);
  }
  return name;
}

Status DropSchema(const std::string& uri, const std::string& schema) {
  try {
    pqxx::connection conn(uri);
    pqxx::work txn(conn);
    txn.exec("DROP SCHEMA IF EXISTS " + conn.quote_name(schema) + " CASCADE");
    txn.commit();
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::IOError(std::string("drop schema: ") + e.what());
  }
}

Status ExecSql(const std::string& uri, const std::string& sql) {
  try {
    pqxx::connection conn(uri);
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::IOError(std::string("exec: ") + e.what());
  }
}

Result<std::optional<std::string>> QueryValue(const std::string& uri, const std::string& sql) {
  try {
    pqxx::connection conn(uri);
    pqxx::read_transaction txn(conn);
    const pqxx::row row = txn.exec1(sql);
    if (row[0].is_null()) return std::optional<std::string>();
    return std::optional<std::string>(row[0].as<std::string>());
  } catch (const std::exception& e) {
    return Status::IOError(std::string("query: ") + e.what());
  }
}

OwnCluster::~OwnCluster() {
  if (!dir_.empty()) {
    std::string ignored;
    (void)Script("stop", &ignored);
  }
}

Status OwnCluster::Script(const std::string& command, std::string* out) {
  const std::string cmd = ShellQuote(std::string(PIGTAIL_SOURCE_DIR) + "/scripts/pg_cluster.sh") +
                          " " + command + " " + ShellQuote(dir_);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return Status::IOError("popen failed: " + cmd);
  std::array<char, 512> buf;
  out->clear();
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
  const int rc = pclose(pipe);
  if (rc != 0) return Status::IOError(cmd + " exited with status " + std::to_string(rc));
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  return Status::Ok();
}

Status OwnCluster::Start() {
  std::string tmpl = "/tmp/pigtail-pgtest-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("mkdtemp failed");
  dir_ = tmpl;
  return Script("start", &uri_);
}

Status OwnCluster::Halt() {
  std::string ignored;
  return Script("halt", &ignored);
}

Status OwnCluster::Resume() {
  std::string ignored;
  return Script("resume", &ignored);
}

void PostgresSchemaTest::SetUp() {
  Result<std::string> uri = PostgresTestUri();
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  uri_ = *uri;
  options_.postgres_schema = FreshSchemaName();
}

void PostgresSchemaTest::TearDown() {
  if (!uri_.empty()) {
    EXPECT_TRUE(DropSchema(uri_, options_.postgres_schema).ok());
  }
}

}  // namespace pigtail::testing

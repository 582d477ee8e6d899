// Black-box tests of passwords with a real PostgreSQL server that requires
// one: pigtaild and pigtail-replay use the password from the URI or from a
// libpq password file, and show it nowhere (start line, GET /health, output,
// errors). The server comes from PIGTAIL_TEST_POSTGRES_URI, a cluster made by
// scripts/pg_cluster.sh, where members of pigtail_password_login must give
// their password; each test makes such a role of its own.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/uuid.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail::testing {
namespace {

class SecretsPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> uri = PostgresTestUri();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    admin_uri_ = *uri;
    Result<std::optional<std::string>> sockets =
        QueryValue(admin_uri_, "SELECT current_setting('unix_socket_directories')");
    ASSERT_TRUE(sockets.ok() && sockets->has_value()) << sockets.status().ToString();
    socket_dir_ = sockets->value().substr(0, sockets->value().find(','));
    Result<std::optional<std::string>> db = QueryValue(admin_uri_, "SELECT current_database()");
    ASSERT_TRUE(db.ok() && db->has_value()) << db.status().ToString();
    database_ = db->value();

    std::string id = Uuid::Random().ToString().substr(0, 8);
    role_ = "pigtail_secret_" + id;
    password_ = "S3cretPw-" + Uuid::Random().ToString().substr(0, 12);
    schema_ = "secrets_" + id;
    ASSERT_TRUE(ExecSql(admin_uri_, "CREATE ROLE " + role_ + " LOGIN SUPERUSER PASSWORD '" +
                                        password_ + "' IN ROLE pigtail_password_login")
                    .ok());
    dir_ = FreshTempDir("secrets");
  }

  void TearDown() override {
    if (!role_.empty()) {
      (void)DropSchema(admin_uri_, schema_);
      (void)ExecSql(admin_uri_, "DROP ROLE IF EXISTS " + role_);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // postgresql://ROLE[:PASSWORD]@/DB?host=SOCKETDIR[&EXTRA]
  std::string Uri(const std::optional<std::string>& password, const std::string& extra = "") {
    return "postgresql://" + role_ + (password ? ":" + *password : "") + "@/" + database_ +
           "?host=" + socket_dir_ + extra;
  }

  // A libpq password file (mode 0600) that gives the role its password.
  std::string WritePassfile() {
    std::string path = dir_ + "/pgpass";
    std::ofstream(path) << "*:*:*:" << role_ << ":" << password_ << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }

  std::vector<std::string> Args(const std::string& uri) {
    return {"--listen", "127.0.0.1:0", "--backend", uri, "--postgres-schema", schema_};
  }

  std::string admin_uri_;
  std::string socket_dir_;
  std::string database_;
  std::string role_;
  std::string password_;
  std::string schema_;
  std::string dir_;
};

TEST_F(SecretsPostgresTest, HealthAndStartLineHideThePassword) {
  PigtaildProcess node(PIGTAILD_PATH);
  ASSERT_TRUE(node.Start(Args(Uri(password_))).ok());
  EXPECT_EQ(node.line().find(password_), std::string::npos) << node.line();
  EXPECT_NE(node.line().find(Uri("****")), std::string::npos) << node.line();

  HttpResponse health = node.Call("GET", "/health");
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.body.find(password_), std::string::npos) << health.body;
  boost::json::value body = JsonBody(health);
  ASSERT_TRUE(body.is_object()) << health.body;
  EXPECT_EQ(body.at("log").as_string(), Uri("****"));
  EXPECT_EQ(body.at("state").as_string(), Uri("****"));
  EXPECT_EQ(node.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
  EXPECT_EQ(node.Stop(), 0);
}

TEST_F(SecretsPostgresTest, PasswordFromPassfileParameter) {
  std::string uri = Uri(std::nullopt, "&passfile=" + WritePassfile());
  PigtaildProcess node(PIGTAILD_PATH);
  ASSERT_TRUE(node.Start(Args(uri)).ok());
  EXPECT_EQ(node.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
  EXPECT_EQ(node.Stop(), 0);
}

TEST_F(SecretsPostgresTest, PasswordFromPgpassfileEnvironment) {
  std::string passfile = WritePassfile();
  ASSERT_EQ(::setenv("PGPASSFILE", passfile.c_str(), 1), 0);  // inherited by the child
  PigtaildProcess node(PIGTAILD_PATH);
  Status started = node.Start(Args(Uri(std::nullopt)));
  ::unsetenv("PGPASSFILE");
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_EQ(node.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
  EXPECT_EQ(node.Stop(), 0);
}

TEST_F(SecretsPostgresTest, MissingOrWrongPasswordIsAClearErrorThatShowsNoPassword) {
  ::unsetenv("PGPASSFILE");
  std::string home = dir_;  // no ~/.pgpass there
  ASSERT_EQ(::setenv("HOME", home.c_str(), 1), 0);
  ExitResult none = RunToExit(PIGTAILD_PATH, Args(Uri(std::nullopt)), dir_);
  EXPECT_EQ(none.code, 1) << none.err;
  EXPECT_NE(none.err.find("password"), std::string::npos) << none.err;

  const std::string wrong = "Wr0ngPw-" + password_;
  ExitResult bad = RunToExit(PIGTAILD_PATH, Args(Uri(wrong)), dir_);
  EXPECT_EQ(bad.code, 1) << bad.err;
  EXPECT_NE(bad.err.find("password authentication failed"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find(wrong), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out.find(wrong), std::string::npos) << bad.out;
}

TEST_F(SecretsPostgresTest, ReplayOutputAndErrorsHideThePassword) {
  const std::string uri = Uri(password_);
  ExitResult text =
      RunToExit(PIGTAIL_REPLAY_PATH,
                {"rebuild", "--from", "memory:", "--into", uri, "--pg-schema", schema_}, dir_);
  EXPECT_EQ(text.code, 0) << text.err;
  ExitResult json = RunToExit(
      PIGTAIL_REPLAY_PATH,
      {"rebuild", "--from", "memory:", "--into", uri, "--pg-schema", schema_, "--json"}, dir_);
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find(Uri("****")), std::string::npos) << json.out;
  // An error that quotes the URI: a misspelt scheme.
  ExitResult typo =
      RunToExit(PIGTAIL_REPLAY_PATH,
                {"verify", "--log", "memory:", "--state", "postgresq" + uri.substr(10)}, dir_);
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.err.find("****"), std::string::npos) << typo.err;
  for (const ExitResult* r : {&text, &json, &typo}) {
    EXPECT_EQ(r->out.find(password_), std::string::npos) << r->out;
    EXPECT_EQ(r->err.find(password_), std::string::npos) << r->err;
  }
}

}  // namespace
}  // namespace pigtail::testing

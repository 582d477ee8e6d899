// pigtail-replay (the real binary) against PostgreSQL stores changed behind
// its back: a task row made undecodable or rewritten by an UPDATE, and
// reading commands pointed at a schema that holds no store. Needs
// PIGTAIL_TEST_POSTGRES_URI (scripts/test.sh sets it); fails without it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/projector.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/replay/log_generator.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail::replay {
namespace {
namespace json = boost::json;

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

class TamperPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> uri = pigtail::testing::PostgresTestUri();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    uri_ = *uri;
    schema_ = pigtail::testing::FreshSchemaName();
    other_ = pigtail::testing::FreshSchemaName();
    dir_ = replay::testing::TempDir("tamper_pg");
    events_ = replay::testing::GenerateLog({.events = 2000, .seed = 71});
    replay::testing::WriteJsonl(events_, dir_ + "/log.jsonl");
    for (const Event& e : events_) ApplyEvent(e, &expected_);
  }
  void TearDown() override {
    (void)pigtail::testing::DropSchema(uri_, schema_);
    (void)pigtail::testing::DropSchema(uri_, other_);
    std::filesystem::remove_all(dir_);
  }

  pigtail::testing::ExitResult Replay(std::vector<std::string> args, const std::string& schema) {
    args.insert(args.end(), {"--pg-schema", schema});
    return pigtail::testing::RunToExit(PIGTAIL_REPLAY_BINARY, args, dir_);
  }
  json::object ReplayJson(std::vector<std::string> args, const std::string& schema, int want) {
    args.push_back("--json");
    pigtail::testing::ExitResult r = Replay(args, schema);
    EXPECT_EQ(r.code, want) << r.err;
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << r.out << r.err;
    return v.is_object() ? v.as_object() : json::object();
  }
  void Rebuild(const std::string& schema) {
    ReplayJson({"rebuild", "--from", "jsonl:" + dir_ + "/log.jsonl", "--into", uri_}, schema, 0);
  }
  TaskRecord Task(const std::string& queue, size_t n) const {
    std::vector<TaskRecord> tasks;
    for (const auto& [id, t] : expected_.queues().at(queue).tasks) tasks.push_back(t);
    std::sort(tasks.begin(), tasks.end(),
              [](const TaskRecord& a, const TaskRecord& b) { return a.id < b.id; });
    return tasks.at(n);
  }
  // UPDATE of one stored task row's value.
  void SetTaskValue(const std::string& schema, const TaskRecord& t, std::string_view value) {
    ASSERT_TRUE(pigtail::testing::ExecSql(
                    uri_, "UPDATE " + schema + ".tasks SET value = '\\x" + HexEncode(value) +
                              "'::bytea WHERE queue = convert_to('" + t.queue +
                              "', 'UTF8') AND id = '" + t.id.ToString() + "'")
                    .ok());
    Result<std::optional<std::string>> n = pigtail::testing::QueryValue(
        uri_, "SELECT count(*) FROM " + schema + ".tasks WHERE id = '" + t.id.ToString() +
                  "' AND value = '\\x" + HexEncode(value) + "'::bytea");
    ASSERT_TRUE(n.ok() && *n && **n == "1") << "the UPDATE did not take";
  }
  bool SchemaExists(const std::string& schema) {
    Result<std::optional<std::string>> v = pigtail::testing::QueryValue(
        uri_, "SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() && *v && **v == "1";
  }

  std::string uri_;
  std::string schema_;
  std::string other_;
  std::string dir_;
  std::vector<Event> events_;
  State expected_;
};

TEST_F(TamperPostgresTest, VerifyPostgresReportsAnUndecodableRowWithItsKey) {
  Rebuild(schema_);
  const TaskRecord damaged = Task("queue-1", 4);
  std::string bytes = EncodeTaskRecord(damaged);
  bytes[0] = static_cast<char>(0xff);
  ASSERT_FALSE(DecodeTaskRecord(bytes).ok());
  SetTaskValue(schema_, damaged, bytes);

  json::object v =
      ReplayJson({"verify", "--log", "jsonl:" + dir_ + "/log.jsonl", "--state", uri_}, schema_, 1);
  EXPECT_EQ(v["difference_count"].to_number<uint64_t>(), 1u) << json::serialize(v);
  EXPECT_EQ(v["undecodable_registers"].to_number<uint64_t>(), 1u);
  const json::object& d = v["differences"].as_array().at(0).as_object();
  EXPECT_EQ(std::string(d.at("queue").as_string()), "queue-1");
  EXPECT_EQ(std::string(d.at("id").as_string()), damaged.id.ToString());
  EXPECT_TRUE(d.contains("undecodable")) << json::serialize(d);
}

TEST_F(TamperPostgresTest, ComparePostgresRecomputesDigestsFromTheRows) {
  Rebuild(schema_);
  Rebuild(other_);
  TaskRecord victim = Task("queue-3", 2);
  victim.status.key.lease += 3;
  SetTaskValue(other_, victim, EncodeTaskRecord(victim));
  // One --pg-schema applies to every target, so the tampered schema is
  // compared with itself: its rows against its stored digests.
  json::object c = ReplayJson({"compare", uri_, uri_}, other_, 1);
  EXPECT_FALSE(c["agree"].as_bool());
  EXPECT_EQ(
      std::string(
          c["digests"].as_array()[0].at("stored_digests_differ_in").as_array()[0].as_string()),
      "queue-3");
  json::object trusted = ReplayJson({"compare", uri_, uri_, "--digests", "stored"}, other_, 0);
  EXPECT_TRUE(trusted["agree"].as_bool());
  // The untouched schema agrees with itself either way.
  EXPECT_TRUE(ReplayJson({"compare", uri_, uri_}, schema_, 0)["agree"].as_bool());
}

TEST_F(TamperPostgresTest, ReadingCommandsCreateNoPostgresSchema) {
  pigtail::testing::ExitResult r =
      Replay({"verify", "--log", "jsonl:" + dir_ + "/log.jsonl", "--state", uri_}, schema_);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("no Pigtail store in schema " + schema_), std::string::npos) << r.err;
  r = Replay({"rebuild", "--from", uri_, "--into", "memory:"}, schema_);
  EXPECT_EQ(r.code, 3) << r.err;
  r = Replay({"export", "--from", uri_}, schema_);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_FALSE(SchemaExists(schema_));
  // A writer creates it.
  Rebuild(schema_);
  EXPECT_TRUE(SchemaExists(schema_));
}

}  // namespace
}  // namespace pigtail::replay

// Blue/green rebuilds into PostgreSQL (replay/blue_green.h) with the real
// pigtail-replay binary: the log lives in the live schema, the new state is
// built in <schema>_rebuild, verified, and switched in by renaming schemas
// in one transaction; the log stays under the live name and the old state
// is kept as <schema>_previous_<time>. Needs PIGTAIL_TEST_POSTGRES_URI
// (scripts/test.sh sets it); fails without it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/projector.h"
#include "replay/blue_green.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/replay/log_generator.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail::replay {
namespace {

class BlueGreenPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> uri = pigtail::testing::PostgresTestUri();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    uri_ = *uri;
    schema_ = pigtail::testing::FreshSchemaName();
    dir_ = replay::testing::TempDir("bluegreen_pg");
  }
  void TearDown() override {
    for (const std::string& s : dropped_) (void)pigtail::testing::DropSchema(uri_, s);
    (void)pigtail::testing::DropSchema(uri_, schema_);
    (void)pigtail::testing::DropSchema(uri_, schema_ + "_rebuild");
    std::filesystem::remove_all(dir_);
  }

  BackendOptions Schema(const std::string& schema) const {
    BackendOptions options;
    options.postgres_schema = schema;
    return options;
  }

  bool SchemaExists(const std::string& schema) {
    Result<std::optional<std::string>> v = pigtail::testing::QueryValue(
        uri_, "SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() && *v && **v == "1";
  }

  pigtail::testing::ExitResult Replay(std::vector<std::string> args) {
    args.insert(args.end(), {"--pg-schema", schema_, "--json"});
    return pigtail::testing::RunToExit(PIGTAIL_REPLAY_BINARY, args, dir_);
  }

  std::string uri_;
  std::string schema_;
  std::string dir_;
  std::vector<std::string> dropped_;
};

TEST_F(BlueGreenPostgresTest, BuildsInAFreshSchemaVerifiesAndSwitchesSchemas) {
  std::vector<Event> events = replay::testing::GenerateLog({.events = 3000, .seed = 61});
  std::vector<Event> half(events.begin(), events.begin() + 1500);
  replay::testing::WriteJsonl(events, dir_ + "/log.jsonl");
  replay::testing::WriteJsonl(half, dir_ + "/half.jsonl");
  State full_state, half_state;
  for (const Event& e : events) ApplyEvent(e, &full_state);
  for (const Event& e : half) ApplyEvent(e, &half_state);
  ASSERT_NE(full_state.total_digest(), half_state.total_digest());

  // The node's layout: log and state in one schema; the state is stale
  // (it was built from the first half of the log).
  ASSERT_EQ(Replay({"import", "--from", "jsonl:" + dir_ + "/log.jsonl", "--into", uri_}).code, 0);
  pigtail::testing::ExitResult stale =
      Replay({"rebuild", "--from", "jsonl:" + dir_ + "/half.jsonl", "--into", uri_});
  ASSERT_EQ(stale.code, 0) << stale.err;
  // Commits into PostgreSQL overlap the replay unless told otherwise.
  EXPECT_TRUE(boost::json::parse(stale.out).as_object()["overlap_commits"].as_bool());

  pigtail::testing::ExitResult run =
      Replay({"rebuild", "--from", uri_, "--into", uri_, "--blue-green"});
  ASSERT_EQ(run.code, 0) << run.err;
  boost::json::object report = boost::json::parse(run.out).as_object();
  EXPECT_TRUE(report["switched"].as_bool());
  EXPECT_EQ(report["staging_schema"].as_string(), schema_ + "_rebuild");
  std::string previous(report["previous_schema"].as_string());
  dropped_.push_back(previous);
  EXPECT_TRUE(previous.starts_with(schema_ + "_previous_")) << previous;
  EXPECT_GT(report["verified_registers"].to_number<uint64_t>(), 0u);

  // The live schema holds the rebuilt state and still the whole log; the
  // staging schema is gone; the old state is kept under `previous`.
  EXPECT_FALSE(SchemaExists(schema_ + "_rebuild"));
  EXPECT_TRUE(SchemaExists(previous));
  {
    Result<std::unique_ptr<StateStore>> live = OpenStateStore(uri_, Schema(schema_));
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    EXPECT_EQ((*live)->Digests()->total, full_state.total_digest());
    Result<std::unique_ptr<EventStore>> log = OpenEventStore(uri_, Schema(schema_));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_EQ(*(*log)->LastSequence(), events.size());
  }
  {
    Result<std::unique_ptr<StateStore>> old = OpenStateStore(uri_, Schema(previous));
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    EXPECT_EQ((*old)->Digests()->total, half_state.total_digest());
  }
  // verify agrees that the live state is the log's.
  EXPECT_EQ(Replay({"verify", "--log", uri_, "--state", uri_}).code, 0);
}

TEST_F(BlueGreenPostgresTest, RefusesToSwitchWithoutAStagedState) {
  const StateLocation live{uri_, schema_};
  Result<std::optional<StateLocation>> none = SwitchToStaging(live);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound) << none.status().ToString();

  // A "staging" schema holding a log is not a staged state: nothing moves.
  Result<std::unique_ptr<EventStore>> log = OpenEventStore(uri_, Schema(schema_ + "_rebuild"));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<Event> events = replay::testing::GenerateLog({.events = 10, .seed = 3});
  ASSERT_TRUE((*log)->Append(events, true).ok());
  log->reset();
  Result<std::optional<StateLocation>> refused = SwitchToStaging(live);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition)
      << refused.status().ToString();
  EXPECT_TRUE(SchemaExists(schema_ + "_rebuild"));
  EXPECT_FALSE(SchemaExists(schema_));

  // A too long schema name has no room for the suffixes.
  EXPECT_FALSE(StagingLocation({uri_, std::string(60, 'a')}).ok());
}

}  // namespace
}  // namespace pigtail::replay

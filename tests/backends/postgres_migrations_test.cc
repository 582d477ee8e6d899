// Schema migrations run at open: idempotent, safe when several opens race,
// refused when the schema is newer than the binary. A store written before
// tallies were kept gets them at open; live_tasks follows the tasks' live
// flags, in a store migrated from the partial index on them too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "backends/postgres_migrations.h"
#include "backends/postgres_store.h"
#include "tests/backends/dropping_load.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/backends/test_macros.h"
#include "tests/backends/workload.h"
#include "tests/core/test_events.h"

namespace pigtail::testing {
namespace {

class PostgresMigrationsTest : public PostgresSchemaTest {
 protected:
  // The value `sql` selects, "NULL" or "error".
  std::string Value(const std::string& sql) {
    Result<std::optional<std::string>> v = QueryValue(uri_, sql);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? v->value_or("NULL") : "error";
  }

  // "count,max" of the schema's schema_version rows.
  std::string Versions() {
    return Value("SELECT count(*) || ',' || max(version) FROM " + options_.postgres_schema +
                 ".schema_version");
  }

  std::string Latest() {
    const std::string n = std::to_string(LatestPgSchemaVersion());
    return n + "," + n;  // one row per migration, numbered from 1
  }

  std::string Count(const std::string& from_where) {
    return Value("SELECT count(*) FROM " + options_.postgres_schema + "." + from_where);
  }

  // live_tasks holds the keys of the tasks whose rows say live, no others,
  // and there are live and finished tasks.
  void ExpectLiveTasksMatch() {
    EXPECT_EQ(Count("tasks t FULL JOIN " + options_.postgres_schema +
                    ".live_tasks l USING (queue, id) "
                    "WHERE t.live IS DISTINCT FROM (l.id IS NOT NULL)"),
              "0");
    EXPECT_NE(Count("live_tasks"), "0");
    EXPECT_NE(Count("tasks WHERE NOT live"), "0");
  }

  // Writes 600 ops of `workload` through a state store, projected into
  // `state` too.
  void CommitSome(QueueWorkload& workload, State& state) {
    Result<std::unique_ptr<StateStore>> store = OpenPostgresStateStore(uri_, options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (uint64_t done = 0; done < 600; done += 100) {
      ProjectAll(workload.Take(100), &state);
      ASSERT_TRUE((*store)->Commit(state.TakeChanges(done + 100), true).ok());
    }
  }
};

TEST_F(PostgresMigrationsTest, ReopeningIsIdempotentAndKeepsData) {
  const Event e = DataEvent(TestId(1), TestId(2), AtMs(1), R"({"x":1})");
  {
    Result<std::unique_ptr<EventStore>> store = OpenPostgresEventStore(uri_, options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Append(std::span(&e, 1), true).ok());
  }
  EXPECT_EQ(Versions(), Latest());
  for (int i = 0; i < 3; ++i) {
    Result<std::unique_ptr<EventStore>> events = OpenPostgresEventStore(uri_, options_);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    Result<std::unique_ptr<StateStore>> state = OpenPostgresStateStore(uri_, options_);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    Result<bool> has = (*events)->Contains(e.id);
    ASSERT_TRUE(has.ok());
    EXPECT_TRUE(*has);
    Result<uint64_t> last = (*events)->LastSequence();
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, 1u);
  }
  EXPECT_EQ(Versions(), Latest());
}

TEST_F(PostgresMigrationsTest, AStoreWithoutTalliesGetsThemAtOpen) {
  QueueWorkload workload(11, 2);
  State state;
  ASSERT_NO_FATAL_FAILURE(CommitSome(workload, state));
  ExpectLiveTasksMatch();
  // As the first schema version left it, before the store's first open
  // after migrating.
  const std::string schema = options_.postgres_schema;
  ASSERT_TRUE(ExecSql(uri_, "UPDATE " + schema +
                                ".tasks SET live = NULL, queue_name = NULL, task_name = NULL, "
                                "state = NULL, lease = NULL, attempts = NULL, added_ns = NULL, "
                                "updated_ns = NULL")
                  .ok());
  ASSERT_TRUE(ExecSql(uri_, "TRUNCATE " + schema + ".queue_tallies").ok());
  ASSERT_TRUE(ExecSql(uri_, "UPDATE " + schema + ".state_summary SET tallied = false").ok());
  Result<std::unique_ptr<StateStore>> store = OpenPostgresStateStore(uri_, options_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(MUST(QueryValue(uri_, "SELECT count(*) FROM " + schema +
                                      ".tasks WHERE live IS NULL OR state IS NULL OR "
                                      "updated_at IS NULL")),
            std::optional<std::string>("0"));
  ExpectDroppingLoadMatches(store->get(), state);
  ExpectLiveTasksMatch();
  ProjectAll(workload.Take(100), &state);
  ASSERT_TRUE((*store)->Commit(state.TakeChanges(700), true).ok());
  ExpectDroppingLoadMatches(store->get(), state);
  ExpectLiveTasksMatch();
}

TEST_F(PostgresMigrationsTest, AStoreWithTheLiveIndexGetsLiveTasksAtOpen) {
  QueueWorkload workload(12, 2);
  State state;
  ASSERT_NO_FATAL_FAILURE(CommitSome(workload, state));
  // As migration 2 left it: live tasks found by a partial index on tasks.
  const std::string schema = options_.postgres_schema;
  ASSERT_TRUE(ExecSql(uri_, "DROP TABLE " + schema + ".live_tasks; CREATE INDEX tasks_live ON " +
                                schema + ".tasks (queue, id) WHERE live; DELETE FROM " + schema +
                                ".schema_version WHERE version = 3")
                  .ok());
  Result<std::unique_ptr<StateStore>> store = OpenPostgresStateStore(uri_, options_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(Versions(), Latest());
  EXPECT_EQ(MUST(QueryValue(uri_, "SELECT to_regclass('" + schema + ".tasks_live') IS NULL")),
            std::optional<std::string>("t"));
  ExpectLiveTasksMatch();
  ExpectDroppingLoadMatches(store->get(), state);
}

TEST_F(PostgresMigrationsTest, ConcurrentOpensOfAFreshSchemaAllSucceed) {
  constexpr int kThreads = 4;
  std::atomic<int> ready{0};
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      // Start together (bounded wait).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (ready.load() < kThreads && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      if (i % 2 == 0) {
        results[i] = OpenPostgresEventStore(uri_, options_).status();
      } else {
        results[i] = OpenPostgresStateStore(uri_, options_).status();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(results[i].ok()) << results[i].ToString();
  EXPECT_EQ(Versions(), Latest());

  // The schema works after the race.
  Result<std::unique_ptr<EventStore>> store = OpenPostgresEventStore(uri_, options_);
  ASSERT_TRUE(store.ok());
  const Event e = DataEvent(TestId(5), TestId(6), AtMs(1), "[]");
  Result<std::vector<uint64_t>> seqs = (*store)->Append(std::span(&e, 1), true);
  ASSERT_TRUE(seqs.ok()) << seqs.status().ToString();
  EXPECT_EQ(*seqs, std::vector<uint64_t>{1});
}

TEST_F(PostgresMigrationsTest, ASchemaNewerThanTheBinaryIsRefused) {
  {
    Result<std::unique_ptr<StateStore>> state = OpenPostgresStateStore(uri_, options_);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
  }
  Status written = ExecSql(uri_, "INSERT INTO " + options_.postgres_schema +
                                     ".schema_version (version) VALUES (100000)");
  ASSERT_TRUE(written.ok()) << written.ToString();
  Result<std::unique_ptr<EventStore>> events = OpenPostgresEventStore(uri_, options_);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(events.status().message().find("100000"), std::string::npos)
      << events.status().ToString();
}

}  // namespace
}  // namespace pigtail::testing

// The PostgreSQL stores survive a server outage: while the server is down
// calls return Unavailable (never throw), and once it is back the next calls
// reconnect by themselves and see everything committed before.
//
// Runs on a throwaway cluster of its own (scripts/pg_cluster.sh in a temp
// directory) so it can stop and start the server.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "backends/postgres_store.h"
#include "core/state.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/core/test_events.h"

namespace pigtail::testing {
namespace {

// Retries `call` (returning a Status) every 100 ms, at most 100 times, until
// it succeeds. Every failure must be Unavailable. Returns the last status.
template <typename Call>
Status RetryWhileUnavailable(Call&& call, int* failures) {
  Status s;
  for (int attempt = 0; attempt < 100; ++attempt) {
    s = call();
    if (s.ok()) return s;
    if (s.code() != StatusCode::kUnavailable) return s;
    ++*failures;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return s;
}

TaskRecord SomeTask(const std::string& queue, uint64_t n) {
  TaskRecord t;
  t.queue = queue;
  t.id = TestId(n);
  t.add = TaskAdd{AtMs(n), "job", R"({"n":1})", 0, 0, std::nullopt, std::nullopt};
  t.status.key.hlc = AtMs(n);
  t.status.key.event_id = t.id;
  return t;
}

TEST(PostgresReconnectTest, StoresRecoverAfterTheServerRestarts) {
  OwnCluster cluster;
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();

  BackendOptions options;
  options.postgres_schema = "reconnect";
  Result<std::unique_ptr<EventStore>> events = OpenPostgresEventStore(cluster.uri(), options);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  Result<std::unique_ptr<StateStore>> state = OpenPostgresStateStore(cluster.uri(), options);
  ASSERT_TRUE(state.ok()) << state.status().ToString();

  const Uuid owner = TestId(500);
  const Event first = DataEvent(TestId(1), owner, AtMs(1), R"({"n":1})");
  ASSERT_TRUE((*events)->Append(std::span(&first, 1), true).ok());
  State projected;
  projected.PutTask(SomeTask("q", 10));
  ASSERT_TRUE((*state)->Commit(projected.TakeChanges(1), true).ok());

  // Server down: every call fails with Unavailable and a clear message.
  ASSERT_TRUE(cluster.Halt().ok());
  Result<Event> made = MakeEvent(NewEvent{TestId(2), owner, first.id, AtMs(2), R"({"n":2})", {}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const Event second = *made;
  Result<std::vector<uint64_t>> down_append = (*events)->Append(std::span(&second, 1), true);
  ASSERT_FALSE(down_append.ok());
  EXPECT_EQ(down_append.status().code(), StatusCode::kUnavailable)
      << down_append.status().ToString();
  EXPECT_NE(down_append.status().message().find("PostgreSQL"), std::string::npos);
  Result<bool> down_contains = (*events)->Contains(first.id);
  ASSERT_FALSE(down_contains.ok());
  EXPECT_EQ(down_contains.status().code(), StatusCode::kUnavailable);
  Result<uint64_t> down_checkpoint = (*state)->Checkpoint();
  ASSERT_FALSE(down_checkpoint.ok());
  EXPECT_EQ(down_checkpoint.status().code(), StatusCode::kUnavailable);
  // Opening while down is Unavailable too.
  Result<std::unique_ptr<EventStore>> down_open = OpenPostgresEventStore(cluster.uri(), options);
  ASSERT_FALSE(down_open.ok());
  EXPECT_EQ(down_open.status().code(), StatusCode::kUnavailable);

  // Server back: the same store objects reconnect.
  ASSERT_TRUE(cluster.Resume().ok());
  int failures = 0;
  std::vector<uint64_t> seqs;
  Status appended = RetryWhileUnavailable(
      [&] {
        Result<std::vector<uint64_t>> r = (*events)->Append(std::span(&second, 1), true);
        if (r.ok()) seqs = *r;
        return r.status();
      },
      &failures);
  ASSERT_TRUE(appended.ok()) << appended.ToString();
  EXPECT_EQ(seqs, std::vector<uint64_t>{2});
  Result<std::optional<StoredEvent>> got = (*events)->Get(first.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->event.raw, first.raw);
  ASSERT_TRUE((*got)->next.has_value());
  EXPECT_EQ(*(*got)->next, TestId(2));

  projected.PutTask(SomeTask("q", 11));
  Status committed = RetryWhileUnavailable(
      [&] { return (*state)->Commit(projected.TakeChanges(2), true); }, &failures);
  ASSERT_TRUE(committed.ok()) << committed.ToString();
  State loaded;
  ASSERT_TRUE((*state)->LoadInto(&loaded).ok());
  EXPECT_TRUE(loaded.SameRegisters(projected));
  Result<uint64_t> checkpoint = (*state)->Checkpoint();
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, 2u);
}

TEST(PostgresReconnectTest, ARestartBetweenCallsCostsAtMostOneFailure) {
  OwnCluster cluster;
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  BackendOptions options;
  options.postgres_schema = "restart";
  Result<std::unique_ptr<EventStore>> events = OpenPostgresEventStore(cluster.uri(), options);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_TRUE((*events)->PutMeta("k", "v1").ok());

  ASSERT_TRUE(cluster.Halt().ok());
  ASSERT_TRUE(cluster.Resume().ok());

  // The old connection is dead; the first call may report it, the next one
  // must have reconnected.
  Status first = (*events)->PutMeta("k", "v2");
  if (!first.ok()) {
    EXPECT_EQ(first.code(), StatusCode::kUnavailable) << first.ToString();
    ASSERT_TRUE((*events)->PutMeta("k", "v2").ok());
  }
  Result<std::optional<std::string>> v = (*events)->GetMeta("k");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->value_or(""), "v2");
}

}  // namespace
}  // namespace pigtail::testing

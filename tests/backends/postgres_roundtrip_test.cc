// Hostile names and payloads round-trip through the PostgreSQL stores byte
// for byte: SQL-injection-style strings, quotes, backslashes, NUL (as a JSON
// escape in events and as a raw byte in binary registers) and unicode.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/postgres_store.h"
#include "backends/postgres_values.h"
#include "core/codec.h"
#include "core/state.h"
#include "core/task_view.h"
#include "tests/backends/dropping_load.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/core/test_events.h"

namespace pigtail::testing {
namespace {

using namespace std::string_literals;

using PostgresRoundTripTest = PostgresSchemaTest;

// Strings no store may mangle.
std::vector<std::string> HostileNames() {
  return {
      "'; DROP TABLE tasks; --"s,
      "a\"b\\c'd"s,
      "nul\0inside"s,
      "\0"s,
      "очередь 🐢 żółw"s,
      "$1::bytea[] {\"\\\\x00\"}"s,
      "\xff\xfe raw high bytes"s,
      ""s,
  };
}

TEST_F(PostgresRoundTripTest, EventsKeepTheirBytesExactly) {
  Result<std::unique_ptr<EventStore>> store = OpenPostgresEventStore(uri_, options_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const Uuid owner = TestId(1000);

  std::vector<Event> events;
  events.push_back(
      DataEvent(TestId(1), owner, AtMs(1), R"({"s":"'; DROP TABLE events; --","q":"\"x\" \\ y"})"));
  events.push_back(DataEvent(TestId(2), owner, AtMs(2), R"({"nul":"a\u0000b","z":"\u0000"})"));
  events.push_back(DataEvent(TestId(3), owner, AtMs(3), "{\"u\":\"żółw 🐢 \\ud83d\\udc22\"}"));
  // Hand-written JSON with odd spacing and key order: stored verbatim.
  Result<Event> spaced = ParseEvent(
      "  {\"when\" : [0,[4000000],0],\n\t\"data\":{\"k\" : \"v\\u0000\"},"
      "\"owner\":\"" +
      owner.ToString() + "\",  \"id\":\"" + TestId(4).ToString() + "\", \"prev\":null}  ");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  events.push_back(*spaced);

  Result<std::vector<uint64_t>> seqs = (*store)->Append(events, /*sync=*/true);
  ASSERT_TRUE(seqs.ok()) << seqs.status().ToString();
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{1, 2, 3, 4}));

  for (const Event& e : events) {
    Result<std::optional<StoredEvent>> got = (*store)->Get(e.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->event.raw, e.raw);
    EXPECT_EQ((*got)->event.when, e.when);
    EXPECT_EQ((*got)->event.owner, owner);
  }
  Result<std::vector<StoredEvent>> scanned = (*store)->Scan(0, 100);
  ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
  ASSERT_EQ(scanned->size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ((*scanned)[i].event.raw, events[i].raw);
    EXPECT_EQ((*scanned)[i].seq, i + 1);
  }
  // The tables survived the injection-style payload.
  Result<uint64_t> count = (*store)->Count();
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 4u);
}

TEST_F(PostgresRoundTripTest, MetaKeysAndValuesAreArbitraryBytes) {
  Result<std::unique_ptr<EventStore>> store = OpenPostgresEventStore(uri_, options_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::vector<std::string> names = HostileNames();
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE((*store)->PutMeta(names[i], names[(i + 1) % names.size()]).ok());
  }
  for (size_t i = 0; i < names.size(); ++i) {
    Result<std::optional<std::string>> v = (*store)->GetMeta(names[i]);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_TRUE(v->has_value()) << "key #" << i;
    EXPECT_EQ(**v, names[(i + 1) % names.size()]) << "key #" << i;
  }
  ASSERT_TRUE((*store)->DeleteMeta(names[2]).ok());
  Result<std::optional<std::string>> gone = (*store)->GetMeta(names[2]);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  // "nul\0inside" is gone; its prefix "nul" was never a key.
  Result<std::optional<std::string>> prefix = (*store)->GetMeta("nul");
  ASSERT_TRUE(prefix.ok());
  EXPECT_FALSE(prefix->has_value());
}

// A state whose every string field is hostile.
void FillHostileState(State* state) {
  const std::vector<std::string> names = HostileNames();
  for (size_t i = 0; i < names.size(); ++i) {
    QueueRecord q;
    q.name = names[i];
    q.last = Stamp{AtMs(i + 1), TestId(100 + i)};
    q.alive = true;
    q.timeout_ms = 1000 * (i + 1);
    q.max_attempts = static_cast<uint32_t>(i);
    state->PutQueue(q);
    for (size_t j = 0; j < 3; ++j) {
      TaskRecord t;
      t.queue = names[i];
      t.id = TestId(1000 * (i + 1) + j);
      TaskAdd add;
      add.hlc = AtMs(10 + j);
      add.task_name = names[(i + j) % names.size()];
      add.info_json = R"({"q":"\"'; DROP TABLE queues; --","b":"\\","n":"\u0000","u":"🐢"})";
      add.priority = -static_cast<int64_t>(j);
      t.add = add;
      t.status.key.hlc = AtMs(20 + j);
      t.status.key.event_id = t.id;
      t.status.error = "err\0\xff"s + names[j % names.size()];
      state->PutTask(t);
    }
  }
  ASSERT_TRUE(state->PutRejected(TestId(9), "reason with \0 and 'quotes' and \\"s));
}

// Every task row of `state`'s tasks shows what its register says in the
// columns for operators (docs/postgres_schema.md).
void ExpectTaskColumns(const std::string& uri, const std::string& schema, State& state) {
  for (const auto& [name, slot] : state.queues()) {
    for (const auto& [id, t] : slot.tasks) {
      const std::string want =
          DisplayText(name) + "|" + (t.add ? DisplayText(t.add->task_name) : "<null>") + "|" +
          std::string(StoredStateName(t)) + "|" +
          (t.status.key.outcome == Outcome::kLive ? "true" : "false") + "|" +
          std::to_string(t.status.key.lease) + "|" + std::to_string(AttemptsStarted(t)) + "|" +
          (t.add ? std::to_string(t.add->hlc.time) : "<null>") + "|" +
          std::to_string(t.status.key.hlc.time);
      Result<std::optional<std::string>> got =
          QueryValue(uri,
                     "SELECT queue_name || '|' || coalesce(task_name, '<null>') || '|' || state || "
                     "'|' || live || '|' || lease || '|' || attempts || '|' || "
                     "coalesce(added_ns::text, '<null>') || '|' || updated_ns FROM " +
                         schema + ".tasks WHERE queue = '" + ByteaHexLiteral(name) +
                         "'::bytea AND id = '" + id.ToString() + "'");
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, std::optional<std::string>(want)) << id.ToString();
    }
  }
}

TEST_F(PostgresRoundTripTest, RegistersWithHostileNamesRoundTrip) {
  Result<std::unique_ptr<StateStore>> store = OpenPostgresStateStore(uri_, options_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  State state;
  FillHostileState(&state);
  ASSERT_TRUE((*store)->Commit(state.TakeChanges(42), /*sync=*/true).ok());

  for (const std::string& name : HostileNames()) {
    Result<std::optional<QueueRecord>> q = (*store)->GetQueue(name);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    ASSERT_TRUE(q->has_value());
    EXPECT_EQ(**q, *state.FindQueue(name));
    Result<std::vector<TaskRecord>> tasks = (*store)->ListTasks(name, std::nullopt, 100);
    ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
    ASSERT_EQ(tasks->size(), 3u);
    for (const TaskRecord& t : *tasks) EXPECT_EQ(t, *state.FindTask(name, t.id));
    Result<std::optional<TaskRecord>> one = (*store)->GetTask(name, (*tasks)[1].id);
    ASSERT_TRUE(one.ok());
    ASSERT_TRUE(one->has_value());
    EXPECT_EQ(**one, (*tasks)[1]);
  }
  // Queue names are distinct keys even when one is a prefix of another.
  Result<std::optional<QueueRecord>> prefix = (*store)->GetQueue("nul");
  ASSERT_TRUE(prefix.ok());
  EXPECT_FALSE(prefix->has_value());

  Result<std::map<Uuid, std::string>> rejected = (*store)->ListRejected();
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(*rejected, state.rejected());

  Result<DigestSummary> digests = (*store)->Digests();
  ASSERT_TRUE(digests.ok()) << digests.status().ToString();
  EXPECT_EQ(digests->total, state.total_digest());
  EXPECT_EQ(digests->checkpoint, 42u);
  for (const std::string& name : HostileNames()) {
    ASSERT_TRUE(digests->queues.contains(name));
    EXPECT_EQ(digests->queues.at(name), state.QueueDigest(name));
  }

  State loaded;
  ASSERT_TRUE((*store)->LoadInto(&loaded).ok());
  EXPECT_TRUE(loaded.SameRegisters(state));
  EXPECT_EQ(loaded.total_digest(), state.total_digest());
  ExpectTaskColumns(uri_, options_.postgres_schema, state);
}

TEST_F(PostgresRoundTripTest, BulkLoadCopiesHostileRegistersExactly) {
  Result<std::unique_ptr<StateStore>> store = OpenPostgresStateStore(uri_, options_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  State state;
  FillHostileState(&state);
  state.SettleDigests();
  ASSERT_TRUE((*store)->BulkLoad(state, 77).ok());

  State loaded;
  ASSERT_TRUE((*store)->LoadInto(&loaded).ok());
  EXPECT_TRUE(loaded.SameRegisters(state));
  Result<DigestSummary> digests = (*store)->Digests();
  ASSERT_TRUE(digests.ok());
  EXPECT_EQ(digests->checkpoint, 77u);
  EXPECT_EQ(digests->total, state.total_digest());
  EXPECT_EQ(digests->queues.size(), HostileNames().size());
  ExpectTaskColumns(uri_, options_.postgres_schema, state);
  // A start reads the live tasks through live_tasks, which BulkLoad fills.
  ExpectDroppingLoadMatches(store->get(), state);
}

TEST_F(PostgresRoundTripTest, SchemaNamesAreValidated) {
  for (const std::string& bad :
       {"x\"; DROP SCHEMA public CASCADE; --"s, "Upper"s, "pg_catalog"s, "1abc"s, ""s, "has space"s,
        "semi;colon"s, std::string(64, 'a'), "nul\0"s}) {
    BackendOptions options;
    options.postgres_schema = bad;
    Result<std::unique_ptr<EventStore>> events = OpenPostgresEventStore(uri_, options);
    ASSERT_FALSE(events.ok()) << "accepted schema '" << bad << "'";
    EXPECT_EQ(events.status().code(), StatusCode::kInvalidArgument);
    Result<std::unique_ptr<StateStore>> state = OpenPostgresStateStore(uri_, options);
    ASSERT_FALSE(state.ok());
    EXPECT_EQ(state.status().code(), StatusCode::kInvalidArgument);
  }
  Result<std::optional<std::string>> public_exists =
      QueryValue(uri_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'");
  ASSERT_TRUE(public_exists.ok()) << public_exists.status().ToString();
  EXPECT_EQ(public_exists->value_or(""), "1");
}

}  // namespace
}  // namespace pigtail::testing

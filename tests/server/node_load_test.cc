// Node::Open says what it does while it loads (server/node.h, server/log.h):
// the state store load, catch-up progress, and a final line with counts.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/memory_store.h"
#include "core/projector.h"
#include "core/task_view.h"
#include "core/uuid.h"
#include "server/log.h"
#include "server/node.h"

namespace pigtail {
namespace {

std::vector<boost::json::object> JsonLines(const std::string& path) {
  std::vector<boost::json::object> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

TEST(NodeLoadTest, CatchingUpLogsProgressAndAFinalLine) {
  const std::string path =
      ::testing::TempDir() + "/node_load_" + Uuid::Random().ToString() + ".log";
  ASSERT_TRUE(log::Init("info", "json", "", path).ok());

  std::unique_ptr<EventStore> log = NewMemoryEventStore();
  const Uuid owner = Uuid::Random();
  std::optional<Uuid> prev;
  std::vector<Event> events;
  constexpr int kTasks = 500;
  for (int i = 0; i <= kTasks; ++i) {
    std::string data = i == 0 ? R"({"Create":{"name":"q","timeout_ms":1000}})"
                              : R"({"Add":{"queue_name":"q","task_name":"t)" + std::to_string(i) +
                                    R"(","info":null}})";
    NewEvent fields{Uuid::Random(), owner, prev, Hlc{0, 1'000'000'000ull + i, 0}, data, {}};
    Result<Event> e = MakeEvent(fields);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    prev = fields.id;
    events.push_back(*e);
  }
  ASSERT_TRUE(log->Append(events, true).ok());

  NodeOptions options;
  options.catch_up_chunk = 100;
  options.load_progress_every = std::chrono::milliseconds(0);
  Result<std::unique_ptr<Node>> node = Node::Open(std::move(log), NewMemoryStateStore(), options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  log::Flush();
  ASSERT_TRUE(log::Init("info", "text", "").ok());  // back to stderr

  std::vector<boost::json::object> lines = JsonLines(path);
  std::filesystem::remove(path);
  int progress = 0;
  const boost::json::object* loaded = nullptr;
  for (const boost::json::object& l : lines) {
    ASSERT_TRUE(l.contains("ts") && l.contains("level") && l.contains("msg"));
    if (l.at("msg") == "catching up from the log: progress") ++progress;
    if (l.at("msg") == "loaded") loaded = &l;
  }
  // 501 events in chunks of 100: a progress line per chunk.
  EXPECT_EQ(progress, 6);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->at("level"), "info");
  EXPECT_EQ(loaded->at("caught_up_events").as_int64(), kTasks + 1);
  EXPECT_EQ(loaded->at("tasks").as_int64(), kTasks);
  EXPECT_EQ(loaded->at("queues").as_int64(), 1);
  EXPECT_TRUE(loaded->at("total_s").is_double());
}

TEST(NodeLoadTest, LoadingALargeStateStoreLogsProgress) {
  const std::string path =
      ::testing::TempDir() + "/node_load_" + Uuid::Random().ToString() + ".log";
  ASSERT_TRUE(log::Init("info", "json", "", path).ok());

  // Two progress steps' worth of task registers, in the state store only.
  const uint64_t tasks = 2 * StateStore::kLoadProgressTasks + 5;
  State state;
  const Uuid owner = Uuid::Random();
  auto apply = [&](uint64_t i, const std::string& data) {
    NewEvent fields{Uuid::Random(), owner, std::nullopt, Hlc{0, 1'000'000'000ull + i, 0}, data, {}};
    Result<Event> e = MakeEvent(fields);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    (void)ApplyEvent(*e, &state);
  };
  apply(0, R"({"Create":{"name":"q","timeout_ms":1000}})");
  for (uint64_t i = 1; i <= tasks; ++i) {
    apply(i, R"({"Add":{"queue_name":"q","task_name":"t","info":null}})");
  }
  state.SettleDigests();
  std::unique_ptr<StateStore> store = NewMemoryStateStore();
  ASSERT_TRUE(store->BulkLoad(state, 0).ok());

  NodeOptions options;
  options.load_progress_every = std::chrono::milliseconds(0);
  Result<std::unique_ptr<Node>> node = Node::Open(NewMemoryEventStore(), std::move(store), options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  log::Flush();
  ASSERT_TRUE(log::Init("info", "text", "").ok());  // back to stderr

  std::vector<boost::json::object> lines = JsonLines(path);
  std::filesystem::remove(path);
  std::vector<int64_t> read;
  for (const boost::json::object& l : lines) {
    if (l.at("msg") == "loading the state store: progress") {
      read.push_back(l.at("task_registers").as_int64());
    }
  }
  const int64_t step = static_cast<int64_t>(StateStore::kLoadProgressTasks);
  EXPECT_EQ(read, (std::vector<int64_t>{step, 2 * step}));
  EXPECT_EQ((*node)->Read([](const State& s) { return s.task_count(); }), tasks);
}

// A state store holding `tasks` Pending tasks of queue "q", with ids in
// time order or random, and priorities 0..2 in turn; `claim_order` gets
// their ids as claims take them (higher priority first, then as added).
std::unique_ptr<StateStore> StoreOfPendingTasks(int tasks, bool random_ids,
                                                std::vector<Uuid>* claim_order) {
  State state;
  const Uuid owner = Uuid::Random();
  std::vector<Uuid> by_priority[3];
  for (int i = 0; i <= tasks; ++i) {
    const uint64_t time = 1'700'000'000'000'000'000ull + uint64_t(i) * 100'000;
    const Uuid id = random_ids ? Uuid::Random() : Uuid::TimeOrdered(time / 1'000'000);
    const int priority = i % 3;
    const std::string data =
        i == 0 ? R"({"Create":{"name":"q","timeout_ms":1000}})"
               : R"({"Add":{"queue_name":"q","task_name":"t","info":null,"priority":)" +
                     std::to_string(priority) + "}}";
    Result<Event> e = MakeEvent(NewEvent{id, owner, std::nullopt, Hlc{0, time, 0}, data, {}});
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    (void)ApplyEvent(*e, &state);
    if (i > 0) by_priority[priority].push_back(id);
  }
  for (int priority = 2; priority >= 0; --priority) {
    claim_order->insert(claim_order->end(), by_priority[priority].begin(),
                        by_priority[priority].end());
  }
  state.SettleDigests();
  std::unique_ptr<StateStore> store = NewMemoryStateStore();
  EXPECT_TRUE(store->BulkLoad(state, 0).ok());
  return store;
}

// Loaded tasks come out in claim order whether the claim index was kept
// as they came (a node's time-ordered ids) or built after the load (random
// ids); the "loaded" line says which.
TEST(NodeLoadTest, LoadedTasksAreClaimedInClaimOrder) {
  constexpr int kTasks = 3 * State::kLoadOrderSample;
  for (bool random_ids : {false, true}) {
    SCOPED_TRACE(random_ids ? "random ids" : "time-ordered ids");
    const std::string path =
        ::testing::TempDir() + "/node_load_" + Uuid::Random().ToString() + ".log";
    ASSERT_TRUE(log::Init("info", "json", "", path).ok());
    std::vector<Uuid> claim_order;
    std::unique_ptr<StateStore> store = StoreOfPendingTasks(kTasks, random_ids, &claim_order);
    Result<std::unique_ptr<Node>> node = Node::Open(NewMemoryEventStore(), std::move(store), {});
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    log::Flush();
    ASSERT_TRUE(log::Init("info", "text", "").ok());  // back to stderr

    const boost::json::object* loaded = nullptr;
    std::vector<boost::json::object> lines = JsonLines(path);
    std::filesystem::remove(path);
    for (const boost::json::object& l : lines) {
      if (l.at("msg") == "loaded") loaded = &l;
    }
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(loaded->at("claim_index_rebuilt").as_bool(), random_ids);
    (*node)->Read([&](const State& state) {
      EXPECT_TRUE(state.claim_index());
      const uint64_t now = UINT64_MAX;
      std::vector<Uuid> claimable;
      for (const TaskRecord* t : ClaimableTasks(state, "q", now, kTasks + 1)) {
        claimable.push_back(t->id);
      }
      EXPECT_EQ(claimable, claim_order);
      QueueCounts counts = CountTasks(state, "q", now);
      EXPECT_EQ(counts.pending, uint64_t{kTasks});
      EXPECT_EQ(counts.claimable, uint64_t{kTasks});
    });
  }
}

}  // namespace
}  // namespace pigtail

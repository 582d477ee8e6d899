// Finished tasks leave memory once the state store holds them
// (--finished-tasks=store, the default; State::set_evict_finished). Every
// read and write of a dropped task answers as if it were still in memory,
// and dropping changes no digest.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/registers.h"
#include "tests/core/gated_state_store.h"
#include "tests/server/api_fixture.h"

namespace pigtail {
namespace {

constexpr char kA[] = "6a0c9d2e-1f7a-4e55-9a1e-3a1b2c3d4e5f";
constexpr char kB[] = "7b1d0e3f-2a8b-4f66-8b2f-4b2c3d4e5f60";

std::string Worker(const char* worker) { return std::string(R"({"worker_id":")") + worker + "\"}"; }

class DroppedTasksTest : public testing::ApiFixture {
 protected:
  void SetUp() override {
    Open();
    CreateQueue("q", ",\"max_attempts\":1");
  }

  bool InMemory(const std::string& id) {
    Result<Uuid> uuid = Uuid::Parse(id);
    return node()->Read(
        [&](const State& s) { return uuid.ok() && s.FindTask("q", *uuid) != nullptr; });
  }

  // Waits (at most 10 s) until the task has left memory.
  void WaitDropped(const std::string& id) {
    for (int i = 0; i < 1000 && InMemory(id); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(InMemory(id)) << id << " is still in memory";
  }

  // A task claimed by kA and done with a result.
  std::string DoneTask() {
    std::string id = AddTask("q");
    EXPECT_EQ(Call("PUT", "/queue/q/" + id, Worker(kA)).status, 200);
    EXPECT_EQ(Call("DELETE", "/queue/q/" + id,
                   std::string(R"({"worker_id":")") + kA + R"(","result":{"n":7}})")
                  .status,
              200);
    return id;
  }
  std::string DeadTask() {
    std::string id = AddTask("q");
    EXPECT_EQ(Call("PUT", "/queue/q/" + id, Worker(kA)).status, 200);
    EXPECT_EQ(Call("POST", "/queue/q/" + id + "/fail",
                   std::string(R"({"worker_id":")") + kA + R"(","lease":0,"error":"boom"})")
                  .status,
              200);
    return id;
  }
  boost::json::value Stats() { return Body(Call("GET", "/queue/q/stats")); }
};

TEST_F(DroppedTasksTest, AFinishedTaskLeavesMemoryAndReadsTheSame) {
  const std::string id = DoneTask();
  const std::string live = AddTask("q");
  const std::string before = Call("GET", "/queue/q/" + id).body;
  const std::string digest = Digest();
  ASSERT_NO_FATAL_FAILURE(WaitDropped(id));
  EXPECT_TRUE(InMemory(live)) << "a pending task stays";
  boost::json::value health = Body(Call("GET", "/health"));
  EXPECT_EQ(health.at("tasks").as_int64(), 2);
  EXPECT_EQ(health.at("tasks_in_memory").as_int64(), 1);
  EXPECT_NE(Call("GET", "/metrics").body.find("\npigtail_tasks_in_memory 1\n"), std::string::npos);
  EXPECT_EQ(Digest(), digest);
  EXPECT_EQ(Call("GET", "/queue/q/" + id).body, before);
  EXPECT_EQ(Body(Call("GET", "/queue/q/" + id)).at("result"), boost::json::parse(R"({"n":7})"));
  EXPECT_EQ(Stats().at("done").as_int64(), 1);
  EXPECT_EQ(Stats().at("pending").as_int64(), 1);
  boost::json::value done = Body(Call("GET", "/queue/q?state=done"));
  EXPECT_EQ(done.as_object().size(), 1u);
  EXPECT_TRUE(done.as_object().contains(id));
  EXPECT_EQ(Body(Call("GET", "/queue/q?state=all")).as_object().size(), 2u);
  EXPECT_EQ(Body(Call("GET", "/queue/q")).as_object().size(), 1u);
  const uint64_t read_back = node()->counters().tasks_reinstated;
  EXPECT_EQ(read_back, 0u) << "reads do not bring a task back into memory";
}

TEST_F(DroppedTasksTest, WritesToADroppedTaskAreDecidedAgainstItsStoredRegister) {
  const std::string id = DoneTask();
  ASSERT_NO_FATAL_FAILURE(WaitDropped(id));
  const std::string digest = Digest();
  const uint64_t events = Events();

  // The same answers as in memory: nothing is written.
  HttpResponse again = Call("PUT", "/queue/q/" + id, Worker(kA));
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(Body(again).at("reason"), "done");
  HttpResponse other = Call("PUT", "/queue/q/" + id, Worker(kB));
  EXPECT_EQ(Body(other).at("reason"), "done_by_another_worker");
  HttpResponse cancel = Call("POST", "/queue/q/" + id + "/cancel");
  EXPECT_EQ(cancel.status, 409) << cancel.body;
  EXPECT_EQ(Body(cancel).at("reason"), "done");
  HttpResponse done_again = Call("DELETE", "/queue/q/" + id, Worker(kB));
  EXPECT_EQ(done_again.status, 200) << done_again.body;
  EXPECT_EQ(Events(), events);
  EXPECT_EQ(Digest(), digest);
  EXPECT_GE(node()->counters().tasks_reinstated.load(), 1u);
  // Read back to decide, it leaves memory again.
  ASSERT_NO_FATAL_FAILURE(WaitDropped(id));
  EXPECT_EQ(Stats().at("done").as_int64(), 1);
}

TEST_F(DroppedTasksTest, ARetriedDeadTaskComesBackToLife) {
  const std::string id = DeadTask();
  ASSERT_NO_FATAL_FAILURE(WaitDropped(id));
  EXPECT_EQ(Stats().at("dead").as_int64(), 1);
  EXPECT_TRUE(Body(Call("GET", "/queue/q?state=dead")).as_object().contains(id));
  HttpResponse retry = Call("POST", "/queue/q/" + id + "/retry");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_TRUE(InMemory(id));
  EXPECT_EQ(Stats().at("dead").as_int64(), 0);
  EXPECT_EQ(Stats().at("pending").as_int64(), 1);
  HttpResponse claim = Call("POST", "/queue/q/claim", Worker(kB));
  ASSERT_EQ(claim.status, 200) << claim.body;
  EXPECT_NE(claim.body.find(id), std::string::npos) << claim.body;
}

TEST_F(DroppedTasksTest, PurgeRemovesDroppedTasks) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(DoneTask());
  ids.push_back(DeadTask());
  const std::string live = AddTask("q");
  for (const std::string& id : ids) ASSERT_NO_FATAL_FAILURE(WaitDropped(id));

  HttpResponse first = Call("POST", "/queue/q/purge", R"({"state":"done","max":3})");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, R"({"purged":3,"more":true})");
  HttpResponse rest = Call("POST", "/queue/q/purge", R"({"state":"done"})");
  EXPECT_EQ(rest.body, R"({"purged":2,"more":false})");
  boost::json::value stats = Stats();
  EXPECT_EQ(stats.at("done").as_int64(), 0);
  EXPECT_EQ(stats.at("dead").as_int64(), 1);
  EXPECT_EQ(stats.at("pending").as_int64(), 1);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(Call("GET", "/queue/q/" + ids[i]).status, 404);
  EXPECT_EQ(Call("GET", "/queue/q/" + ids[5]).status, 200);
  EXPECT_EQ(Call("POST", "/queue/q/purge", "{}").body, R"({"purged":1,"more":false})");
  EXPECT_EQ(Call("GET", "/queue/q?state=all").body.find(ids[5]), std::string::npos);
}

// Listing finished tasks pages through the store in id order; `after` may
// name a task that has left memory.
TEST_F(DroppedTasksTest, ListingsPageThroughTheStore) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(DoneTask());
  for (const std::string& id : ids) ASSERT_NO_FATAL_FAILURE(WaitDropped(id));
  std::vector<std::string> listed;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    HttpResponse r =
        Call("GET", "/queue/q?state=done&limit=3" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    const boost::json::value body = Body(r);
    for (const auto& [key, value] : body.as_object()) listed.emplace_back(key);
    after = r.Header("Pigtail-Next-After");
    if (after.empty()) break;
  }
  EXPECT_EQ(listed, ids) << "ids are time-ordered: the order added";
  HttpResponse unknown =
      Call("GET", "/queue/q?state=done&after=8b2f1c1e-0000-4000-8000-000000000000");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  // A live listing may page after a task that has since finished.
  const std::string a = AddTask("q");
  const std::string b = AddTask("q");
  ASSERT_EQ(Call("PUT", "/queue/q/" + a, Worker(kA)).status, 200);
  ASSERT_EQ(Call("DELETE", "/queue/q/" + a, Worker(kA)).status, 200);
  ASSERT_NO_FATAL_FAILURE(WaitDropped(a));
  HttpResponse rest = Call("GET", "/queue/q?after=" + a);
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_TRUE(Body(rest).as_object().contains(b)) << rest.body;
}

// A listing of finished tasks merges registers read from the store with
// memory's. A task whose newer register is committed and dropped from
// memory between the two must be listed with that register, not with the
// older one the store returned.
TEST_F(DroppedTasksTest, AListingNeverShowsARegisterOlderThanMemorys) {
  Close();
  auto gated_store = std::make_unique<testing::GatedStore>();
  testing::GatedStore* store = gated_store.get();
  state_ = std::move(gated_store);
  Open();
  CreateQueue("q", ",\"max_attempts\":1");
  const std::string id = AddTask("q");
  const Uuid uuid = Uuid::Parse(id).value();
  auto stored_pending = [&] {
    Result<std::optional<TaskRecord>> t = store->GetTask("q", uuid);
    return t.ok() && t->has_value() && Live(**t);
  };
  for (int i = 0; i < 1000 && !stored_pending(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(stored_pending()) << "the add was never committed";

  // Done in memory; the store still holds the pending register.
  store->SetGate(false);
  ASSERT_EQ(Call("PUT", "/queue/q/" + id, Worker(kA)).status, 200);
  ASSERT_EQ(Call("DELETE", "/queue/q/" + id, Worker(kA)).status, 200);
  // Once the listing has read the store, the done commits; the task would
  // leave memory within a second unless the listing holds it there.
  bool left_memory = false;
  store->AfterList([&] {
    store->SetGate(true);
    for (int i = 0; i < 100 && InMemory(id); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    left_memory = !InMemory(id);
  });
  const boost::json::value listed = Body(Call("GET", "/queue/q?state=all"));
  store->AfterList(nullptr);
  EXPECT_FALSE(left_memory);
  ASSERT_TRUE(listed.as_object().contains(id)) << listed;
  EXPECT_EQ(listed.at(id).at("state"), "done") << listed;
  // Once the listing is answered, the task leaves memory as usual.
  ASSERT_NO_FATAL_FAILURE(WaitDropped(id));
  EXPECT_EQ(Body(Call("GET", "/queue/q?state=all")).at(id).at("state"), "done");
}

// With --finished-tasks=memory nothing leaves memory.
TEST_F(DroppedTasksTest, MemoryKeepsEveryTask) {
  Close();
  drop_finished_ = false;
  Open();
  CreateQueue("q", ",\"max_attempts\":1");
  const std::string id = DoneTask();
  Result<Uuid> uuid = Uuid::Parse(id);
  ASSERT_TRUE(uuid.ok());
  auto stored_done = [&] {
    Result<std::optional<TaskRecord>> t = node()->state_store()->GetTask("q", *uuid);
    return t.ok() && *t && (*t)->status.key.outcome == Outcome::kDone;
  };
  for (int i = 0; i < 1000 && !stored_done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(stored_done());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // several commit intervals
  EXPECT_TRUE(InMemory(id));
}

}  // namespace
}  // namespace pigtail

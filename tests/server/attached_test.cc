// Black-box test of attached mode (`pigtaild --potboiler-url`): two real
// processes on 127.0.0.1. The first pigtaild is the external Potboiler log
// (it speaks the log API and delivers to registered URLs); the second runs
// the queue API attached to it. The original Pigtail flow runs against the
// second; its state must come from the log's entries and match the log
// node's own projection of them, survive a restart, and never grant a lease
// twice.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/uuid.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail {
namespace {

using testing::Eventually;
using testing::JsonBody;
using testing::PigtaildProcess;

std::string Str(const boost::json::value& v, std::string_view key) {
  const boost::json::object* o = v.if_object();
  const boost::json::value* field = o != nullptr ? o->if_contains(key) : nullptr;
  return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
}

class AttachedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("pigtaild_attached");
    ASSERT_TRUE(
        log_.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/log"}).ok());
    log_id_ = Str(JsonBody(log_.Call("GET", "/health")), "node_id");
    ASSERT_FALSE(log_id_.empty());
  }
  void TearDown() override {
    attached_.Kill();
    log_.Kill();
    std::filesystem::remove_all(dir_);
  }

  // Port 0 picks a free port.
  Status StartAttached(int port = 0) {
    return attached_.Start({"--listen", "127.0.0.1:" + std::to_string(port), "--backend",
                            "rocksdb:" + dir_ + "/node", "--potboiler-url", log_.url()});
  }

  // Both nodes have projected the same entries.
  bool DigestsAgree() {
    HttpResponse a = log_.Call("GET", "/digest");
    HttpResponse b = attached_.Call("GET", "/digest");
    return a.status == 200 && b.status == 200 && a.body == b.body;
  }

  std::string dir_;
  PigtaildProcess log_{PIGTAILD_PATH};
  PigtaildProcess attached_{PIGTAILD_PATH};
  std::string log_id_;
};

TEST_F(AttachedTest, OriginalFlowGoesThroughTheExternalLog) {
  ASSERT_TRUE(StartAttached().ok());
  EXPECT_NE(attached_.line().find("attached to the Potboiler log " + log_.url()), std::string::npos)
      << attached_.line();
  std::string node_id = Str(JsonBody(attached_.Call("GET", "/health")), "node_id");
  ASSERT_FALSE(node_id.empty());
  EXPECT_NE(node_id, log_id_);

  // Provider: create a queue and add a task on the attached node.
  HttpResponse create = attached_.Call("POST", "/create", R"({"name":"jobs","timeout_ms":30000})");
  ASSERT_EQ(create.status, 201) << create.body;
  EXPECT_EQ(create.Header("Location"), "/queue/jobs");
  HttpResponse add = attached_.Call("POST", "/queue/jobs", R"({"task_name":"a","info":{"n":1}})");
  ASSERT_EQ(add.status, 201) << add.body;
  const std::string task = Str(JsonBody(add), "id");
  EXPECT_EQ(add.Header("Location"), "/queue/jobs/" + task);

  // The task id is the id of the entry in the external log, owned by the
  // log node; the attached node has no chain of its own.
  HttpResponse entry = log_.Call("GET", "/log/" + task);
  ASSERT_EQ(entry.status, 200);
  boost::json::value e = JsonBody(entry);
  EXPECT_EQ(Str(e, "owner"), log_id_);
  EXPECT_EQ(e.at("data").at("Add").at("task_name").as_string(), "a");
  boost::json::value heads = JsonBody(attached_.Call("GET", "/log"));
  ASSERT_TRUE(heads.is_object());
  EXPECT_EQ(heads.as_object().size(), 1u);
  EXPECT_EQ(Str(heads, log_id_), task);

  // Read-your-writes: the reply came after the entry was applied here.
  boost::json::value queue = JsonBody(attached_.Call("GET", "/queue/jobs"));
  ASSERT_TRUE(queue.is_object());
  EXPECT_EQ(Str(queue.at(task), "state"), "pending");

  // Worker: claim (the Progress goes to the log), a second worker is
  // refused, then done.
  const std::string worker = Uuid::Random().ToString();
  const std::string wbody = "{\"worker_id\":\"" + worker + "\"}";
  HttpResponse claim = attached_.Call("PUT", "/queue/jobs/" + task, wbody);
  ASSERT_EQ(claim.status, 200) << claim.body;
  EXPECT_EQ(Str(JsonBody(claim), "state"), "working");
  HttpResponse other = attached_.Call("PUT", "/queue/jobs/" + task,
                                      "{\"worker_id\":\"" + Uuid::Random().ToString() + "\"}");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(Str(JsonBody(other), "reason"), "leased_by_another_worker");
  std::string progress_id = Str(JsonBody(log_.Call("GET", "/log")), log_id_);
  boost::json::value progress = JsonBody(log_.Call("GET", "/log/" + progress_id));
  EXPECT_EQ(Str(progress.at("data").at("Progress"), "worker_id"), worker);
  ASSERT_EQ(attached_.Call("DELETE", "/queue/jobs/" + task, wbody).status, 200);
  EXPECT_EQ(Str(JsonBody(attached_.Call("GET", "/queue/jobs/" + task)), "state"), "done");
  EXPECT_TRUE(JsonBody(attached_.Call("GET", "/queue/jobs")).as_object().empty());

  // The log node projects the same entries: the states agree.
  EXPECT_TRUE(Eventually([&] { return DigestsAgree(); }));

  // Another client of the external log adds a task there directly: it
  // reaches the attached node only through POST /event.
  HttpResponse direct =
      log_.Call("POST", "/log", R"({"Add":{"queue_name":"jobs","task_name":"b","info":null}})");
  ASSERT_EQ(direct.status, 201);
  const std::string pushed = Str(JsonBody(direct), "id");
  EXPECT_TRUE(
      Eventually([&] { return attached_.Call("GET", "/queue/jobs/" + pushed).status == 200; }));
  EXPECT_EQ(Str(JsonBody(attached_.Call("GET", "/queue/jobs/" + pushed)), "task_name"), "b");
  // A repeated delivery is a no-op.
  HttpResponse again = attached_.Call("POST", "/event", log_.Call("GET", "/log/" + pushed).body);
  EXPECT_EQ(again.status, 204);
  EXPECT_TRUE(Eventually([&] { return DigestsAgree(); }));
}

TEST_F(AttachedTest, ConcurrentClaimsAreNeverGrantedTwice) {
  ASSERT_TRUE(StartAttached().ok());
  ASSERT_EQ(attached_.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  constexpr int kTasks = 12;
  std::string batch = "[";
  for (int i = 0; i < kTasks; ++i) {
    batch += std::string(i > 0 ? "," : "") + "{\"task_name\":\"t" + std::to_string(i) + "\"}";
  }
  batch += "]";
  ASSERT_EQ(attached_.Call("POST", "/queue/q/batch", batch).status, 201);

  std::mutex mu;
  std::vector<std::string> granted;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      const std::string body = "{\"worker_id\":\"" + Uuid::Random().ToString() + "\",\"max\":2}";
      for (int round = 0; round < kTasks; ++round) {
        boost::json::value r = JsonBody(attached_.Call("POST", "/queue/q/claim", body));
        const boost::json::array* tasks = r.is_object() && r.as_object().if_contains("tasks")
                                              ? r.as_object().at("tasks").if_array()
                                              : nullptr;
        if (tasks == nullptr || tasks->empty()) return;
        std::lock_guard lock(mu);
        for (const boost::json::value& t : *tasks) granted.push_back(Str(t, "id"));
      }
    });
  }
  for (std::thread& t : workers) t.join();
  std::set<std::string> unique(granted.begin(), granted.end());
  EXPECT_EQ(granted.size(), static_cast<size_t>(kTasks));
  EXPECT_EQ(unique.size(), granted.size()) << "a task was granted twice";
  EXPECT_TRUE(Eventually([&] { return DigestsAgree(); }));
}

TEST_F(AttachedTest, RestartKeepsWorkingAndReRegisteringIsARepeat) {
  ASSERT_TRUE(StartAttached().ok());
  ASSERT_EQ(attached_.Call("POST", "/create", R"({"name":"jobs","timeout_ms":30000})").status, 201);
  HttpResponse add = attached_.Call("POST", "/queue/jobs", R"({"task_name":"a"})");
  ASSERT_EQ(add.status, 201);
  const std::string task = Str(JsonBody(add), "id");
  ASSERT_TRUE(Eventually([&] { return DigestsAgree(); }));
  std::string digest = attached_.Call("GET", "/digest").body;
  std::string node_id = Str(JsonBody(attached_.Call("GET", "/health")), "node_id");
  const std::string event_url = attached_.url() + "/event";
  ASSERT_EQ(attached_.Stop(), 0);

  // Entries written to the log while the node is down are delivered after
  // it is back (the log retries).
  HttpResponse direct =
      log_.Call("POST", "/log", R"({"Add":{"queue_name":"jobs","task_name":"late","info":1}})");
  ASSERT_EQ(direct.status, 201);
  const std::string late = Str(JsonBody(direct), "id");

  // Restart on the same data and address: starting, it registers the same
  // URL again, a repeat that the log answers 201 (else it would not start),
  // and the log's delivery to that URL resumes where it stopped.
  const int port = attached_.port();
  Status restarted = StartAttached(port);
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_EQ(attached_.url() + "/event", event_url);
  EXPECT_EQ(Str(JsonBody(attached_.Call("GET", "/health")), "node_id"), node_id);
  EXPECT_EQ(Str(JsonBody(attached_.Call("GET", "/queue/jobs/" + task)), "state"), "pending");
  EXPECT_EQ(log_.Call("POST", "/log/register", "{\"url\":\"" + event_url + "\"}").status, 201);
  EXPECT_TRUE(Eventually([&] { return attached_.Call("GET", "/queue/jobs/" + late).status == 200; },
                         std::chrono::seconds(40)));

  const std::string worker = Uuid::Random().ToString();
  HttpResponse claim =
      attached_.Call("PUT", "/queue/jobs/" + task, "{\"worker_id\":\"" + worker + "\"}");
  EXPECT_EQ(claim.status, 200) << claim.body;
  EXPECT_EQ(
      attached_.Call("DELETE", "/queue/jobs/" + task, "{\"worker_id\":\"" + worker + "\"}").status,
      200);
  EXPECT_TRUE(Eventually([&] { return DigestsAgree(); }));
  EXPECT_NE(attached_.Call("GET", "/digest").body, digest);
  EXPECT_EQ(attached_.Stop(), 0);
}

TEST_F(AttachedTest, ANodeThatLostItsDataGetsTheWholeLogAgain) {
  ASSERT_TRUE(StartAttached().ok());
  ASSERT_EQ(attached_.Call("POST", "/create", R"({"name":"jobs","timeout_ms":30000})").status, 201);
  HttpResponse add = attached_.Call("POST", "/queue/jobs", R"({"task_name":"a"})");
  ASSERT_EQ(add.status, 201);
  const std::string task = Str(JsonBody(add), "id");
  ASSERT_TRUE(Eventually([&] { return DigestsAgree(); }));
  const int port = attached_.port();
  ASSERT_EQ(attached_.Stop(), 0);

  // Same URL, empty stores: the log's cursor for the URL is past every
  // entry, so the node re-registers from the start and gets them all.
  std::filesystem::remove_all(dir_ + "/node");
  Status restarted = StartAttached(port);
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  EXPECT_TRUE(Eventually([&] { return DigestsAgree(); }));
  EXPECT_EQ(Str(JsonBody(attached_.Call("GET", "/queue/jobs/" + task)), "state"), "pending");
}

TEST_F(AttachedTest, AnUnreachableLogIsAClearError) {
  // Nothing listens on port 1: registration fails and pigtaild exits.
  PigtaildProcess orphan{PIGTAILD_PATH};
  Status s = orphan.Start({"--listen", "127.0.0.1:0", "--backend", "memory:", "--potboiler-url",
                           "http://127.0.0.1:1", "--potboiler-wait-ms", "300"},
                          std::chrono::seconds(60));
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(orphan.running());
}

}  // namespace
}  // namespace pigtail

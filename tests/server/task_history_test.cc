// A task's history and results through the Api handlers (docs/http_api.md,
// "Task history and results"): attempts, failures, result, progress,
// run_at_ms and the times of GET /queue/{name}/{id}, their bounds, and
// POST /queue/{name}/purge.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "tests/server/api_fixture.h"

namespace pigtail {
namespace {

constexpr char kA[] = "6a0c9d2e-1f7a-4e55-9a1e-3a1b2c3d4e5f";
constexpr char kB[] = "7b1d0e3f-2a8b-4f66-8b2f-4b2c3d4e5f60";
constexpr uint64_t kMs = 1'000'000;

// {"worker_id":W[,"lease":L]` + extra + `}
std::string WorkerBody(const char* worker, std::optional<uint64_t> lease = {},
                       const std::string& extra = "") {
  std::string body = std::string(R"({"worker_id":")") + worker + "\"";
  if (lease) body += ",\"lease\":" + std::to_string(*lease);
  return body + extra + "}";
}

class TaskHistoryTest : public testing::ApiFixture {
 protected:
  void SetUp() override {
    Open();
    CreateQueue("q", ",\"max_attempts\":5");
  }

  boost::json::object Task(const std::string& id) {
    HttpResponse r = Call("GET", "/queue/q/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? Body(r).as_object() : boost::json::object();
  }
  uint64_t NowMs() const { return now_ns_.load() / kMs; }
};

TEST_F(TaskHistoryTest, AttemptsFailuresProgressAndResult) {
  const std::string id = AddTask("q");
  boost::json::object task = Task(id);
  EXPECT_EQ(task.at("attempts").as_int64(), 0);
  EXPECT_FALSE(task.contains("failures"));
  EXPECT_EQ(task.at("ready_at_ms").to_number<uint64_t>(), NowMs());

  ASSERT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kA, {}, R"(,"progress":{"pct":10})")).status,
            200);
  task = Task(id);
  EXPECT_EQ(task.at("attempts").as_int64(), 1);
  EXPECT_EQ(task.at("progress"), boost::json::parse(R"({"pct":10})"));
  EXPECT_EQ(task.at("expires_at_ms").to_number<uint64_t>(), NowMs() + 1000);
  EXPECT_FALSE(task.contains("ready_at_ms"));
  ASSERT_EQ(
      Call("POST", "/queue/q/" + id + "/fail", WorkerBody(kA, 0, R"(,"error":"disk full")")).status,
      200);

  task = Task(id);
  EXPECT_EQ(task.at("state").as_string(), "pending");
  EXPECT_EQ(task.at("attempts").as_int64(), 1);
  ASSERT_EQ(task.at("failures").as_array().size(), 1u);
  const boost::json::object& failure = task.at("failures").at(0).as_object();
  EXPECT_EQ(failure.at("attempt").as_int64(), 1);
  EXPECT_EQ(failure.at("round").as_int64(), 0);
  EXPECT_EQ(failure.at("error").as_string(), "disk full");
  EXPECT_EQ(failure.at("worker").as_string(), kA);
  EXPECT_EQ(failure.at("at_ms").to_number<uint64_t>(), NowMs());

  // A second attempt by another worker: its progress replaces the first;
  // a heartbeat without progress keeps it; done with a result.
  ASSERT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kB)).status, 200);
  ASSERT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kB, 1, R"(,"progress":"almost")")).status,
            200);
  ASSERT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kB, 1)).status, 200);
  HttpResponse done =
      Call("DELETE", "/queue/q/" + id, WorkerBody(kB, 1, R"(,"result":{"rows":3,"ok":true})"));
  ASSERT_EQ(done.status, 200) << done.body;
  task = Task(id);
  EXPECT_EQ(task.at("state").as_string(), "done");
  EXPECT_EQ(task.at("attempts").as_int64(), 2);
  EXPECT_EQ(task.at("result"), boost::json::parse(R"({"rows":3,"ok":true})"));
  EXPECT_EQ(task.at("progress").as_string(), "almost");
  EXPECT_EQ(task.at("failures").as_array().size(), 1u);
  EXPECT_FALSE(task.contains("ready_at_ms"));
  EXPECT_FALSE(task.contains("expires_at_ms"));
}

TEST_F(TaskHistoryTest, BatchedDoneCarriesAResultPerTask) {
  const std::string a = AddTask("q"), b = AddTask("q");
  HttpResponse claim = Call("POST", "/queue/q/claim", WorkerBody(kA, {}, R"(,"max":2)"));
  ASSERT_EQ(claim.status, 200) << claim.body;
  HttpResponse done = Call("POST", "/queue/q/done",
                           std::string(R"({"worker_id":")") + kA + R"(","tasks":[{"id":")" + a +
                               R"(","result":[1]},")" + b + "\"]}");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(Body(done).at("done").as_int64(), 2);
  EXPECT_EQ(Task(a).at("result"), boost::json::parse("[1]"));
  EXPECT_FALSE(Task(b).contains("result"));
}

TEST_F(TaskHistoryTest, RunAtMsHoldsTheTaskUntilThen) {
  const uint64_t run_at = NowMs() + 5000;
  const std::string id = AddTask(
      "q", R"({"task_name":"later","info":null,"run_at_ms":)" + std::to_string(run_at) + "}");
  boost::json::object task = Task(id);
  EXPECT_EQ(task.at("run_at_ms").to_number<uint64_t>(), run_at);
  EXPECT_EQ(task.at("ready_at_ms").to_number<uint64_t>(), run_at);
  HttpResponse early = Call("PUT", "/queue/q/" + id, WorkerBody(kA));
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(Body(early).at("reason").as_string(), "not_ready");
  EXPECT_EQ(Call("GET", "/queue/q?state=delayed").body,
            "{\"" + id + "\":{\"task_name\":\"later\",\"state\":\"pending\"}}");
  now_ns_ += 5000 * kMs;
  EXPECT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kA)).status, 200);
  EXPECT_EQ(Call("POST", "/queue/q", R"({"task_name":"t","info":1,"run_at_ms":-1})").status, 400);
}

TEST_F(TaskHistoryTest, SizesAreBounded) {
  const std::string id = AddTask("q");
  const std::string big(5000, 'x');
  HttpResponse r =
      Call("PUT", "/queue/q/" + id, WorkerBody(kA, {}, ",\"progress\":\"" + big + "\""));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("at most 4096"), std::string::npos) << r.body;
  ASSERT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kA)).status, 200);
  const std::string huge(70000, 'y');
  r = Call("DELETE", "/queue/q/" + id, WorkerBody(kA, 0, ",\"result\":\"" + huge + "\""));
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  EXPECT_EQ(Task(id).at("state").as_string(), "working") << "a refused done changes nothing";
  // A long error is cut at a character boundary: 4095 bytes of 'e' and a
  // two-byte character would end at 4097.
  const std::string error = std::string(4095, 'e') + "\xc3\xa9" + "tail";
  r = Call("POST", "/queue/q/" + id + "/fail",
           WorkerBody(kA, 0, ",\"error\":" + boost::json::serialize(boost::json::value(error))));
  ASSERT_EQ(r.status, 200) << r.body;
  const boost::json::object task = Task(id);
  EXPECT_EQ(task.at("error").as_string(), std::string(4095, 'e'));
  EXPECT_EQ(task.at("failures").at(0).at("error").as_string(), std::string(4095, 'e'));
}

TEST_F(TaskHistoryTest, TheLatestTenFailuresAreKept) {
  const std::string id = AddTask("q", R"({"task_name":"t","info":1,"max_attempts":12})");
  for (uint64_t lease = 0; lease < 12; ++lease) {
    ASSERT_EQ(Call("PUT", "/queue/q/" + id, WorkerBody(kA)).status, 200) << lease;
    const std::string error = ",\"error\":\"e" + std::to_string(lease) + "\"";
    ASSERT_EQ(Call("POST", "/queue/q/" + id + "/fail", WorkerBody(kA, lease, error)).status, 200);
  }
  const boost::json::object task = Task(id);
  EXPECT_EQ(task.at("state").as_string(), "dead");
  EXPECT_EQ(task.at("attempts").as_int64(), 12);
  const boost::json::array& failures = task.at("failures").as_array();
  ASSERT_EQ(failures.size(), 10u);
  EXPECT_EQ(failures.front().at("attempt").as_int64(), 3);
  EXPECT_EQ(failures.front().at("error").as_string(), "e2");
  EXPECT_EQ(failures.back().at("attempt").as_int64(), 12);
}

TEST_F(TaskHistoryTest, PurgeRemovesFinishedTasksForGood) {
  const std::string done = AddTask("q"), dead = AddTask("q"), cancelled = AddTask("q"),
                    pending = AddTask("q");
  ASSERT_EQ(Call("PUT", "/queue/q/" + done, WorkerBody(kA)).status, 200);
  ASSERT_EQ(Call("DELETE", "/queue/q/" + done, WorkerBody(kA, 0)).status, 200);
  now_ns_ += 1000 * kMs;
  const uint64_t after_done = NowMs();
  ASSERT_EQ(Call("POST", "/queue/q/" + cancelled + "/cancel").status, 200);
  ASSERT_EQ(Call("PUT", "/queue/q/" + dead, WorkerBody(kA)).status, 200);
  ASSERT_EQ(Call("POST", "/queue/q/" + dead + "/fail", WorkerBody(kA, 0, R"(,"error":"x")")).status,
            200);
  // Five attempts: the last fail makes it dead.
  for (uint64_t lease = 1; lease < 5; ++lease) {
    ASSERT_EQ(Call("PUT", "/queue/q/" + dead, WorkerBody(kA)).status, 200);
    ASSERT_EQ(Call("POST", "/queue/q/" + dead + "/fail", WorkerBody(kA, lease)).status, 200);
  }
  ASSERT_EQ(Task(dead).at("state").as_string(), "dead");

  // Bad requests change nothing.
  for (const char* body : {R"({"state":"pending"})", R"({"max":0})", R"({"max":100001})",
                           R"({"finished_before_ms":"soon"})", R"({"bogus":1})", "[1]", "{"}) {
    HttpResponse r = Call("POST", "/queue/q/purge", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_TRUE(Body(r).as_object().contains("error")) << r.body;
  }
  EXPECT_EQ(Call("POST", "/queue/nope/purge").status, 404);
  EXPECT_EQ(Body(Call("GET", "/queue/q/stats")).at("done").as_int64(), 1);

  // Only tasks finished before a time; only one outcome; at most `max`.
  HttpResponse r = Call("POST", "/queue/q/purge",
                        R"({"finished_before_ms":)" + std::to_string(after_done) + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"purged":1,"more":false})");
  EXPECT_EQ(Call("GET", "/queue/q/" + done).status, 404);
  r = Call("POST", "/queue/q/purge", R"({"state":"dead","max":1})");
  EXPECT_EQ(r.body, R"({"purged":1,"more":false})");
  EXPECT_EQ(Call("GET", "/queue/q/" + dead).status, 404);
  EXPECT_EQ(Call("GET", "/queue/q/" + cancelled).status, 200);
  r = Call("POST", "/queue/q/purge");
  EXPECT_EQ(r.body, R"({"purged":1,"more":false})");

  const boost::json::value stats = Body(Call("GET", "/queue/q/stats"));
  EXPECT_EQ(stats.at("done").as_int64(), 0);
  EXPECT_EQ(stats.at("dead").as_int64(), 0);
  EXPECT_EQ(stats.at("cancelled").as_int64(), 0);
  EXPECT_EQ(stats.at("pending").as_int64(), 1);
  EXPECT_EQ(Call("GET", "/queue/q?state=all").body.find(done), std::string::npos);
  EXPECT_EQ(Call("GET", "/queue/q/" + pending).status, 200);
  // Nothing brings a purged task back.
  EXPECT_EQ(Call("POST", "/queue/q/" + dead + "/retry").status, 404);
  EXPECT_EQ(Call("PUT", "/queue/q/" + done, WorkerBody(kA)).status, 404);
  EXPECT_EQ(Call("POST", "/queue/q/purge").body, R"({"purged":0,"more":false})");
}

TEST_F(TaskHistoryTest, PurgeSaysWhenMoreRemain) {
  for (int i = 0; i < 5; ++i) {
    const std::string id = AddTask("q");
    ASSERT_EQ(Call("POST", "/queue/q/" + id + "/cancel").status, 200);
  }
  const uint64_t before = Events();
  EXPECT_EQ(Call("POST", "/queue/q/purge", R"({"max":3})").body, R"({"purged":3,"more":true})");
  EXPECT_EQ(Events(), before + 1) << "one Batch entry";
  EXPECT_EQ(Call("POST", "/queue/q/purge", R"({"max":3})").body, R"({"purged":2,"more":false})");
  EXPECT_EQ(Body(Call("GET", "/queue/q/stats")).at("cancelled").as_int64(), 0);
}

}  // namespace
}  // namespace pigtail

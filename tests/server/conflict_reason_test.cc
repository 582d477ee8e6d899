// Every 409 reason of docs/http_api.md on every endpoint that can give it,
// for single requests and batched ones, through the Api handlers.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/memory_store.h"
#include "tests/server/api_fixture.h"
#include "tests/server/fault_stores.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

constexpr char kA[] = "6a0c9d2e-1f7a-4e55-9a1e-3a1b2c3d4e5f";
constexpr char kB[] = "7b1d0e3f-2a8b-4f66-8b2f-4b2c3d4e5f60";

std::string Worker(const char* worker) { return std::string(R"({"worker_id":")") + worker + "\""; }
// {"worker_id":W,"lease":L}
std::string WorkerLease(const char* worker, uint64_t lease) {
  return Worker(worker) + ",\"lease\":" + std::to_string(lease) + "}";
}

class ConflictReasonTest : public testing::ApiFixture {
 protected:
  // Queue "q" (leases of 1 s, one attempt) with a task in every state.
  void SetUp() override {
    auto log = std::make_unique<testing::FaultyEventStore>();
    store_ = log.get();
    Open(ApiOptions(), Ticking(), std::move(log));
    CreateQueue("q", ",\"max_attempts\":1");
    pending_ = AddTask("q");
    delayed_ = AddTask("q", R"({"task_name":"later","delay_ms":60000})");
    expired_ = Claim(AddTask("q"), kA);
    now_ns_ += 2'000'000'000;  // expired_'s lease runs out
    working_ = Claim(AddTask("q"), kA);
    done_ = Claim(AddTask("q"), kA);
    EXPECT_EQ(Call("DELETE", "/queue/q/" + done_, WorkerLease(kA, 0)).status, 200);
    dead_ = Claim(AddTask("q"), kA);
    EXPECT_EQ(Call("POST", "/queue/q/" + dead_ + "/fail", WorkerLease(kA, 0)).status, 200);
    cancelled_ = AddTask("q");
    EXPECT_EQ(Call("POST", "/queue/q/" + cancelled_ + "/cancel").status, 200);
  }

  std::string Claim(const std::string& id, const char* worker) {
    HttpResponse r = Call("PUT", "/queue/q/" + id, Worker(worker) + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    return id;
  }

  // A request through the Api, answered later.
  std::future<HttpResponse> CallAsync(std::string method, std::string target,
                                      std::string body = "") {
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    std::future<HttpResponse> future = promise->get_future();
    api()->Handle(HttpRequest{std::move(method), std::move(target), {}, std::move(body)},
                  [promise](HttpResponse r) { promise->set_value(std::move(r)); });
    return future;
  }
  static HttpResponse Get(std::future<HttpResponse>& f) {
    if (f.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no response within 10 s";
      return HttpResponse{599, {}, ""};
    }
    return f.get();
  }

  // Answered 409 with `reason`.
  void ExpectConflict(const HttpResponse& r, const std::string& reason, const std::string& what) {
    EXPECT_EQ(r.status, 409) << what << ": " << r.body;
    if (r.status != 409) return;
    const boost::json::value body = Body(r);
    ASSERT_TRUE(body.as_object().contains("reason")) << what << ": " << r.body;
    EXPECT_EQ(body.at("reason").as_string(), reason) << what << ": " << r.body;
  }
  // A batched done's results, one reason (or "" for done) per item.
  void ExpectDoneResults(const HttpResponse& r, const std::vector<std::string>& reasons) {
    ASSERT_EQ(r.status, 200) << r.body;
    const boost::json::value body = Body(r);
    const boost::json::array& results = body.at("results").as_array();
    ASSERT_EQ(results.size(), reasons.size()) << r.body;
    for (size_t i = 0; i < reasons.size(); ++i) {
      const boost::json::object& item = results[i].as_object();
      if (reasons[i].empty()) {
        EXPECT_EQ(item.at("status").as_string(), "done") << i << ": " << r.body;
        continue;
      }
      EXPECT_EQ(item.at("code").as_int64(), 409) << i << ": " << r.body;
      ASSERT_TRUE(item.contains("reason")) << i << ": " << r.body;
      EXPECT_EQ(item.at("reason").as_string(), reasons[i]) << i << ": " << r.body;
    }
  }
  static std::string DoneBody(const char* worker, const std::vector<std::string>& items) {
    std::string out = Worker(worker) + ",\"tasks\":[";
    for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? "," : "") + items[i];
    return out + "]}";
  }
  static std::string Quoted(const std::string& id) { return "\"" + id + "\""; }

  testing::FaultyEventStore* store_ = nullptr;
  std::string pending_, delayed_, expired_, working_, done_, dead_, cancelled_;
};

struct Case {
  std::string method;
  std::string target;
  std::string body;
  std::string reason;
};

TEST_F(ConflictReasonTest, EachEndpointAnswersEachReasonItCanGive) {
  const std::string q = "/queue/q/";
  const std::vector<Case> cases = {
      // PUT: claim or heartbeat.
      {"PUT", q + working_, Worker(kB) + "}", "leased_by_another_worker"},
      {"PUT", q + working_, WorkerLease(kA, 5), "lease_lost"},
      {"PUT", q + expired_, WorkerLease(kA, 0), "lease_lost"},
      {"PUT", q + delayed_, Worker(kA) + "}", "not_ready"},
      {"PUT", q + done_, Worker(kA) + "}", "done"},
      {"PUT", q + done_, Worker(kB) + "}", "done_by_another_worker"},
      {"PUT", q + dead_, Worker(kA) + "}", "dead"},
      {"PUT", q + cancelled_, Worker(kA) + "}", "cancelled"},
      // DELETE: done (a repeat on a done task is 200).
      {"DELETE", q + dead_, WorkerLease(kA, 0), "dead"},
      {"DELETE", q + cancelled_, WorkerLease(kA, 0), "cancelled"},
      {"DELETE", q + working_, WorkerLease(kB, 0), "lease_lost"},
      {"DELETE", q + pending_, WorkerLease(kA, 0), "lease_lost"},
      // fail.
      {"POST", q + done_ + "/fail", WorkerLease(kA, 0), "done"},
      {"POST", q + done_ + "/fail", WorkerLease(kB, 0), "done_by_another_worker"},
      {"POST", q + dead_ + "/fail", WorkerLease(kA, 0), "dead"},
      {"POST", q + cancelled_ + "/fail", WorkerLease(kA, 0), "cancelled"},
      {"POST", q + working_ + "/fail", WorkerLease(kB, 0), "lease_lost"},
      {"POST", q + working_ + "/fail", WorkerLease(kA, 1), "lease_lost"},
      {"POST", q + pending_ + "/fail", WorkerLease(kA, 0), "lease_lost"},
      // cancel.
      {"POST", q + done_ + "/cancel", "", "done"},
      {"POST", q + dead_ + "/cancel", "", "dead"},
      {"POST", q + cancelled_ + "/cancel", "", "cancelled"},
      // retry.
      {"POST", q + done_ + "/retry", "", "done"},
      {"POST", q + cancelled_ + "/retry", "", "cancelled"},
      {"POST", q + pending_ + "/retry", "", "not_dead"},
      {"POST", q + delayed_ + "/retry", "", "not_dead"},
      {"POST", q + working_ + "/retry", "", "not_dead"},
  };
  const uint64_t events = Events();
  for (const Case& c : cases) {
    ExpectConflict(Call(c.method, c.target, c.body), c.reason, c.method + " " + c.target);
  }
  EXPECT_EQ(Events(), events);  // a conflict writes nothing
}

// A dead task runs again: it is pending in round 1 with fresh attempts,
// lists as pending, and a second retry is not_dead.
TEST_F(ConflictReasonTest, RetryOfADeadTask) {
  const std::string q = "/queue/q/";
  EXPECT_EQ(Body(Call("GET", "/queue/q?state=dead")).as_object().size(), 1u);
  HttpResponse retried = Call("POST", q + dead_ + "/retry");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(retried.body, "{\"state\":\"pending\",\"round\":1}");
  const boost::json::value task = Body(Call("GET", q + dead_));
  EXPECT_EQ(task.at("state").as_string(), "pending");
  EXPECT_EQ(task.at("round").as_int64(), 1);
  EXPECT_TRUE(Body(Call("GET", "/queue/q?state=dead")).as_object().empty());
  EXPECT_TRUE(Body(Call("GET", "/queue/q?state=pending")).as_object().contains(dead_));
  ExpectConflict(Call("POST", q + dead_ + "/retry"), "not_dead", "a second retry");
  HttpResponse claim = Call("PUT", q + dead_, Worker(kA) + "}");
  ASSERT_EQ(claim.status, 200) << claim.body;
  EXPECT_EQ(Body(claim).at("attempt").as_int64(), 1);
  EXPECT_EQ(Call("POST", q + dead_ + "/retry", "{\"x\":1}").status, 400);
  EXPECT_EQ(Call("POST", q + "8b2f1c1e-0000-4000-8000-000000000000/retry").status, 404);
}

// Pausing a queue stops new claims, on every claim endpoint, until it is
// resumed; the holder of a lease still heartbeats and finishes.
TEST_F(ConflictReasonTest, APausedQueueRefusesClaims) {
  const std::string q = "/queue/q/";
  HttpResponse paused = Call("POST", "/queue/q/pause");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(paused.body, "{\"name\":\"q\",\"paused\":true}");
  EXPECT_TRUE(Body(Call("GET", "/queue/q/stats")).at("paused").as_bool());
  EXPECT_TRUE(Body(Call("GET", "/queues")).at("queues").at(0).at("paused").as_bool());
  ExpectConflict(Call("PUT", q + pending_, Worker(kA) + "}"), "paused", "a claim");
  HttpResponse next = Call("POST", "/queue/q/claim", Worker(kA) + ",\"max\":10}");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.body, "{\"tasks\":[]}");
  EXPECT_EQ(Call("PUT", q + working_, WorkerLease(kA, 0)).status, 200) << "a heartbeat";
  EXPECT_EQ(Call("DELETE", q + working_, WorkerLease(kA, 0)).status, 200) << "a done";

  HttpResponse resumed = Call("POST", "/queue/q/resume", "{}");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(resumed.body, "{\"name\":\"q\",\"paused\":false}");
  EXPECT_FALSE(Body(Call("GET", "/queue/q/stats")).at("paused").as_bool());
  EXPECT_EQ(Call("PUT", q + pending_, Worker(kA) + "}").status, 200);
  EXPECT_EQ(Call("POST", "/queue/nope/pause").status, 404);
  EXPECT_EQ(Call("POST", "/queue/q/pause", "{\"paused\":true}").status, 400);
}

TEST_F(ConflictReasonTest, BatchedDoneResultsCarryTheirReasons) {
  const uint64_t events = Events();
  HttpResponse r = Call(
      "POST", "/queue/q/done",
      DoneBody(kA, {Quoted(dead_), Quoted(cancelled_), "{\"id\":\"" + working_ + "\",\"lease\":5}",
                    "{\"id\":\"" + pending_ + "\",\"lease\":0}", Quoted(done_)}));
  ExpectDoneResults(r, {"dead", "cancelled", "lease_lost", "lease_lost", ""});
  EXPECT_EQ(Events(), events);
}

TEST_F(ConflictReasonTest, ClaimRepliesCarryTheLeaseLengthAndTheAttempt) {
  const std::string q = "/queue/q/";
  HttpResponse claim = Call("PUT", q + pending_, Worker(kB) + "}");
  ASSERT_EQ(claim.status, 200) << claim.body;
  boost::json::value body = Body(claim);
  EXPECT_EQ(body.at("lease_ms").as_int64(), 1000) << claim.body;
  EXPECT_EQ(body.at("attempt").as_int64(), 1) << claim.body;
  EXPECT_EQ(body.at("lease").as_int64(), 0) << claim.body;
  EXPECT_FALSE(body.at("heartbeat").as_bool()) << claim.body;
  EXPECT_TRUE(body.at("changed").as_bool()) << claim.body;

  HttpResponse heartbeat = Call("PUT", q + working_, WorkerLease(kA, 0));
  ASSERT_EQ(heartbeat.status, 200) << heartbeat.body;
  body = Body(heartbeat);
  EXPECT_TRUE(body.at("heartbeat").as_bool()) << heartbeat.body;
  EXPECT_TRUE(body.at("changed").as_bool()) << heartbeat.body;
  EXPECT_EQ(body.at("attempt").as_int64(), 1) << heartbeat.body;

  // expired_'s first lease ran out: the next claim is the second attempt.
  HttpResponse again = Call("POST", "/queue/q/claim", Worker(kB) + ",\"max\":5}");
  ASSERT_EQ(again.status, 200) << again.body;
  const boost::json::value claimed = Body(again);
  const boost::json::array& tasks = claimed.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 1u) << again.body;
  EXPECT_EQ(tasks[0].at("id").as_string(), expired_) << again.body;
  EXPECT_EQ(tasks[0].at("lease").as_int64(), 1) << again.body;
  EXPECT_EQ(tasks[0].at("attempt").as_int64(), 2) << again.body;
  EXPECT_EQ(tasks[0].at("lease_ms").as_int64(), 1000) << again.body;
}

TEST_F(ConflictReasonTest, DoneOfADoneTaskIsOkButSaysItChangedNothing) {
  const uint64_t events = Events();
  HttpResponse mine = Call("DELETE", "/queue/q/" + done_, WorkerLease(kA, 0));
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body, R"({"changed":false,"reason":"done"})");
  HttpResponse other = Call("DELETE", "/queue/q/" + done_, Worker(kB) + "}");
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.body, R"({"changed":false,"reason":"done_by_another_worker"})");
  HttpResponse batch = Call("POST", "/queue/q/done", DoneBody(kB, {Quoted(done_)}));
  ExpectDoneResults(batch, {""});
  const boost::json::value item = Body(batch).at("results").at(0);
  EXPECT_FALSE(item.at("changed").as_bool()) << batch.body;
  EXPECT_EQ(item.at("reason").as_string(), "done_by_another_worker") << batch.body;
  EXPECT_EQ(Events(), events);  // nothing written

  HttpResponse done = Call("DELETE", "/queue/q/" + working_, WorkerLease(kA, 0));
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.body, R"({"changed":true})");
  const std::string next = Claim(AddTask("q"), kA);
  HttpResponse both = Call("POST", "/queue/q/done", DoneBody(kA, {Quoted(next), Quoted(working_)}));
  ExpectDoneResults(both, {"", ""});
  EXPECT_TRUE(Body(both).at("results").at(0).at("changed").as_bool()) << both.body;
  EXPECT_EQ(Body(both).at("results").at(1).at("reason").as_string(), "done") << both.body;
}

TEST_F(ConflictReasonTest, FailRepliesSayTheWriteCounted) {
  HttpResponse r = Call("POST", "/queue/q/" + working_ + "/fail", WorkerLease(kA, 0));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Body(r).at("changed").as_bool()) << r.body;
}

TEST_F(ConflictReasonTest, CreateOfAQueueWithOtherSettingsIsQueueExists) {
  const uint64_t events = Events();
  const std::string create = R"({"name":"q","timeout_ms":1000)";
  ExpectConflict(Call("POST", "/create", create + R"(,"max_attempts":1,"backoff_ms":5})"),
                 "queue_exists", "other backoff");
  HttpResponse r = Call("POST", "/create", R"({"name":"q","timeout_ms":5000})");
  ExpectConflict(r, "queue_exists", "other timeout");
  EXPECT_EQ(Body(r).at("queue"),
            boost::json::parse(R"({"name":"q","timeout_ms":1000,"max_attempts":1})"))
      << r.body;
  EXPECT_EQ(Events(), events);
  EXPECT_EQ(Call("POST", "/create", create + R"(,"max_attempts":1})").status, 201);  // the same
  EXPECT_EQ(Call("POST", "/create", R"({"name":"q","timeout_ms":0})").status, 400);
  // The log API stores a Create as sent: last writer wins.
  EXPECT_EQ(Call("POST", "/log", R"({"Create":{"name":"q","timeout_ms":5000}})").status, 201);
  EXPECT_EQ(Call("GET", "/queues").body, R"({"queues":[{"name":"q","timeout_ms":5000}]})");
}

TEST_F(ConflictReasonTest, PatchChangesTheSettingsGiven) {
  HttpResponse r = Call("PATCH", "/queue/q", R"({"timeout_ms":5000,"backoff_ms":7})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), boost::json::parse(
                         R"({"name":"q","timeout_ms":5000,"max_attempts":1,"backoff_ms":7})"));
  r = Call("PATCH", "/queue/q", R"({"max_attempts":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Call("GET", "/queues").body,
            R"({"queues":[{"name":"q","timeout_ms":5000,"backoff_ms":7}]})");
  EXPECT_EQ(Body(Call("PUT", "/queue/q/" + pending_, Worker(kA) + "}")).at("lease_ms").as_int64(),
            5000);
  const uint64_t events = Events();
  EXPECT_EQ(Call("PATCH", "/queue/nope", R"({"timeout_ms":5})").status, 404);
  EXPECT_EQ(Call("PATCH", "/queue/q", R"({})").status, 400);
  EXPECT_EQ(Call("PATCH", "/queue/q", R"({"timeout_ms":0})").status, 400);
  EXPECT_EQ(Call("PATCH", "/queue/q", R"({"name":"r"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/queue/q", "[1]").status, 400);
  EXPECT_EQ(Events(), events);
}

// Requests in one sequencer batch: a task the batch already writes is busy
// on every endpoint that writes it again.
TEST_F(ConflictReasonTest, ATaskWrittenEarlierInTheBatchIsBusy) {
  store_->Hold();
  std::future<HttpResponse> first = CallAsync("POST", "/log", "{\"hold\":1}");
  ASSERT_TRUE(store_->WaitUntilHeld(10s));
  // The next batch: each task is written by its first request.
  std::future<HttpResponse> claim = CallAsync("PUT", "/queue/q/" + pending_, Worker(kA) + "}");
  std::future<HttpResponse> heartbeat =
      CallAsync("PUT", "/queue/q/" + working_, WorkerLease(kA, 0));
  std::future<HttpResponse> claim_again =
      CallAsync("PUT", "/queue/q/" + pending_, Worker(kB) + "}");
  std::future<HttpResponse> done = CallAsync("DELETE", "/queue/q/" + working_, WorkerLease(kA, 0));
  std::future<HttpResponse> batch_done =
      CallAsync("POST", "/queue/q/done", DoneBody(kA, {Quoted(working_), Quoted(working_)}));
  std::future<HttpResponse> fail =
      CallAsync("POST", "/queue/q/" + working_ + "/fail", WorkerLease(kA, 0));
  store_->Release();
  EXPECT_EQ(Get(first).status, 201);
  EXPECT_EQ(Get(claim).status, 200);
  EXPECT_EQ(Get(heartbeat).status, 200);
  ExpectConflict(Get(claim_again), "busy", "PUT");
  ExpectConflict(Get(done), "busy", "DELETE");
  ExpectDoneResults(Get(batch_done), {"busy", "busy"});
  ExpectConflict(Get(fail), "busy", "fail");
}

// A log may hold queue writes stamped far ahead (stored before the clock's
// bounds were enforced, or in attached mode): an Add they make void is
// superseded, alone or in a batch, and nothing of the batch is written.
TEST_F(ConflictReasonTest, AddsBehindADeleteStampedAheadAreSuperseded) {
  Close();
  store_ = nullptr;
  std::unique_ptr<EventStore> log = NewMemoryEventStore();
  const uint64_t century = 100ull * 365 * 24 * 3600 * 1'000'000'000;
  const Uuid peer = Uuid::Random();
  std::optional<Uuid> prev;
  std::vector<Event> entries;
  for (const auto& [when, data] : std::vector<std::pair<Hlc, std::string>>{
           {Hlc{0, now_ns_ - 1'000'000'000, 0}, R"({"Create":{"name":"r","timeout_ms":1000}})"},
           {Hlc{0, now_ns_ + century, 0}, R"({"Delete":"r"})"},
           {Hlc{0, now_ns_ + century, 1}, R"({"Create":{"name":"r","timeout_ms":1000}})"}}) {
    const Uuid id = Uuid::Random();
    Result<Event> e = MakeEvent(NewEvent{id, peer, prev, when, data, {}});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    entries.push_back(std::move(e).value());
    prev = id;
  }
  ASSERT_TRUE(log->Append(entries, true).ok());
  Open(ApiOptions(), Ticking(), std::move(log));
  const uint64_t events = Events();
  ExpectConflict(Call("POST", "/queue/r", R"({"task_name":"t"})"), "superseded", "add");
  ExpectConflict(Call("POST", "/queue/r/batch", R"([{"task_name":"t"},{"task_name":"u"}])"),
                 "superseded", "batch add");
  EXPECT_EQ(Events(), events);
}

}  // namespace
}  // namespace pigtail

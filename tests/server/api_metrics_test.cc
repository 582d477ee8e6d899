// GET /ready, /health and the task metrics of GET /metrics through the API
// over a node on memory stores, with a fake clock (no sockets).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <string>

#include "core/memory_store.h"
#include "server/api.h"
#include "tests/server/api_fixture.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

constexpr char kWorker[] = "6a0c9d2e-1f7a-4e55-9a1e-3a1b2c3d4e5f";
constexpr uint64_t kSec = 1'000'000'000;

class ApiMetricsTest : public testing::ApiFixture {
 protected:
  void SetUp() override { Open(ApiOptions(), SequencerOptions()); }
  std::string Add(const std::string& name) {
    return AddTask("q", "{\"task_name\":\"" + name + "\",\"info\":1}");
  }
  void Advance(uint64_t ns) { now_ns_ += ns; }
};

TEST_F(ApiMetricsTest, ReadyHealthAndTaskMetrics) {
  HttpResponse ready = Call("GET", "/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(boost::json::parse(ready.body).at("ready"), true);
  HttpResponse health = Call("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(boost::json::parse(health.body).at("status"), "ok");

  ASSERT_EQ(Call("POST", "/create", R"({"name":"q","timeout_ms":60000,"max_attempts":1})").status,
            201);
  const std::string worker = std::string("{\"worker_id\":\"") + kWorker + "\"}";
  // Run for 2 s, then done.
  const std::string a = Add("a");
  ASSERT_EQ(Call("PUT", "/queue/q/" + a, worker).status, 200);
  Advance(2 * kSec);
  ASSERT_EQ(Call("DELETE", "/queue/q/" + a, worker).status, 200);
  // Fail with one attempt allowed: dead.
  const std::string b = Add("b");
  ASSERT_EQ(Call("PUT", "/queue/q/" + b, worker).status, 200);
  HttpResponse failed =
      Call("POST", "/queue/q/" + b + "/fail",
           std::string("{\"worker_id\":\"") + kWorker + "\",\"lease\":0,\"error\":\"boom\"}");
  ASSERT_EQ(failed.status, 200) << failed.body;
  // Pending for 5 s.
  Add("c");
  Advance(5 * kSec);

  HttpResponse metrics = Call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  auto has = [&](const std::string& line) {
    EXPECT_NE(metrics.body.find(line + "\n"), std::string::npos) << line << "\nnot in:\n"
                                                                 << metrics.body;
  };
  has("pigtail_ready 1");
  has("pigtail_backend_up{store=\"log\"} 1");
  has("pigtail_backend_up{store=\"state\"} 1");
  has("pigtail_state_commit_failures_total 0");
  has("pigtail_task_run_seconds_bucket{queue=\"q\",le=\"1\"} 0");
  has("pigtail_task_run_seconds_bucket{queue=\"q\",le=\"2.5\"} 1");
  has("pigtail_task_run_seconds_count{queue=\"q\"} 1");
  has("pigtail_task_failures_total{queue=\"q\"} 1");
  has("pigtail_tasks_dead_total{queue=\"q\"} 1");
  has("pigtail_queue_oldest_pending_seconds{queue=\"q\"} 5.000");
}

}  // namespace
}  // namespace pigtail

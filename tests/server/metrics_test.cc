// The task metrics (server/queue_metrics.h), the lease-expiry storm warning
// (server/lease_storm.h) and the peer transitions (server/peer_watch.h).
#include <gtest/gtest.h>

#include <string>

#include "core/state.h"
#include "server/lease_storm.h"
#include "server/peer_watch.h"
#include "server/queue_metrics.h"

namespace pigtail {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

Uuid Id(uint64_t n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return *Uuid::Parse(text);
}

void AddPending(State* state, const std::string& queue, uint64_t n, uint64_t added_s,
                int64_t priority) {
  TaskRecord t;
  t.queue = queue;
  t.id = Id(n);
  t.add = TaskAdd{Hlc{0, added_s * kSec, 0}, "job", "{}", priority, 0, std::nullopt, std::nullopt};
  t.status.key.hlc = t.add->hlc;
  t.status.key.event_id = t.id;
  state->PutTask(t);
}

void LiveQueue(State* state, const std::string& name) {
  QueueRecord q;
  q.name = name;
  q.alive = true;
  q.timeout_ms = 1000;
  state->PutQueue(q);
}

TEST(QueueMetricsTest, OldestPendingLooksAtEveryPriority) {
  State state;
  LiveQueue(&state, "q");
  // The claim order puts priority 9 first, but the oldest Add is the
  // priority -3 task.
  AddPending(&state, "q", 1, 500, 9);
  AddPending(&state, "q", 2, 300, 9);
  AddPending(&state, "q", 3, 400, 0);
  AddPending(&state, "q", 4, 200, -3);
  AddPending(&state, "q", 5, 250, -3);
  const State::QueueSlot* slot = state.FindSlot("q");
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(OldestOpenAddNs(*slot), std::optional<uint64_t>(200 * kSec));

  LiveQueue(&state, "empty");
  EXPECT_EQ(OldestOpenAddNs(*state.FindSlot("empty")), std::nullopt);

  QueueMetrics metrics;
  std::string text = metrics.Render(state, 260 * kSec);
  EXPECT_NE(text.find("pigtail_queue_oldest_pending_seconds{queue=\"q\"} 60.000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pigtail_queue_oldest_pending_seconds{queue=\"empty\"} 0.000\n"),
            std::string::npos)
      << text;
}

TEST(QueueMetricsTest, RunTimesFailuresAndDeadByQueue) {
  QueueMetrics metrics;
  metrics.ObserveRunTime("a", 30'000'000);     // 0.03 s
  metrics.ObserveRunTime("a", 2 * kSec);       // 2 s
  metrics.ObserveRunTime("b\"x", 400 * kSec);  // above every bucket
  metrics.CountFailure("a", false);
  metrics.CountFailure("a", true);
  metrics.CountFailure("b\"x", false);
  State state;
  std::string text = metrics.Render(state, 0);
  auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\nin:\n" << text;
  };
  has("pigtail_task_run_seconds_bucket{queue=\"a\",le=\"0.01\"} 0");
  has("pigtail_task_run_seconds_bucket{queue=\"a\",le=\"0.05\"} 1");
  has("pigtail_task_run_seconds_bucket{queue=\"a\",le=\"2.5\"} 2");
  has("pigtail_task_run_seconds_bucket{queue=\"a\",le=\"+Inf\"} 2");
  has("pigtail_task_run_seconds_sum{queue=\"a\"} 2.030000");
  has("pigtail_task_run_seconds_count{queue=\"a\"} 2");
  has("pigtail_task_run_seconds_bucket{queue=\"b\\\"x\",le=\"300\"} 0");
  has("pigtail_task_run_seconds_bucket{queue=\"b\\\"x\",le=\"+Inf\"} 1");
  has("pigtail_task_failures_total{queue=\"a\"} 2");
  has("pigtail_task_failures_total{queue=\"b\\\"x\"} 1");
  has("pigtail_tasks_dead_total{queue=\"a\"} 1");
  EXPECT_EQ(text.find("pigtail_tasks_dead_total{queue=\"b"), std::string::npos);
}

TEST(LeaseStormTest, WarnsOncePerQueueAndWindow) {
  LeaseStormDetector storm(LeaseStormOptions{100, std::chrono::seconds(10)});
  auto t0 = LeaseStormDetector::Clock::now();
  EXPECT_FALSE(storm.Add("q", 100, t0));  // at the threshold: not yet
  EXPECT_FALSE(storm.Add("other", 50, t0));
  EXPECT_TRUE(storm.Add("q", 1, t0 + std::chrono::seconds(1)));
  EXPECT_FALSE(storm.Add("q", 500, t0 + std::chrono::seconds(2)));  // reported already
  // A new window: counted afresh.
  EXPECT_FALSE(storm.Add("q", 100, t0 + std::chrono::seconds(11)));
  EXPECT_TRUE(storm.Add("q", 5, t0 + std::chrono::seconds(12)));
  // Slow expiries never add up to a storm.
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(storm.Add("slow", 10, t0 + std::chrono::seconds(11 * i)));
  }
}

TEST(PeerWatchTest, OneLinePerTransition) {
  using T = PeerWatch::Transition;
  PeerWatch watch("http://127.0.0.1:1", 3);
  auto t0 = PeerWatch::Clock::now();
  EXPECT_EQ(watch.Success("n", t0), T::kReachable);
  EXPECT_EQ(watch.Success("n", t0), T::kNone);
  EXPECT_EQ(watch.Failure(Status::Unavailable("refused"), t0), T::kNone);
  EXPECT_EQ(watch.Failure(Status::Unavailable("refused"), t0), T::kNone);
  EXPECT_EQ(watch.Failure(Status::Unavailable("refused"), t0), T::kDown);
  EXPECT_TRUE(watch.down());
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(watch.Failure(Status::Unavailable("refused"), t0), T::kNone);
  EXPECT_EQ(watch.Success("n", t0 + std::chrono::seconds(5)), T::kUp);
  EXPECT_FALSE(watch.down());
  // A blip shorter than down_after is not a transition.
  EXPECT_EQ(watch.Failure(Status::Unavailable("refused"), t0), T::kNone);
  EXPECT_EQ(watch.Success("n", t0), T::kNone);
}

}  // namespace
}  // namespace pigtail

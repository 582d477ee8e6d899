// Per-queue task metrics for GET /metrics: how long tasks ran (from the
// claim to the done, both decided by this node's sequencer, by their HLCs),
// failures and dead tasks decided by this node (counters: summed over the
// nodes they give cluster totals, never counting a decision twice), and the
// age of each queue's oldest pending task (a gauge read from the State's
// claim index at render time).
//
// Thread-safe.
#ifndef PIGTAIL_SERVER_QUEUE_METRICS_H_
#define PIGTAIL_SERVER_QUEUE_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/state.h"

namespace pigtail {

// The Add time (HLC physical part, ns) of the oldest task in `slot`'s open
// index (pending, delayed or awaiting a retry), or nullopt when it is
// empty. Costs one index step per distinct priority, not one per task.
std::optional<uint64_t> OldestOpenAddNs(const State::QueueSlot& slot);

class QueueMetrics {
 public:
  // Upper bounds of the run time buckets, in seconds.
  static constexpr std::array<double, 12> kRunBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                         2.5,  5,    10,  30,   60,  300};

  void ObserveRunTime(std::string_view queue, uint64_t run_ns);
  void CountFailure(std::string_view queue, bool dead);

  // pigtail_task_run_seconds, pigtail_task_failures_total,
  // pigtail_tasks_dead_total, and pigtail_queue_oldest_pending_seconds of the
  // live queues of `state` at `now_ns`. REQUIRES: the caller holds the
  // State's shared lock (or is its writer).
  std::string Render(const State& state, uint64_t now_ns) const;

 private:
  struct Histogram {
    std::array<uint64_t, kRunBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Histogram, std::less<>> run_;
  std::map<std::string, uint64_t, std::less<>> failures_;
  std::map<std::string, uint64_t, std::less<>> dead_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_QUEUE_METRICS_H_

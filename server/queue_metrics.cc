#include "server/queue_metrics.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace pigtail {

std::optional<uint64_t> OldestOpenAddNs(const State::QueueSlot& slot) {
  std::optional<uint64_t> oldest;
  auto it = slot.open.begin();
  while (it != slot.open.end()) {
    // The first of each priority group is its oldest Add.
    oldest = std::min(oldest.value_or(std::numeric_limits<uint64_t>::max()), it->added.time);
    if (it->priority == std::numeric_limits<int64_t>::min()) break;
    // Higher priorities come first: the least key of the next group down.
    it = slot.open.lower_bound(ClaimOrder{it->priority - 1, Hlc{}, Uuid{}});
  }
  return oldest;
}

void QueueMetrics::ObserveRunTime(std::string_view queue, uint64_t run_ns) {
  double seconds = static_cast<double>(run_ns) / 1e9;
  std::lock_guard lock(mu_);
  auto it = run_.find(queue);
  if (it == run_.end()) it = run_.emplace(std::string(queue), Histogram()).first;
  Histogram& h = it->second;
  for (size_t i = 0; i < kRunBuckets.size(); ++i) {
    if (seconds <= kRunBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void QueueMetrics::CountFailure(std::string_view queue, bool dead) {
  std::lock_guard lock(mu_);
  auto bump = [&](std::map<std::string, uint64_t, std::less<>>& m) {
    auto it = m.find(queue);
    if (it == m.end()) it = m.emplace(std::string(queue), 0).first;
    ++it->second;
  };
  bump(failures_);
  if (dead) bump(dead_);
}

std::string QueueMetrics::Render(const State& state, uint64_t now_ns) const {
  std::string out;
  char buf[128];
  auto label = [](const std::string& queue) {
    std::string q;
    for (char c : queue) {
      if (c == '\\' || c == '"') q.push_back('\\');
      if (c == '\n') {
        q += "\\n";
        continue;
      }
      q.push_back(c);
    }
    return "queue=\"" + q + "\"";
  };
  {
    std::lock_guard lock(mu_);
    out +=
        "# HELP pigtail_task_run_seconds Time from a task's claim to its done, both decided by "
        "this node.\n# TYPE pigtail_task_run_seconds histogram\n";
    for (const auto& [queue, h] : run_) {
      const std::string l = label(queue);
      for (size_t i = 0; i < kRunBuckets.size(); ++i) {
        std::snprintf(buf, sizeof buf, ",le=\"%g\"} %llu\n", kRunBuckets[i],
                      static_cast<unsigned long long>(h.buckets[i]));
        out += "pigtail_task_run_seconds_bucket{" + l + buf;
      }
      out += "pigtail_task_run_seconds_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(h.count) +
             "\n";
      std::snprintf(buf, sizeof buf, "%.6f", h.sum);
      out += "pigtail_task_run_seconds_sum{" + l + "} " + buf + "\n";
      out += "pigtail_task_run_seconds_count{" + l + "} " + std::to_string(h.count) + "\n";
    }
    out +=
        "# HELP pigtail_task_failures_total Failed attempts decided by this node.\n"
        "# TYPE pigtail_task_failures_total counter\n";
    for (const auto& [queue, n] : failures_) {
      out += "pigtail_task_failures_total{" + label(queue) + "} " + std::to_string(n) + "\n";
    }
    out +=
        "# HELP pigtail_tasks_dead_total Tasks whose attempts ran out, decided by this node.\n"
        "# TYPE pigtail_tasks_dead_total counter\n";
    for (const auto& [queue, n] : dead_) {
      out += "pigtail_tasks_dead_total{" + label(queue) + "} " + std::to_string(n) + "\n";
    }
  }
  out +=
      "# HELP pigtail_queue_oldest_pending_seconds Age of the queue's oldest pending task "
      "(since its Add; 0 when none).\n# TYPE pigtail_queue_oldest_pending_seconds gauge\n";
  for (const auto& [name, slot] : state.queues()) {
    if (!slot.record || !slot.record->alive) continue;
    std::optional<uint64_t> oldest = OldestOpenAddNs(slot);
    double age = oldest && *oldest < now_ns ? static_cast<double>(now_ns - *oldest) / 1e9 : 0.0;
    std::snprintf(buf, sizeof buf, "%.3f", age);
    out += "pigtail_queue_oldest_pending_seconds{" + label(name) + "} " + buf + "\n";
  }
  return out;
}

}  // namespace pigtail

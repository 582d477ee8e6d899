#include "server/node_work.h"

#include <sys/resource.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace pigtail {
namespace {

// The counters of a sample by metric name.
const std::array<std::pair<std::string_view, double NodeWorkSample::*>, 5> kCounters = {{
    {"pigtail_sequencer_batches_total", &NodeWorkSample::batches},
    {"pigtail_sequencer_requests_total", &NodeWorkSample::requests},
    {"pigtail_log_append_seconds_total", &NodeWorkSample::log_append_s},
    {"pigtail_sequencer_busy_seconds_total", &NodeWorkSample::sequencer_busy_s},
    {"process_cpu_seconds_total", &NodeWorkSample::cpu_s},
}};

std::string Format(const char* format, double a, double b = 0) {
  char text[96];
  std::snprintf(text, sizeof text, format, a, b);
  return text;
}

}  // namespace

std::optional<NodeWorkSample> ParseNodeWork(std::string_view metrics_text) {
  NodeWorkSample sample;
  std::array<bool, kCounters.size()> seen{};
  while (!metrics_text.empty()) {
    const size_t end = metrics_text.find('\n');
    std::string_view line = metrics_text.substr(0, end);
    metrics_text.remove_prefix(end == std::string_view::npos ? metrics_text.size() : end + 1);
    const size_t space = line.find(' ');
    if (line.empty() || line.front() == '#' || space == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, space);
    const std::string_view value = line.substr(space + 1);
    for (size_t i = 0; i < kCounters.size(); ++i) {
      if (kCounters[i].first != name) continue;
      double parsed = 0;
      auto [rest, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (error != std::errc() || rest != value.data() + value.size() || !std::isfinite(parsed)) {
        return std::nullopt;
      }
      sample.*kCounters[i].second = parsed;
      seen[i] = true;
    }
  }
  for (bool found : seen) {
    if (!found) return std::nullopt;
  }
  return sample;
}

double ProcessCpuSeconds() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string DescribeNodeWork(const NodeWorkSample& before, const NodeWorkSample& after,
                             const LoadPhase& phase) {
  const double batches = after.batches - before.batches;
  const double requests = after.requests - before.requests;
  const double append_s = after.log_append_s - before.log_append_s;
  const double busy_s = after.sequencer_busy_s - before.sequencer_busy_s;
  const double node_cpu_s = after.cpu_s - before.cpu_s;
  const double wall_s = phase.wall_s > 0 ? phase.wall_s : 1e-9;
  const double items = phase.items > 0 ? phase.items : 1;
  const double rate = phase.items / wall_s;

  std::string text = "node:   " + Format("%.0f batches", batches);
  if (batches > 0) {
    text += Format(", %.2f requests/batch, log append %.0f us/batch", requests / batches,
                   append_s / batches * 1e6);
    text += Format(" (%.0f%% of the time)", append_s / wall_s * 100);
  }
  text += Format(", sequencer busy %.0f%%", busy_s / wall_s * 100);
  text += Format(", cpu/item node %.1f us + client %.1f us", node_cpu_s / items * 1e6,
                 phase.client_cpu_s / items * 1e6);
  text += Format(", %.2f of %.0f cores busy\n", (node_cpu_s + phase.client_cpu_s) / wall_s,
                 static_cast<double>(phase.cores));

  std::string bounds;
  auto add_bound = [&](const char* name, double items_per_s) {
    if (!bounds.empty()) bounds += ", ";
    bounds +=
        name + Format(" %.0f items/s (rate %.0f%% of it)", items_per_s, rate / items_per_s * 100);
  };
  if (phase.items > 0) {
    const double cpu_s = node_cpu_s + phase.client_cpu_s;
    if (append_s > 0) add_bound("log appends back to back", phase.items / append_s);
    if (busy_s > 0) add_bound("sequencer never idle", phase.items / busy_s);
    if (cpu_s > 0) add_bound("every core busy", phase.cores * phase.items / cpu_s);
  }
  if (!bounds.empty()) text += "bounds: " + bounds + "\n";
  return text;
}

}  // namespace pigtail

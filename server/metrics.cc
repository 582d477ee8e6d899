#include "server/metrics.h"

#include <cstdio>

namespace pigtail {

void Metrics::Record(std::string_view route, int status, uint64_t latency_ns) {
  double seconds = static_cast<double>(latency_ns) / 1e9;
  std::lock_guard lock(mu_);
  auto key = std::make_pair(std::string(route), status);
  ++requests_[key];
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(std::string(route), Histogram()).first;
  Histogram& h = it->second;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::Render() const {
  std::string out;
  char buf[256];
  std::lock_guard lock(mu_);
  out += "# HELP pigtail_http_requests_total HTTP requests by route and status code.\n";
  out += "# TYPE pigtail_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    std::snprintf(buf, sizeof buf, "pigtail_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                  key.first.c_str(), key.second, static_cast<unsigned long long>(count));
    out += buf;
  }
  out += "# HELP pigtail_http_request_duration_seconds HTTP request latency by route.\n";
  out += "# TYPE pigtail_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(buf, sizeof buf,
                    "pigtail_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    route.c_str(), kBuckets[i], static_cast<unsigned long long>(h.buckets[i]));
      out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "pigtail_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                  route.c_str(), static_cast<unsigned long long>(h.count));
    out += buf;
    std::snprintf(buf, sizeof buf, "pigtail_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n",
                  route.c_str(), h.sum);
    out += buf;
    std::snprintf(buf, sizeof buf,
                  "pigtail_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route.c_str(),
                  static_cast<unsigned long long>(h.count));
    out += buf;
  }
  return out;
}

}  // namespace pigtail

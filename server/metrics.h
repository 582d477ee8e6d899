// Request metrics for GET /metrics: counts by route and status code and a
// latency histogram per route, rendered in the Prometheus text format.
//
// Thread-safe.
#ifndef PIGTAIL_SERVER_METRICS_H_
#define PIGTAIL_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace pigtail {

class Metrics {
 public:
  // Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

  // `route` is a path pattern such as "PUT /queue/{name}/{id}".
  void Record(std::string_view route, int status, uint64_t latency_ns);

  // pigtail_http_requests_total and pigtail_http_request_duration_seconds.
  std::string Render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t, std::less<>> requests_;
  std::map<std::string, Histogram, std::less<>> latency_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_METRICS_H_

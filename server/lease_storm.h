// Notices lease-expiry storms: many claims taking over expired leases of one
// queue in a short window (workers dying, or too short a timeout). Logs one
// warning per queue and window, not one per expiry.
//
// Not thread-safe: the sequencer thread feeds it.
#ifndef PIGTAIL_SERVER_LEASE_STORM_H_
#define PIGTAIL_SERVER_LEASE_STORM_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace pigtail {

struct LeaseStormOptions {
  uint64_t threshold = 100;  // more expiries than this in one window is a storm
  std::chrono::milliseconds window{10'000};
};

class LeaseStormDetector {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LeaseStormDetector(const LeaseStormOptions& options = LeaseStormOptions())
      : options_(options) {}

  // `n` claims of `queue` took over expired leases at `now`. Returns true
  // (and logs a warning) when this makes the window a storm that was not
  // reported yet.
  bool Add(std::string_view queue, uint64_t n, Clock::time_point now);

 private:
  struct Window {
    Clock::time_point start;
    uint64_t count = 0;
    bool reported = false;
  };
  const LeaseStormOptions options_;
  std::map<std::string, Window, std::less<>> windows_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_LEASE_STORM_H_

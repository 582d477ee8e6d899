#include "server/lease_storm.h"

#include "server/log.h"

namespace pigtail {

bool LeaseStormDetector::Add(std::string_view queue, uint64_t n, Clock::time_point now) {
  if (n == 0) return false;
  auto it = windows_.find(queue);
  if (it == windows_.end()) it = windows_.emplace(std::string(queue), Window{now, 0, false}).first;
  Window& w = it->second;
  if (now - w.start >= options_.window) w = Window{now, 0, false};
  w.count += n;
  if (w.reported || w.count <= options_.threshold) return false;
  w.reported = true;
  log::Warn("lease-expiry storm: many claims took over expired leases",
            {{"queue", queue},
             {"expired", w.count},
             {"window_s", static_cast<double>(options_.window.count()) / 1000.0}});
  return true;
}

}  // namespace pigtail

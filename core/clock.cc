#include "core/clock.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace pigtail {

uint64_t HybridClock::SystemNanos() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

HybridClock::HybridClock(uint64_t max_offset_ns, PhysicalClock physical, uint32_t epoch)
    : max_offset_ns_(max_offset_ns), physical_(std::move(physical)) {
  last_.epoch = epoch;
}

Hlc HybridClock::TickAfter(const Hlc& floor, uint64_t physical) const {
  if (physical > floor.time) return Hlc{floor.epoch, physical, 0};
  if (floor.count == std::numeric_limits<uint32_t>::max()) {
    return Hlc{floor.epoch, floor.time + 1, 0};
  }
  return Hlc{floor.epoch, floor.time, floor.count + 1};
}

Hlc HybridClock::Now() {
  uint64_t physical = physical_();
  std::lock_guard lock(mu_);
  last_ = TickAfter(last_, physical);
  return last_;
}

Status HybridClock::Observe(const Hlc& remote) {
  uint64_t physical = physical_();
  if (remote.time > physical && remote.time - physical > max_offset_ns_) {
    return Status::OutOfRange("timestamp " + remote.ToJson() + " is " +
                              std::to_string((remote.time - physical) / 1000000) +
                              " ms ahead of the local clock (maximum offset " +
                              std::to_string(max_offset_ns_ / 1000000) + " ms)");
  }
  std::lock_guard lock(mu_);
  last_ = TickAfter(std::max(last_, remote), physical);
  return Status::Ok();
}

Hlc HybridClock::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

}  // namespace pigtail

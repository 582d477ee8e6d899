#include "core/clock.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace pigtail {

Status CheckHlcBounds(const Hlc& remote, uint64_t physical_ns, uint64_t max_offset_ns,
                      uint32_t epoch, std::string* reason) {
  auto refuse = [&](const char* why, const std::string& message) {
    if (reason != nullptr) *reason = why;
    return Status::OutOfRange("timestamp " + remote.ToJson() + " " + message);
  };
  if (remote.epoch > epoch) {
    return refuse(kEpochReason, "has epoch " + std::to_string(remote.epoch) +
                                    ", above the local clock's epoch " + std::to_string(epoch));
  }
  if (remote.count > kMaxHlcCount) {
    return refuse(kCountReason, "has count " + std::to_string(remote.count) + ", above the bound " +
                                    std::to_string(kMaxHlcCount));
  }
  if (remote.time > physical_ns && remote.time - physical_ns > max_offset_ns) {
    return refuse(kAheadReason, "is " + std::to_string((remote.time - physical_ns) / 1000000) +
                                    " ms ahead of the local clock (maximum offset " +
                                    std::to_string(max_offset_ns / 1000000) + " ms)");
  }
  return Status::Ok();
}

uint64_t HybridClock::SystemNanos() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

HybridClock::HybridClock(uint64_t max_offset_ns, PhysicalClock physical, uint32_t epoch)
    : max_offset_ns_(max_offset_ns), physical_(std::move(physical)), epoch_(epoch) {
  last_.epoch = epoch;
}

Hlc HybridClock::TickAfter(const Hlc& floor, uint64_t physical) const {
  if (physical > floor.time) return Hlc{floor.epoch, physical, 0};
  if (floor.count >= kMaxHlcCount) return Hlc{floor.epoch, floor.time + 1, 0};
  return Hlc{floor.epoch, floor.time, floor.count + 1};
}

Hlc HybridClock::Now() {
  uint64_t physical = physical_();
  std::lock_guard lock(mu_);
  last_ = TickAfter(last_, physical);
  return last_;
}

Status HybridClock::Observe(const Hlc& remote, std::string* reason) {
  uint64_t physical = physical_();
  PIGTAIL_RETURN_IF_ERROR(CheckHlcBounds(remote, physical, max_offset_ns_, epoch_, reason));
  std::lock_guard lock(mu_);
  last_ = TickAfter(std::max(last_, remote), physical);
  return Status::Ok();
}

Hlc HybridClock::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

}  // namespace pigtail

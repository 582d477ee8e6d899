// A Hybrid Logical Clock: issues timestamps for this node's events and
// observes timestamps from other nodes.
//
// Thread-safe. Every timestamp returned by Now() is greater than every
// timestamp previously returned by Now() and every timestamp accepted by
// Observe().
#ifndef PIGTAIL_CORE_CLOCK_H_
#define PIGTAIL_CORE_CLOCK_H_

#include <cstdint>
#include <functional>
#include <mutex>

#include "core/hlc.h"
#include "core/status.h"

namespace pigtail {

class HybridClock {
 public:
  // Returns physical time in nanoseconds since the Unix epoch.
  using PhysicalClock = std::function<uint64_t()>;

  // The system's real-time clock.
  static uint64_t SystemNanos();

  // `max_offset_ns`: how far ahead of the physical clock an observed
  // timestamp may be before Observe() refuses it.
  explicit HybridClock(uint64_t max_offset_ns, PhysicalClock physical = &SystemNanos,
                       uint32_t epoch = 0);

  HybridClock(const HybridClock&) = delete;
  HybridClock& operator=(const HybridClock&) = delete;

  // A fresh timestamp, greater than any seen so far.
  Hlc Now();

  // Advances the clock past `remote`. Returns OutOfRange, and leaves the
  // clock as it was, when remote.time is more than max_offset_ns ahead of the
  // physical clock.
  Status Observe(const Hlc& remote);

  // The greatest timestamp issued or observed so far.
  Hlc Last() const;

 private:
  Hlc TickAfter(const Hlc& floor, uint64_t physical) const;

  const uint64_t max_offset_ns_;
  const PhysicalClock physical_;
  mutable std::mutex mu_;
  Hlc last_;  // guarded by mu_
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_CLOCK_H_

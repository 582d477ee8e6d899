// A Hybrid Logical Clock: issues timestamps for this node's events and
// observes timestamps from other nodes.
//
// The clock is bounded (docs/registers.md, "Hostile clocks"): it only
// follows a timestamp whose time is at most max_offset ahead of the physical
// clock, whose epoch is at most the clock's epoch and whose count is at most
// kMaxHlcCount. A timestamp outside these bounds is refused and leaves the
// clock as it was, so no entry can move the clock away for good.
//
// Thread-safe. Every timestamp returned by Now() is greater than every
// timestamp previously returned by Now() and every timestamp accepted by
// Observe().
#ifndef PIGTAIL_CORE_CLOCK_H_
#define PIGTAIL_CORE_CLOCK_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "core/hlc.h"
#include "core/status.h"

namespace pigtail {

// The greatest logical count a timestamp may carry (2^24). Now() carries
// into the time part before it passes this, so this node never writes more.
inline constexpr uint32_t kMaxHlcCount = 1u << 24;

// Why a timestamp is outside the clock's bounds: the `reason` of a deferred
// entry (docs/registers.md).
inline constexpr char kAheadReason[] = "clock_ahead";      // time too far ahead
inline constexpr char kEpochReason[] = "epoch_ahead";      // epoch above ours
inline constexpr char kCountReason[] = "count_too_large";  // count above kMaxHlcCount

// Whether `remote` is within the bounds of a clock at `epoch` whose physical
// time is `physical_ns`: time at most `max_offset_ns` ahead, epoch at most
// `epoch`, count at most kMaxHlcCount. Pure. On failure returns OutOfRange
// saying which bound was passed, and sets `*reason` (when not null) to one
// of the reasons above.
Status CheckHlcBounds(const Hlc& remote, uint64_t physical_ns, uint64_t max_offset_ns,
                      uint32_t epoch, std::string* reason = nullptr);

class HybridClock {
 public:
  // Returns physical time in nanoseconds since the Unix epoch.
  using PhysicalClock = std::function<uint64_t()>;

  // The system's real-time clock.
  static uint64_t SystemNanos();

  // `max_offset_ns`: how far ahead of the physical clock an observed
  // timestamp may be before Observe() refuses it. `epoch`: the epoch of
  // every timestamp Now() issues; an observed timestamp may not exceed it.
  explicit HybridClock(uint64_t max_offset_ns, PhysicalClock physical = &SystemNanos,
                       uint32_t epoch = 0);

  HybridClock(const HybridClock&) = delete;
  HybridClock& operator=(const HybridClock&) = delete;

  // A fresh timestamp, greater than any seen so far.
  Hlc Now();

  // Advances the clock past `remote` when it is within the bounds
  // (CheckHlcBounds against the physical clock now). Otherwise returns
  // OutOfRange, sets `*reason` (when not null), and leaves the clock as it
  // was.
  Status Observe(const Hlc& remote, std::string* reason = nullptr);

  // The greatest timestamp issued or observed so far.
  Hlc Last() const;

  uint64_t max_offset_ns() const { return max_offset_ns_; }
  uint32_t epoch() const { return epoch_; }

 private:
  Hlc TickAfter(const Hlc& floor, uint64_t physical) const;

  const uint64_t max_offset_ns_;
  const PhysicalClock physical_;
  const uint32_t epoch_;
  mutable std::mutex mu_;
  Hlc last_;  // guarded by mu_
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_CLOCK_H_

// Hybrid Logical Clock timestamps (DESIGN.md §3).
//
// A timestamp is (epoch, time, count): epoch u32, time u64 nanoseconds since
// the Unix epoch, count u32, ordered lexicographically. The JSON forms are
// documented in docs/event_format.md.
#ifndef PIGTAIL_CORE_HLC_H_
#define PIGTAIL_CORE_HLC_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pigtail {

struct Hlc {
  // Stored time first, so that a timestamp takes 16 bytes rather than 24
  // (every task register holds two); built and ordered as (epoch, time,
  // count).
  uint64_t time = 0;  // nanoseconds since the Unix epoch
  uint32_t epoch = 0;
  uint32_t count = 0;

  static constexpr size_t kEncodedSize = 16;

  constexpr Hlc() = default;
  constexpr Hlc(uint32_t epoch_part, uint64_t time_part, uint32_t count_part)
      : time(time_part), epoch(epoch_part), count(count_part) {}

  friend bool operator==(const Hlc&, const Hlc&) = default;
  friend constexpr std::strong_ordering operator<=>(const Hlc& a, const Hlc& b) {
    if (auto c = a.epoch <=> b.epoch; c != 0) return c;
    if (auto c = a.time <=> b.time; c != 0) return c;
    return a.count <=> b.count;
  }

  // Appends the 16-byte big-endian form epoch|time|count. Byte order of the
  // encodings equals the order of the timestamps.
  void AppendEncoded(std::string* out) const;
  std::string Encoded() const;
  // Fails unless `bytes` is exactly 16 bytes.
  static Result<Hlc> Decode(std::string_view bytes);

  // "[E,[T],C]", the form hybrid-clocks 0.3 (Potboiler) reads and writes.
  std::string ToJson() const;
  std::string ToString() const { return ToJson(); }
};
static_assert(sizeof(Hlc) == 16, "Hlc is stored in every register and event: keep it unpadded");

// Parses any of the accepted JSON forms from text:
//   [E,[T],C]   [E,T,C]   {"epoch":E,"time":T,"count":C}
// Numbers must be non-negative integers in range; T is read as an unsigned
// 64-bit integer, never through a double.
Result<Hlc> ParseHlc(std::string_view json_text);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_HLC_H_

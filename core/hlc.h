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
  uint32_t epoch = 0;
  uint64_t time = 0;  // nanoseconds since the Unix epoch
  uint32_t count = 0;

  static constexpr size_t kEncodedSize = 16;

  auto operator<=>(const Hlc&) const = default;

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

// Parses any of the accepted JSON forms from text:
//   [E,[T],C]   [E,T,C]   {"epoch":E,"time":T,"count":C}
// Numbers must be non-negative integers in range; T is read as an unsigned
// 64-bit integer, never through a double.
Result<Hlc> ParseHlc(std::string_view json_text);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_HLC_H_

// 128-bit identifiers for events, owners (nodes), tasks and workers.
#ifndef PIGTAIL_CORE_UUID_H_
#define PIGTAIL_CORE_UUID_H_

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pigtail {

class Uuid {
 public:
  static constexpr size_t kSize = 16;

  Uuid() = default;  // the nil UUID
  explicit Uuid(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // Accepts the canonical 8-4-4-4-12 hex form, either case. Anything else
  // (braces, missing hyphens, wrong length) is an InvalidArgument.
  static Result<Uuid> Parse(std::string_view text);
  // The same check without a Result, for the parsers' hot paths: false
  // (and *out unchanged) where Parse fails.
  static bool TryParse(std::string_view text, Uuid* out);
  // Fails unless `bytes` is exactly 16 bytes.
  static Result<Uuid> FromBytes(std::string_view bytes);
  // A random (version 4) UUID. Thread-safe. Not for use inside projection.
  static Uuid Random();
  // A time-ordered (version 7, RFC 9562) UUID: `unix_ms` in the first 48
  // bits, then a counter, then random bits. Those one thread makes sort in
  // the order made (a later call with an earlier time takes the last time),
  // so the tasks one node adds list by id in the order added.
  // Thread-safe. Not for use inside projection.
  static Uuid TimeOrdered(uint64_t unix_ms);

  // Lower-case canonical form.
  std::string ToString() const;
  // Appends ToString() to *out, without a temporary.
  void AppendTo(std::string* out) const;
  std::string_view Bytes() const { return {reinterpret_cast<const char*>(bytes_.data()), kSize}; }
  bool IsNil() const;

  // A 64-bit hash for hash tables (not stable across versions; never
  // stored). Folds the halves together and finishes with a 64-bit
  // avalanche mix, so ids that differ in any byte spread across buckets
  // (sequential test ids too), for three multiplies instead of a byte loop.
  uint64_t Hash() const {
    uint64_t h = (Word(0) * 0x9E3779B97F4A7C15ULL) ^ Word(1);
    h ^= h >> 33;  // then MurmurHash3's 64-bit finalizer
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 33);
  }

  // Byte-wise (big-endian) order, as the defaulted comparison of the bytes
  // would give, compared as two 64-bit words instead of through memcmp.
  bool operator==(const Uuid& o) const {
    return ((Word(0) ^ o.Word(0)) | (Word(1) ^ o.Word(1))) == 0;
  }
  std::strong_ordering operator<=>(const Uuid& o) const {
    uint64_t a = BigEndianWord(0);
    uint64_t b = o.BigEndianWord(0);
    if (a != b) return a <=> b;
    return BigEndianWord(1) <=> o.BigEndianWord(1);
  }

 private:
  uint64_t Word(size_t i) const {
    uint64_t w;
    std::memcpy(&w, bytes_.data() + 8 * i, sizeof(w));
    return w;
  }
  uint64_t BigEndianWord(size_t i) const {
    uint64_t w = Word(i);
    if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    return w;
  }

  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace pigtail

template <>
struct std::hash<pigtail::Uuid> {
  size_t operator()(const pigtail::Uuid& u) const noexcept { return static_cast<size_t>(u.Hash()); }
};

#endif  // PIGTAIL_CORE_UUID_H_

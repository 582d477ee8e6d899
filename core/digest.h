// An order-independent 128-bit digest of a set of registers: the sum modulo
// 2^128 of a 128-bit hash (XXH3) of each register's canonical encoding.
// Adding and removing commute, so it can be kept up to date incrementally.
#ifndef PIGTAIL_CORE_DIGEST_H_
#define PIGTAIL_CORE_DIGEST_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pigtail {

struct Digest {
  uint64_t high = 0;
  uint64_t low = 0;

  static Digest Of(std::string_view bytes);  // the hash of one register

  void Add(const Digest& d);
  void Subtract(const Digest& d);
  bool IsZero() const { return high == 0 && low == 0; }

  // 32 lower-case hex digits.
  std::string ToHex() const;
  static Result<Digest> FromHex(std::string_view hex);

  auto operator<=>(const Digest&) const = default;
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_DIGEST_H_

#include "core/digest.h"

#include <xxhash.h>

namespace pigtail {

Digest Digest::Of(std::string_view bytes) {
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return Digest{h.high64, h.low64};
}

void Digest::Add(const Digest& d) {
  uint64_t low_sum = low + d.low;
  high += d.high + (low_sum < low ? 1 : 0);
  low = low_sum;
}

void Digest::Subtract(const Digest& d) {
  uint64_t borrow = low < d.low ? 1 : 0;
  low -= d.low;
  high -= d.high + borrow;
}

std::string Digest::ToHex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(high >> (4 * i)) & 0xf];
    out[31 - i] = kHex[(low >> (4 * i)) & 0xf];
  }
  return out;
}

Result<Digest> Digest::FromHex(std::string_view hex) {
  if (hex.size() != 32) return Status::InvalidArgument("digest must be 32 hex digits");
  Digest d;
  for (size_t i = 0; i < 32; ++i) {
    char c = hex[i];
    uint64_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return Status::InvalidArgument("digest must be 32 lower-case hex digits");
    }
    uint64_t& half = i < 16 ? d.high : d.low;
    half = (half << 4) | v;
  }
  return d;
}

}  // namespace pigtail

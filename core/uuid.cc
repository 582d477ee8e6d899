#include "core/uuid.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <random>
#include <type_traits>

namespace pigtail {
namespace {

// Eight ASCII characters at a time, in the bytes of a 64-bit word (the
// first character in the lowest byte, on any host).
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;

template <size_t kBytes>
[[gnu::always_inline]] inline uint64_t LoadLittle(const char* p) {
  std::conditional_t<kBytes == 8, uint64_t, uint32_t> w;
  std::memcpy(&w, p, kBytes);
  if constexpr (std::endian::native == std::endian::big) {
    w = kBytes == 8 ? __builtin_bswap64(w) : __builtin_bswap32(w);
  }
  return w;
}

// Bit 7 of each byte of `w` is set where that byte is >= `lo`; every byte
// must be below 0x80.
constexpr uint64_t AtLeast(uint64_t w, uint8_t lo) { return (w + (0x80 - lo) * kOnes) & kHighBits; }

// Eight hex digits of either case -> their four bytes, the first digit pair
// in the lowest byte. Clears *ok if any character is not a hex digit.
[[gnu::always_inline]] inline uint32_t DecodeHex8(uint64_t w, bool* ok) {
  const uint64_t lower = w | 0x2020202020202020ull;
  const uint64_t digit = AtLeast(w, '0') & ~AtLeast(w, '9' + 1);
  const uint64_t letter = AtLeast(lower, 'a') & ~AtLeast(lower, 'f' + 1);
  *ok &= ((w & kHighBits) == 0) & ((digit | letter) == kHighBits);
  // '0'-'9' are 0x3N; 'a'-'f' and 'A'-'F' are 0x6N and 0x4N, N = value - 9.
  const uint64_t nibbles = (w & 0x0F0F0F0F0F0F0F0Full) + ((w >> 6) & kOnes) * 9;
  uint64_t x = ((nibbles << 4) | (nibbles >> 8)) & 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  return static_cast<uint32_t>(x | (x >> 16));
}

[[gnu::cold, gnu::noinline]] Status InvalidUuid(std::string_view text) {
  if (text.size() != 36) {
    return Status::InvalidArgument("invalid UUID (want 36 characters): \"" + std::string(text) +
                                   "\"");
  }
  return Status::InvalidArgument("invalid UUID: \"" + std::string(text) + "\"");
}

}  // namespace

bool Uuid::TryParse(std::string_view text, Uuid* out) {
  if (text.size() != 36) return false;
  // Hot on every event parse: the 32 digits are decoded as four words of
  // eight, without a branch per character.
  const char* p = text.data();
  bool ok = p[8] == '-' && p[13] == '-' && p[18] == '-' && p[23] == '-';
  const uint32_t words[4] = {
      DecodeHex8(LoadLittle<8>(p), &ok),
      DecodeHex8(LoadLittle<4>(p + 9) | LoadLittle<4>(p + 14) << 32, &ok),
      DecodeHex8(LoadLittle<4>(p + 19) | LoadLittle<4>(p + 24) << 32, &ok),
      DecodeHex8(LoadLittle<8>(p + 28), &ok),
  };
  if (!ok) return false;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out->bytes_.data(), words, kSize);
  } else {
    for (size_t i = 0; i < kSize; ++i) {
      out->bytes_[i] = static_cast<uint8_t>(words[i / 4] >> (8 * (i % 4)));
    }
  }
  return true;
}

Result<Uuid> Uuid::Parse(std::string_view text) {
  Uuid id;
  if (!TryParse(text, &id)) return InvalidUuid(text);
  return id;
}

Result<Uuid> Uuid::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) return Status::Corruption("UUID must be 16 bytes");
  std::array<uint8_t, kSize> bytes{};
  for (size_t i = 0; i < kSize; ++i) bytes[i] = static_cast<uint8_t>(raw[i]);
  return Uuid(bytes);
}

namespace {

std::mt19937_64& Engine() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return engine;
}

}  // namespace

Uuid Uuid::TimeOrdered(uint64_t unix_ms) {
  // Per thread: the last time used and a 12-bit counter within it; a
  // counter that runs out moves on to the next millisecond.
  thread_local uint64_t last_ms = 0;
  thread_local uint32_t counter = 0;
  constexpr uint64_t kMaxMs = (uint64_t{1} << 48) - 1;
  unix_ms = std::min(unix_ms, kMaxMs);
  if (unix_ms > last_ms) {
    last_ms = unix_ms;
    counter = 0;
  } else if (++counter > 0xfff && last_ms < kMaxMs) {
    ++last_ms;
    counter = 0;
  }
  counter &= 0xfff;
  const uint64_t b = Engine()();
  std::array<uint8_t, kSize> bytes{};
  for (size_t i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(last_ms >> (8 * (5 - i)));
  bytes[6] = static_cast<uint8_t>(0x70 | (counter >> 8));  // version 7
  bytes[7] = static_cast<uint8_t>(counter);
  for (size_t i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Uuid(bytes);
}

Uuid Uuid::Random() {
  std::mt19937_64& engine = Engine();
  std::array<uint8_t, kSize> bytes{};
  uint64_t a = engine();
  uint64_t b = engine();
  for (size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return Uuid(bytes);
}

std::string Uuid::ToString() const {
  std::string out;
  AppendTo(&out);
  return out;
}

void Uuid::AppendTo(std::string* out) const {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = out->size();
  out->resize(at + 36);
  char* p = out->data() + at;
  for (size_t i = 0; i < kSize; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = kHex[bytes_[i] >> 4];
    *p++ = kHex[bytes_[i] & 0xf];
  }
}

bool Uuid::IsNil() const {
  for (uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace pigtail

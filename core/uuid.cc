#include "core/uuid.h"

#include <random>

#include "core/hex.h"

namespace pigtail {
Result<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) {
    return Status::InvalidArgument("invalid UUID (want 36 characters): \"" + std::string(text) +
                                   "\"");
  }
  // Hot on every event parse: a table lookup per digit and one check for
  // the whole text instead of a branch per character.
  static constexpr std::array<int8_t, 256> kValue = [] {
    std::array<int8_t, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = static_cast<int8_t>(HexDigitValue(static_cast<char>(c)));
    return t;
  }();
  static constexpr uint8_t kDigitAt[kSize * 2] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
                                                  12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
                                                  26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
  std::array<uint8_t, kSize> bytes{};
  const bool hyphens = text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-';
  int all = 0;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = kValue[static_cast<uint8_t>(text[kDigitAt[2 * i]])];
    int lo = kValue[static_cast<uint8_t>(text[kDigitAt[2 * i + 1]])];
    all |= hi | lo;  // negative if any was not a digit
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (!hyphens || all < 0) {
    return Status::InvalidArgument("invalid UUID: \"" + std::string(text) + "\"");
  }
  return Uuid(bytes);
}

Result<Uuid> Uuid::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) return Status::Corruption("UUID must be 16 bytes");
  std::array<uint8_t, kSize> bytes{};
  for (size_t i = 0; i < kSize; ++i) bytes[i] = static_cast<uint8_t>(raw[i]);
  return Uuid(bytes);
}

Uuid Uuid::Random() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
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

// 128-bit identifiers for events, owners (nodes), tasks and workers.
#ifndef PIGTAIL_CORE_UUID_H_
#define PIGTAIL_CORE_UUID_H_

#include <array>
#include <compare>
#include <cstdint>
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
  // Fails unless `bytes` is exactly 16 bytes.
  static Result<Uuid> FromBytes(std::string_view bytes);
  // A random (version 4) UUID. Thread-safe. Not for use inside projection.
  static Uuid Random();

  // Lower-case canonical form.
  std::string ToString() const;
  std::string_view Bytes() const { return {reinterpret_cast<const char*>(bytes_.data()), kSize}; }
  bool IsNil() const;

  auto operator<=>(const Uuid&) const = default;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace pigtail

template <>
struct std::hash<pigtail::Uuid> {
  size_t operator()(const pigtail::Uuid& u) const noexcept {
    return std::hash<std::string_view>{}(u.Bytes());
  }
};

#endif  // PIGTAIL_CORE_UUID_H_

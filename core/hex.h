// Hexadecimal digits.
#ifndef PIGTAIL_CORE_HEX_H_
#define PIGTAIL_CORE_HEX_H_

namespace pigtail {

// The value of a hex digit of either case, or -1 if `c` is not one.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace pigtail

#endif  // PIGTAIL_CORE_HEX_H_

#include "core/uuid.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace pigtail {
namespace {

TEST(UuidTest, ParsesAndFormatsCanonicalForm) {
  Result<Uuid> u = Uuid::Parse("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  EXPECT_EQ(*Uuid::FromBytes(u->Bytes()), *u);
}

TEST(UuidTest, RejectsMalformed) {
  for (const char* bad :
       {"", "f81d4fae7dec11d0a76500a0c91e6bf6", "{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}",
        "f81d4fae-7dec-11d0-a765-00a0c91e6bfg", "f81d4fae-7dec-11d0-a765_00a0c91e6bf6",
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf"}) {
    EXPECT_FALSE(Uuid::Parse(bad).ok()) << bad;
  }
}

// Every byte value at every position: accepted exactly where the canonical
// form allows it (a hex digit of either case, or the hyphen), with the value
// that digit gives.
TEST(UuidTest, EachCharacterIsCheckedAndDecodedOnItsOwn) {
  const std::string base = "0123abcd-ef45-6789-aBcD-EF0123456789";
  const Uuid original = *Uuid::Parse(base);
  for (size_t pos = 0; pos < base.size(); ++pos) {
    const bool hyphen = pos == 8 || pos == 13 || pos == 18 || pos == 23;
    const size_t digit = pos - (pos > 8) - (pos > 13) - (pos > 18) - (pos > 23);
    for (int c = 0; c < 256; ++c) {
      std::string text = base;
      text[pos] = static_cast<char>(c);
      const int value = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      Result<Uuid> u = Uuid::Parse(text);
      Uuid tried;
      EXPECT_EQ(Uuid::TryParse(text, &tried), u.ok()) << text;
      if (u.ok()) {
        EXPECT_EQ(tried, *u) << text;
      }
      if (hyphen) {
        EXPECT_EQ(u.ok(), c == '-') << "position " << pos << ", byte " << c;
        continue;
      }
      ASSERT_EQ(u.ok(), value >= 0) << "position " << pos << ", byte " << c;
      if (value < 0) continue;
      std::string bytes(original.Bytes());
      const int shift = digit % 2 == 0 ? 4 : 0;
      bytes[digit / 2] = static_cast<char>((bytes[digit / 2] & ~(0xF << shift)) | value << shift);
      EXPECT_EQ(u->Bytes(), bytes) << text;
    }
  }
}

TEST(UuidTest, RandomIsVersion4AndDistinct) {
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) {
    Uuid u = Uuid::Random();
    std::string s = u.ToString();
    EXPECT_EQ(s[14], '4');
    EXPECT_TRUE(s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_TRUE(Uuid().IsNil());
}

}  // namespace
}  // namespace pigtail

namespace pigtail {
namespace {

// std::hash<Uuid> (Uuid::Hash) spreads ids that differ in one byte
// anywhere, not only random ones, over the low bits hash tables use.
TEST(UuidTest, TimeOrderedIsVersion7AndSortsInTheOrderMade) {
  const uint64_t ms = 0x0123456789ab;
  Uuid first = Uuid::TimeOrdered(ms);
  std::string text = first.ToString();
  EXPECT_EQ(text.substr(0, 13), "01234567-89ab") << text;
  EXPECT_EQ(text[14], '7') << text;
  EXPECT_TRUE(std::string("89ab").find(text[19]) != std::string::npos) << text;
  // The same millisecond, an earlier one, and more than a counter's worth
  // (4,096) within one: still in the order made.
  Uuid last = first;
  for (int i = 0; i < 10'000; ++i) {
    Uuid next = Uuid::TimeOrdered(i % 100 == 0 ? ms - 5 : ms);
    ASSERT_LT(last, next) << i;
    last = next;
  }
  EXPECT_LT(last, Uuid::TimeOrdered(ms + 1'000));
}

TEST(UuidTest, HashSpreadsIdsThatDifferInAnyByte) {
  for (size_t byte = 0; byte < Uuid::kSize; ++byte) {
    std::set<size_t> hashes;
    std::set<size_t> low_bits;
    for (int v = 0; v < 256; ++v) {
      std::array<uint8_t, Uuid::kSize> bytes{};
      bytes[byte] = static_cast<uint8_t>(v);
      size_t h = std::hash<Uuid>{}(Uuid(bytes));
      EXPECT_EQ(h, Uuid(bytes).Hash());
      hashes.insert(h);
      low_bits.insert(h & 255);
    }
    EXPECT_EQ(hashes.size(), 256u) << "byte " << byte;
    EXPECT_GT(low_bits.size(), 128u) << "byte " << byte;  // ~162 expected for random
  }
}

// Comparisons agree with the byte-wise order of Bytes() (the order stores'
// keys and the registers' tie-breaks rely on), whichever byte differs.
TEST(UuidTest, ComparisonIsByteWiseOrder) {
  std::mt19937_64 rng(3);
  std::vector<Uuid> ids = {Uuid(), Uuid::Random()};
  for (int i = 0; i < 300; ++i) {
    std::array<uint8_t, Uuid::kSize> bytes{};
    // Few distinct byte values, so ids often share long prefixes.
    for (auto& b : bytes) b = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : (rng() % 2) * 0xff);
    ids.push_back(Uuid(bytes));
  }
  for (const Uuid& a : ids) {
    for (const Uuid& b : ids) {
      int want = a.Bytes().compare(b.Bytes());
      EXPECT_EQ(a == b, want == 0);
      EXPECT_EQ(a < b, want < 0);
      EXPECT_EQ(a > b, want > 0);
    }
  }
}

}  // namespace
}  // namespace pigtail

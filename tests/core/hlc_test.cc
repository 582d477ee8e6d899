#include "core/hlc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace pigtail {
namespace {

TEST(HlcTest, ParsesPotboilerNestedForm) {
  Result<Hlc> h = ParseHlc("[0,[1558805131923316000],0]");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->epoch, 0u);
  EXPECT_EQ(h->time, 1558805131923316000ull);
  EXPECT_EQ(h->count, 0u);
}

TEST(HlcTest, ParsesFlatAndObjectForms) {
  Result<Hlc> flat = ParseHlc("[3,1558805131923316001,7]");
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(*flat, (Hlc{3, 1558805131923316001ull, 7}));
  Result<Hlc> obj = ParseHlc(R"({"count":7,"epoch":3,"time":1558805131923316001})");
  ASSERT_TRUE(obj.ok());
  EXPECT_EQ(*obj, *flat);
}

TEST(HlcTest, TimeAboveTwoToThe53IsExact) {
  // 2^53 + 1 is not representable as a double.
  Result<Hlc> h = ParseHlc("[0,[9007199254740993],0]");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->time, 9007199254740993ull);
  Result<Hlc> max = ParseHlc("[4294967295,[18446744073709551615],4294967295]");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->time, 18446744073709551615ull);
  EXPECT_EQ(max->epoch, 4294967295u);
}

TEST(HlcTest, RejectsMalformed) {
  for (const char* bad : {"", "[]", "[0,[1],0,0]", "[0,[1,2],0]", "[-1,[1],0]", "[0,[1.5],0]",
                          "[0,[1e18],0]", "[0,\"1\",0]", "[4294967296,[1],0]", "[0,[1],-3]",
                          "[0,[18446744073709551616],0]", "{\"epoch\":0,\"time\":1}",
                          "{\"epoch\":0,\"time\":1,\"count\":0,\"x\":1}", "null", "[0,[1],0"}) {
    EXPECT_FALSE(ParseHlc(bad).ok()) << bad;
  }
}

TEST(HlcTest, EmitsNestedForm) {
  Hlc h{1, 1558805131923316000ull, 2};
  EXPECT_EQ(h.ToJson(), "[1,[1558805131923316000],2]");
  EXPECT_EQ(*ParseHlc(h.ToJson()), h);
}

TEST(HlcTest, OrderIsLexicographic) {
  EXPECT_LT((Hlc{0, 5, 9}), (Hlc{0, 6, 0}));
  EXPECT_LT((Hlc{0, 6, 0}), (Hlc{0, 6, 1}));
  EXPECT_LT((Hlc{0, 99, 99}), (Hlc{1, 0, 0}));
}

TEST(HlcTest, BinaryRoundTripsAndSortsLikeTimestamps) {
  std::mt19937_64 rng(42);
  std::vector<Hlc> values;
  for (int i = 0; i < 2000; ++i) {
    // Small ranges so that equal fields are common and every byte matters.
    Hlc h{static_cast<uint32_t>(rng() % 3), rng() % 4 == 0 ? rng() : rng() % 300,
          static_cast<uint32_t>(rng() % 3 == 0 ? rng() : rng() % 300)};
    std::string enc = h.Encoded();
    ASSERT_EQ(enc.size(), Hlc::kEncodedSize);
    ASSERT_EQ(*Hlc::Decode(enc), h);
    values.push_back(h);
  }
  for (size_t i = 1; i < values.size(); ++i) {
    const Hlc& a = values[i - 1];
    const Hlc& b = values[i];
    EXPECT_EQ(a < b, a.Encoded() < b.Encoded()) << a.ToJson() << " " << b.ToJson();
    EXPECT_EQ(a == b, a.Encoded() == b.Encoded());
  }
  EXPECT_FALSE(Hlc::Decode("short").ok());
}

}  // namespace
}  // namespace pigtail

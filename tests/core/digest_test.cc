#include "core/digest.h"

#include <gtest/gtest.h>

namespace pigtail {
namespace {

TEST(DigestTest, AddAndSubtractCommuteAndCarry) {
  Digest a{0, ~0ull};
  Digest b{1, 1};
  Digest sum = a;
  sum.Add(b);
  EXPECT_EQ(sum, (Digest{2, 0}));  // the low half carried
  sum.Subtract(b);
  EXPECT_EQ(sum, a);
  Digest x = Digest::Of("x"), y = Digest::Of("y");
  Digest xy, yx;
  xy.Add(x);
  xy.Add(y);
  yx.Add(y);
  yx.Add(x);
  EXPECT_EQ(xy, yx);
  xy.Subtract(x);
  xy.Subtract(y);
  EXPECT_TRUE(xy.IsZero());
}

TEST(DigestTest, HexRoundTrip) {
  Digest d = Digest::Of("register");
  std::string hex = d.ToHex();
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(*Digest::FromHex(hex), d);
  EXPECT_FALSE(Digest::FromHex("xyz").ok());
  EXPECT_FALSE(Digest::FromHex(std::string(32, 'G')).ok());
  EXPECT_NE(Digest::Of("a"), Digest::Of("b"));
}

}  // namespace
}  // namespace pigtail

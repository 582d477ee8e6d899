// The UTF-8 helpers of core/json_fields.h: cutting text to a byte budget
// without splitting a character, and making any bytes valid UTF-8.
#include <gtest/gtest.h>

#include <string>

#include "core/json_fields.h"

namespace pigtail::json_fields {
namespace {

TEST(Utf8Test, PrefixNeverSplitsACharacter) {
  const std::string text =
      "a\xc3\xa9"
      "b\xe2\x82\xac"
      "c\xf0\x9f\x98\x80";  // a é b € c 😀
  EXPECT_EQ(Utf8Prefix(text, 100), text);
  EXPECT_EQ(Utf8Prefix(text, 0), "");
  EXPECT_EQ(Utf8Prefix(text, 1), "a");
  EXPECT_EQ(Utf8Prefix(text, 2), "a");  // inside é
  EXPECT_EQ(Utf8Prefix(text, 3), "a\xc3\xa9");
  EXPECT_EQ(Utf8Prefix(text, 5),
            "a\xc3\xa9"
            "b");  // inside €
  EXPECT_EQ(Utf8Prefix(text, 7),
            "a\xc3\xa9"
            "b\xe2\x82\xac");
  EXPECT_EQ(Utf8Prefix(text, 11),
            "a\xc3\xa9"
            "b\xe2\x82\xac"
            "c");  // inside 😀
}

TEST(Utf8Test, InvalidBytesBecomeTheReplacementCharacter) {
  const std::string kBad = "\xef\xbf\xbd";
  EXPECT_EQ(ValidUtf8("plain \xc3\xa9 \xf0\x9f\x98\x80"), "plain \xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a" + kBad + "b");
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), kBad + kBad);                        // overlong '/'
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), kBad + kBad + kBad);             // a surrogate
  EXPECT_EQ(ValidUtf8("\xf4\x90\x80\x80"), kBad + kBad + kBad + kBad);  // beyond U+10FFFF
  EXPECT_EQ(ValidUtf8("cut \xe2\x82"), "cut " + kBad + kBad);           // cut short
  EXPECT_EQ(ValidUtf8(std::string("nul\0ok", 6)), std::string("nul\0ok", 6));
}

}  // namespace
}  // namespace pigtail::json_fields

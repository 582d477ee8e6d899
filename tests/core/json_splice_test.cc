#include "core/json_splice.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace pigtail {
namespace {

TEST(SpliceTopLevelMemberTest, ReplacesOrAddsOnlyTheTopLevelMember) {
  struct Case {
    std::string in, value, out;
  };
  const Case cases[] = {
      {R"({"id":1,"next":null})", R"("x")", R"({"id":1,"next":"x"})"},
      {R"({"id":1})", "null", R"({"id":1,"next":null})"},
      {"{ }", "null", R"({ "next":null})"},
      {"{\"id\":1 ,\n \"next\" :\t\"a\"\n}\n", "null", "{\"id\":1 ,\n \"next\" :\tnull\n}\n"},
      // Bytes elsewhere stay as they are: numbers, escapes, key order.
      {R"({"data":{"x":1.5,"s":"caf\u00e9","n":1e3,"next":7},"next":null,"a":[{"next":1}]})",
       R"("y")",
       R"({"data":{"x":1.5,"s":"caf\u00e9","n":1e3,"next":7},"next":"y","a":[{"next":1}]})"},
      {R"({"data":"\"next\":1","id":2})", "null", R"({"data":"\"next\":1","id":2,"next":null})"},
      {R"({"data":0e445,"id":2})", "null", R"({"data":0e445,"id":2,"next":null})"},
      // An escaped key is the same key.
      {R"({"n\u0065xt":null,"id":1})", "\"z\"", R"({"n\u0065xt":"z","id":1})"},
      {R"({"next":1,"next":2})", "3", R"({"next":3,"next":3})"},
      {R"({"k\"":"}","next":[1,{"a":"]"}]})", "0", R"({"k\"":"}","next":0})"},
  };
  for (const Case& c : cases) {
    std::string out = SpliceTopLevelMember(c.in, "next", c.value);
    EXPECT_EQ(out, c.out) << c.in;
    boost::system::error_code ec;
    boost::json::parse(out, ec);
    EXPECT_FALSE(ec) << out;
  }
}

TEST(TopLevelMemberValueTest, FindsOnlyTheTopLevelMember) {
  EXPECT_EQ(TopLevelMemberValue(R"({"data":{"id":"inner"},"id":"outer"})", "id"), "\"outer\"");
  EXPECT_EQ(TopLevelMemberValue("{\n\t\"id\" :\r\n [1, 2] ,\"x\":0}", "id"), "[1, 2]");
  EXPECT_EQ(TopLevelMemberValue(R"({"i\u0064":"esc"})", "id"), "\"esc\"");
  EXPECT_EQ(TopLevelMemberValue(R"({"id":1,"id":2})", "id"), "2");  // the last, as Boost.JSON
  EXPECT_EQ(TopLevelMemberValue(R"({"k\"":"\"id\":1","n":1e3})", "n"), "1e3");
  EXPECT_EQ(TopLevelMemberValue(R"({"data":"\"id\":1"})", "id"), std::nullopt);
  EXPECT_EQ(TopLevelMemberValue("{}", "id"), std::nullopt);
}

}  // namespace
}  // namespace pigtail

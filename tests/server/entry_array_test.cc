#include "server/entry_array.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace pigtail {
namespace {

TEST(SplitJsonObjectArrayTest, KeepsElementsVerbatim) {
  Result<std::vector<std::string_view>> parts =
      SplitJsonObjectArray(R"( [ {"a":[1,{"b":"]}"}]} , {} ] )");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], R"({"a":[1,{"b":"]}"}]})");
  EXPECT_EQ((*parts)[1], "{}");
}

// Found by fuzz/entry_array_fuzz.cc: a ']' closed an object ("{...]"), so a
// split element was not an object.
TEST(SplitJsonObjectArrayTest, RejectsMismatchedBrackets) {
  for (const char* bad : {R"([{"a":1]])", R"([{"a":[1}}])", R"([{]])", R"([{"a":1})"}) {
    Result<std::vector<std::string_view>> parts = SplitJsonObjectArray(bad);
    EXPECT_FALSE(parts.ok()) << bad << " split into " << (parts.ok() ? parts->size() : 0);
  }
}

}  // namespace
}  // namespace pigtail

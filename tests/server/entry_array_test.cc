#include "server/entry_array.h"
#include "server/entry_fetch.h"

#include <gtest/gtest.h>

#include "core/json_splice.h"

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

// FetchEntry against the three kinds of peer: one that serves the stored
// bytes, one that ignores ?raw=true and serves the Potboiler form, and one
// that routes on the whole target (404 with the query).
TEST(FetchEntryTest, ReadsTheRawAndThePotboilerForms) {
  const Uuid id = *Uuid::Parse("0a000000-0000-4000-8000-000000000001");
  const Uuid next = *Uuid::Parse("0a000000-0000-4000-8000-000000000002");
  const std::string stored = "{\"id\":\"0a000000-0000-4000-8000-000000000001\",\n\"next\":null}";
  const std::string served = SpliceTopLevelMember(stored, "next", "\"" + next.ToString() + "\"");
  std::vector<std::string> asked;
  enum { kRaw, kIgnoresQuery, kRoutesOnTarget } peer = kRaw;
  auto get = [&](const std::string& target) -> Result<HttpResponse> {
    asked.push_back(target);
    const bool raw = target.ends_with("?raw=true");
    if (peer == kRaw) {
      if (!raw) return HttpResponse{200, {}, served};
      return HttpResponse{200, {{kRawHeader, "true"}, {kNextHeader, next.ToString()}}, stored};
    }
    if (peer == kRoutesOnTarget && raw) return HttpResponse{404, {}, "{}"};
    return HttpResponse{200, {}, served};
  };
  bool serves_raw = false;
  Result<std::optional<FetchedEntry>> got = FetchEntry(get, id, &serves_raw);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((*got)->bytes, stored);
  EXPECT_TRUE((*got)->raw);
  EXPECT_EQ((*got)->next, next);
  EXPECT_TRUE(serves_raw);
  EXPECT_EQ(asked, std::vector<std::string>{"/log/" + id.ToString() + "?raw=true"});

  for (auto kind : {kIgnoresQuery, kRoutesOnTarget}) {
    peer = kind;
    serves_raw = false;
    asked.clear();
    got = FetchEntry(get, id, &serves_raw);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    EXPECT_EQ((*got)->bytes, served);
    EXPECT_FALSE((*got)->raw);
    EXPECT_EQ((*got)->next, next);
    EXPECT_FALSE(serves_raw);
    EXPECT_EQ(asked.size(), kind == kRoutesOnTarget ? 2u : 1u);
  }
  // A peer known to serve raw is not asked twice for an entry it lacks.
  peer = kRoutesOnTarget;
  serves_raw = true;
  asked.clear();
  got = FetchEntry(get, id, &serves_raw);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(asked.size(), 1u);
}

}  // namespace
}  // namespace pigtail

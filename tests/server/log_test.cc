// The log's line rendering and URI masking (server/log.h).
#include "server/log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace pigtail::log {
namespace {

TEST(LogTest, TextQuotesValuesWithSpaces) {
  EXPECT_EQ(RenderText("peer down", {{"peer", "http://a:1"}, {"failures", 6}, {"up", false}}),
            "peer down peer=http://a:1 failures=6 up=false");
  EXPECT_EQ(RenderText("x", {{"error", "no route to host"}, {"empty", ""}}),
            "x error=\"no route to host\" empty=\"\"");
}

TEST(LogTest, JsonMembersParseAsAnObject) {
  std::string members = RenderJsonMembers(
      "load \"progress\"\n", {{"events", uint64_t{12}}, {"s", 1.5}, {"q", "a\\b\x01"}});
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse("{" + members + "}", ec);
  ASSERT_FALSE(ec) << members;
  EXPECT_EQ(v.at("msg").as_string(), "load \"progress\"\n");
  EXPECT_EQ(v.at("events").as_int64(), 12);
  EXPECT_DOUBLE_EQ(v.at("s").as_double(), 1.5);
  EXPECT_EQ(v.at("q").as_string(), "a\\b\x01");
}

TEST(LogTest, MaskedUriHidesPasswords) {
  EXPECT_EQ(MaskedUri("postgresql://u:secret@db:5432/pig"), "postgresql://u:***@db:5432/pig");
  EXPECT_EQ(MaskedUri("postgresql://u@db/pig"), "postgresql://u@db/pig");
  EXPECT_EQ(MaskedUri("postgresql://db/pig?user=u&password=secret&x=1"),
            "postgresql://db/pig?user=u&password=***&x=1");
  EXPECT_EQ(MaskedUri("rocksdb:./data"), "rocksdb:./data");
  EXPECT_EQ(MaskedUri("postgresql:///pig?host=/tmp/a@b"), "postgresql:///pig?host=/tmp/a@b");
}

TEST(LogTest, InitRejectsBadValues) {
  EXPECT_EQ(Init("loud", "text", "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Init("info", "xml", "").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Init("info", "text", "").ok());
}

}  // namespace
}  // namespace pigtail::log

// The log's line rendering and URI masking (server/log.h).
#include "server/log.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>

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

TEST(LogTest, LinesNeverHoldPasswords) {
  const std::string path =
      ::testing::TempDir() + "/log_test_" + std::to_string(::getpid()) + ".log";
  ASSERT_TRUE(Init("info", "json", "", path).ok());
  Error("backend down", {{"error", "cannot connect to postgresql://u:s3cret@db/pig"}});
  Info("conninfo", {{"state", "host=/run dbname=pig password=s3cret"}});
  Flush();
  ASSERT_TRUE(Init("info", "text", "").ok());
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_NE(text.find("postgresql://u:****@db/pig"), std::string::npos) << text;
  EXPECT_NE(text.find("password=****"), std::string::npos) << text;
}

TEST(LogTest, InitRejectsBadValues) {
  EXPECT_EQ(Init("loud", "text", "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Init("info", "xml", "").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Init("info", "text", "").ok());
}

}  // namespace
}  // namespace pigtail::log

// RawRecordFromBytes (core/event_store.h): id and owner read from an
// entry's stored bytes without parsing the rest, as ParseEvent reads them.
#include <gtest/gtest.h>

#include "core/event.h"
#include "core/event_store.h"

namespace pigtail {
namespace {

constexpr char kOwner[] = "6a3e5e0a-5b2e-4e2f-8c1b-2c7f0d8e9a11";
constexpr char kId[] = "0f0e0d0c-0b0a-4908-8706-050403020100";

TEST(RawRecordFromBytesTest, ReadsIdAndOwnerAsParseEventDoes) {
  const std::string entries[] = {
      std::string(R"({"id":")") + kId + R"(","owner":")" + kOwner +
          R"(","when":[0,[1],0],"data":{"id":"x","owner":"y"}})",
      // Escapes in keys and values, upper case, line breaks.
      std::string("{\n\"i\\u0064\" : \"0F0E0D0C-0B0A-4908-8706-050403020100\",\r\n\"owner\":") +
          "\"6a3e5e0a\\u002d5b2e-4e2f-8c1b-2c7f0d8e9a11\",\"when\":[0,1,0],\"data\":null}",
      // A repeated key: the last, as the parser takes it.
      std::string(R"({"id":"00000000-0000-4000-8000-000000000000","id":")") + kId +
          R"(","owner":")" + kOwner + R"(","when":[0,[1],0],"data":1})",
  };
  for (const std::string& bytes : entries) {
    SCOPED_TRACE(bytes);
    Result<Event> parsed = ParseEvent(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    Result<RawRecord> raw = RawRecordFromBytes(7, bytes, parsed->id);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(raw->seq, 7u);
    EXPECT_EQ(raw->id, parsed->id);
    EXPECT_EQ(raw->owner, parsed->owner);
    EXPECT_EQ(raw->bytes, bytes);
    EXPECT_EQ(raw->next, parsed->id);
  }
}

TEST(RawRecordFromBytesTest, BytesWithoutIdOrOwnerAreCorruption) {
  for (const std::string& bytes :
       {std::string(R"({"owner":")") + kOwner + "\"}", std::string(R"({"id":")") + kId + "\"}",
        std::string(R"({"id":7,"owner":")") + kOwner + "\"}",
        std::string(R"({"id":"nope","owner":")") + kOwner + "\"}", std::string("{}")}) {
    Result<RawRecord> raw = RawRecordFromBytes(3, bytes, std::nullopt);
    ASSERT_FALSE(raw.ok()) << bytes;
    EXPECT_EQ(raw.status().code(), StatusCode::kCorruption);
    EXPECT_NE(raw.status().message().find("stored event 3"), std::string::npos);
  }
}

}  // namespace
}  // namespace pigtail

#include "core/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <variant>

namespace pigtail {
namespace {

// An entry as a real Potboiler node serves it.
const char kPotboilerEntry[] =
    R"({"id":"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10","owner":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",)"
    R"("prev":null,"next":null,"when":[0,[1558805131923316000],0],)"
    R"("data":{"Create":{"name":"emails","timeout_ms":30000}}})";

TEST(EventTest, ParsesARealPotboilerEntryAndKeepsItsBytes) {
  Result<Event> e = ParseEvent(kPotboilerEntry);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->id.ToString(), "5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10");
  EXPECT_EQ(e->owner.ToString(), "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
  EXPECT_FALSE(e->prev);
  EXPECT_EQ(e->when, (Hlc{0, 1558805131923316000ull, 0}));
  EXPECT_EQ(e->raw, kPotboilerEntry);
  ASSERT_TRUE(std::holds_alternative<QueueOp>(e->op));
  EXPECT_EQ(std::get<CreateOp>(std::get<QueueOp>(e->op)).name, "emails");
}

TEST(EventTest, RawBytesStayVerbatimWhateverTheLayout) {
  std::string raw =
      "{ \"data\" : {\"x\":\"\\u0000\xc3\xa9\"},\n \"when\":{\"epoch\":0,\"time\":5,\"count\":1},"
      "\"owner\":\"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d\", "
      "\"next\":\"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f11\","
      "\"prev\":\"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f12\",\"id\":\"5b9e5c7a-1f2d-4e3c-8b7a-"
      "6d5c4b3a2f10\"}";
  Result<Event> e = ParseEvent(raw);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->raw, raw);
  EXPECT_TRUE(std::holds_alternative<ForeignData>(e->op));
  ASSERT_TRUE(e->prev);
  EXPECT_EQ(e->prev->ToString(), "5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f12");
}

TEST(EventTest, RejectsMissingOrMistypedFields) {
  const std::string ok_id = R"("id":"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10")";
  const std::string ok_owner = R"("owner":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")";
  const std::string ok_when = R"("when":[0,[1],0])";
  const std::string ok_data = R"("data":1)";
  auto obj = [](std::initializer_list<std::string> parts) {
    std::string s = "{";
    for (const auto& p : parts) s += (s.size() > 1 ? "," : "") + p;
    return s + "}";
  };
  EXPECT_TRUE(ParseEvent(obj({ok_id, ok_owner, ok_when, ok_data})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_owner, ok_when, ok_data})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_id, ok_when, ok_data})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_id, ok_owner, ok_data})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_id, ok_owner, ok_when})).ok());
  EXPECT_FALSE(ParseEvent(obj({R"("id":"x")", ok_owner, ok_when, ok_data})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_id, ok_owner, R"("when":[0,[1.5],0])", ok_data})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_id, ok_owner, ok_when, ok_data, R"("prev":7)"})).ok());
  EXPECT_FALSE(ParseEvent(obj({ok_id, ok_owner, ok_when, ok_data, R"("dependencies":"x")"})).ok());
  EXPECT_FALSE(ParseEvent("[1,2]").ok());
  EXPECT_FALSE(ParseEvent("{\"id\":").ok());
}

TEST(EventTest, MakeEventWritesPotboilerShape) {
  NewEvent fields;
  fields.id = *Uuid::Parse("5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10");
  fields.owner = *Uuid::Parse("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
  fields.prev = *Uuid::Parse("5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f0f");
  fields.when = Hlc{0, 1558805131923316000ull, 3};
  fields.data_json = R"({"Delete":"emails"})";
  fields.dependencies = {*Uuid::Parse("5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f0e")};
  Result<Event> e = MakeEvent(fields);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(
      e->raw,
      R"({"id":"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10","owner":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",)"
      R"("prev":"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f0f","next":null,"when":[0,[1558805131923316000],3],)"
      R"("data":{"Delete":"emails"},"dependencies":["5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f0e"]})");
  EXPECT_EQ(e->dependencies.size(), 1u);
  fields.data_json = "{oops";
  EXPECT_FALSE(MakeEvent(fields).ok());
}

TEST(EventTest, MakeOpEventEqualsMakeEventOfTheSerializedOp) {
  // Boost.JSON's own text, as the API stores an Add's info.
  auto canonical = [](const char* text) {
    return boost::json::serialize(boost::json::parse(text));
  };
  const std::vector<QueueOp> ops = {
      CreateOp{"emails", 30000, 5, 100},
      CreateOp{"q.-_9", 0, std::nullopt, std::nullopt},
      DeleteOp{"emails"},
      AddOp{"emails", "hello", canonical(R"({"foo":"bar"})"), 0, 0, {}, {}},
      AddOp{"emails", "t \"q\" \u00e9\n", canonical(R"([1,{"a":null,"b":"x\ny"},-4,1.5,"\u00e9"])"),
            -3, 250, 4, 9000},
      AddOp{"emails", "", canonical(R"("just a string")"), 0, 0, {}, {}},
      ProgressOp{"emails", Uuid::Random(), Uuid::Random(), 3},
      ProgressOp{"emails", Uuid::Random(), Uuid::Random(), 0},
      DoneOp{"emails", Uuid::Random(), Uuid::Random(), 18446744073709551615ull},
      FailOp{"emails", Uuid::Random(), Uuid::Random(), 2, "boom \"quoted\"\ttab", 400, true},
      FailOp{"emails", Uuid::Random(), Uuid::Random(), 1, "", 0, false},
      CancelOp{"emails", Uuid::Random()},
      CancelOp{"emails", Uuid::Random(), 2},
      ProgressOp{"emails", Uuid::Random(), Uuid::Random(), 1, 3},
      RetryOp{"emails", Uuid::Random(), 7},
      PauseOp{"emails", false},
  };
  for (int i = 0; i < 40; ++i) {
    for (const QueueOp& op : ops) {
      NewEvent fields{Uuid::Random(),
                      Uuid::Random(),
                      i % 3 ? std::optional<Uuid>(Uuid::Random()) : std::nullopt,
                      Hlc{static_cast<uint32_t>(i % 2), 1'700'000'000'000'000'000ull + i, 7},
                      SerializeQueueOp(op),
                      {}};
      Result<Event> parsed = MakeEvent(fields);
      ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
      Event built = MakeOpEvent(fields.id, fields.owner, fields.prev, fields.when, op);
      EXPECT_EQ(built.raw, parsed->raw);
      EXPECT_EQ(built.id, parsed->id);
      EXPECT_EQ(built.owner, parsed->owner);
      EXPECT_EQ(built.prev, parsed->prev);
      EXPECT_EQ(built.when, parsed->when);
      EXPECT_EQ(built.dependencies, parsed->dependencies);
      EXPECT_TRUE(built.op == parsed->op) << fields.data_json;
    }
  }
}

TEST(EventTest, ServesNextWithoutChangingStoredBytes) {
  Event e = *ParseEvent(kPotboilerEntry);
  Uuid next = *Uuid::Parse("5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f11");
  std::string served = EventJsonWithNext(e, next);
  EXPECT_NE(served.find(R"("next":"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f11")"), std::string::npos);
  EXPECT_NE(served.find("[0,[1558805131923316000],0]"), std::string::npos);
  EXPECT_EQ(e.raw, kPotboilerEntry);
  Result<Event> reparsed = ParseEvent(served);
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(reparsed->id, e.id);
  EXPECT_NE(EventJsonWithNext(e, std::nullopt).find(R"("next":null)"), std::string::npos);
}

}  // namespace
}  // namespace pigtail

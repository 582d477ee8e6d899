// ParseEvent reads an event in one pass (core/event_parser.h); it must
// mean the same whatever the layout of the text. These tests feed it many
// generated events (the shapes Pigtail writes, other layouts of the same
// data, unusual `info` values, foreign data, malformed ops and malformed
// JSON) and check that each gives the same Event, or the same error, as
// Boost.JSON's own compact re-serialization of it: whitespace, escapes,
// number spellings and repeated keys (the last value counts, at the place of
// the first) must not change the meaning.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/queue_op.h"

namespace pigtail {
namespace {

void ExpectSameEvent(const Result<Event>& a, const Result<Event>& b, const std::string& raw) {
  ASSERT_EQ(a.ok(), b.ok()) << raw << "\n"
                            << a.status().ToString() << "\n"
                            << b.status().ToString();
  if (!a.ok()) {
    EXPECT_EQ(a.status(), b.status()) << raw;
    return;
  }
  EXPECT_EQ(a->id, b->id) << raw;
  EXPECT_EQ(a->owner, b->owner) << raw;
  EXPECT_EQ(a->prev, b->prev) << raw;
  EXPECT_EQ(a->when, b->when) << raw;
  EXPECT_EQ(a->dependencies, b->dependencies) << raw;
  EXPECT_EQ(a->op, b->op) << raw;
}

// Parses `raw`, and, if it is JSON, its compact form; both must agree and
// keep their bytes.
Result<Event> ExpectLayoutFree(const std::string& raw) {
  Result<Event> e = ParseEvent(raw);
  if (e.ok()) {
    EXPECT_EQ(e->raw, raw);
  }
  boost::system::error_code ec;
  boost::json::value tree = boost::json::parse(raw, ec);
  if (ec) {
    EXPECT_FALSE(e.ok()) << raw;
    if (!e.ok()) {
      EXPECT_NE(e.status().message().find("not valid JSON"), std::string::npos) << raw;
    }
    return e;
  }
  const std::string compact = boost::json::serialize(tree);
  ExpectSameEvent(e, ParseEvent(compact), raw);
  return e;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  // One event's JSON text.
  std::string Event() {
    std::vector<std::pair<std::string, std::string>> members;
    members.emplace_back("id", Id());
    members.emplace_back("owner", Id());
    switch (Pick(4)) {
      case 0:
        members.emplace_back("prev", "null");
        break;
      case 1:
        break;
      default:
        members.emplace_back("prev", Id());
    }
    if (Pick(2) == 0) members.emplace_back("next", Pick(2) ? "null" : Id());
    members.emplace_back("when", When());
    members.emplace_back("data", Data());
    switch (Pick(6)) {
      case 0:
        members.emplace_back("dependencies", "[" + Id() + "," + Id() + "]");
        break;
      case 1:
        members.emplace_back("dependencies", "null");
        break;
      case 2:
        members.emplace_back("dependencies", "[]");
        break;
      default:
        break;
    }
    if (Pick(10) == 0) members.emplace_back("extra", Value(2));
    if (Pick(20) == 0) members.emplace_back(Pick(2) ? "id" : "data", Pick(2) ? Id() : Data());
    if (Pick(30) == 0) members.erase(members.begin() + static_cast<long>(Pick(members.size())));
    if (Pick(3) == 0) std::shuffle(members.begin(), members.end(), rng_);
    const char* sep = Pick(8) == 0 ? " , " : ",";
    std::string out = Pick(8) == 0 ? " { " : "{";
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out += sep;
      out += "\"" + members[i].first + "\":" + members[i].second;
    }
    out += "}";
    if (Pick(40) == 0) out = Corrupt(out);
    return out;
  }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }

  std::string Id() {
    if (Pick(60) == 0) return Pick(2) ? "\"not-a-uuid\"" : "17";
    std::string s = Uuid::Random().ToString();
    if (Pick(10) == 0) {
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return "\"" + s + "\"";
  }

  std::string Number() {
    switch (Pick(12)) {
      case 0:
        return "-3";
      case 1:
        return "18446744073709551615";
      case 2:
        return "4294967296";
      case 3:
        return "1.5";
      case 4:
        return "1e3";
      case 5:
        return "-0";
      case 6:
        return "99999999999999999999999";
      default:
        return std::to_string(rng_() % 100000);
    }
  }

  std::string When() {
    std::string e = Pick(10) ? "0" : Number();
    std::string t = std::to_string(1'700'000'000'000'000'000ull + rng_() % 1'000'000'000);
    std::string c = Pick(10) ? std::to_string(Pick(5)) : Number();
    switch (Pick(8)) {
      case 0:
        return "[" + e + "," + t + "," + c + "]";
      case 1:
        return R"({"epoch":)" + e + R"(,"time":)" + t + R"(,"count":)" + c + "}";
      case 2:
        return R"({"count":)" + c + R"(,"time":)" + t + R"(,"epoch":)" + e + "}";
      case 3:
        return Pick(2) ? "[" + e + ",[" + t + "," + t + "]," + c + "]" : "[" + e + "," + t + "]";
      case 4:
        return Pick(2) ? R"({"epoch":0,"time":1})" : "\"soon\"";
      default:
        return "[" + e + ",[" + t + "]," + c + "]";
    }
  }

  std::string String() {
    static const char* kStrings[] = {"\"hello\"",
                                     "\"\"",
                                     "\"a\\\"b\"",
                                     "\"line\\nbreak\"",
                                     "\"tab\\t\"",
                                     "\"\\u00e9t\\u00e9\"",
                                     "\"\xc3\xa9t\xc3\xa9\"",
                                     "\"back\\\\slash\"",
                                     "\"\\u0001\"",
                                     "\"slash\\/\""};
    return kStrings[Pick(std::size(kStrings))];
  }

  std::string Value(int depth) {
    size_t kinds = depth > 0 ? 8 : 5;
    switch (Pick(kinds)) {
      case 0:
        return "null";
      case 1:
        return Pick(2) ? "true" : "false";
      case 2:
        return Number();
      case 3:
      case 4:
        return String();
      case 5: {
        std::string out = "[";
        size_t n = Pick(4);
        for (size_t i = 0; i < n; ++i) out += (i ? "," : "") + Value(depth - 1);
        return out + "]";
      }
      default: {
        std::string out = "{";
        size_t n = Pick(4);
        for (size_t i = 0; i < n; ++i) {
          std::string key = Pick(6) == 0 ? "k" : "k" + std::to_string(i);
          if (Pick(20) == 0) key = "k\\n";
          out += (i ? "," : "") + ("\"" + key + "\":") + Value(depth - 1);
        }
        return out + "}";
      }
    }
  }

  std::string QueueName() {
    switch (Pick(20)) {
      case 0:
        return "\"bad name\"";
      case 1:
        return "\"\"";
      case 2:
        return "7";
      case 3:
        return "null";
      default:
        return Pick(2) ? "\"emails\"" : "\"q-1.x_y\"";
    }
  }

  // A payload member `name` with a typical value, sometimes an odd one.
  std::string Member(const std::string& name, const std::string& usual) {
    if (Pick(25) == 0) return "";  // left out
    std::string v = usual;
    switch (Pick(25)) {
      case 0:
        v = "null";
        break;
      case 1:
        v = Number();
        break;
      case 2:
        v = String();
        break;
      default:
        break;
    }
    std::string m = "\"" + name + "\":" + v;
    if (Pick(40) == 0) m += ",\"" + name + "\":" + usual;  // a repeat
    return m;
  }

  std::string Payload(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::string> parts;
    for (const auto& [name, usual] : fields) {
      std::string m = Member(name, usual);
      if (!m.empty()) parts.push_back(m);
    }
    if (Pick(8) == 0) parts.push_back("\"unknown\":" + Value(2));
    if (Pick(4) == 0) std::shuffle(parts.begin(), parts.end(), rng_);
    std::string out = "{";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
    return out + "}";
  }

  std::string Info() {
    switch (Pick(6)) {
      case 0:
        return Value(3);
      case 1:
        return R"({"foo":"bar"})";
      case 2:
        return R"({"a":1,"b":[1,2,{"c":null}],"d":{"e":true,"f":-5}})";
      default:
        return Pick(2) ? R"({"foo":"bar"})" : Value(2);
    }
  }

  std::string Data() {
    std::string worker = Id();
    std::string task = Id();
    std::string u = std::to_string(Pick(1000));
    std::string q = QueueName();
    std::string tag;
    std::string payload;
    switch (Pick(10)) {
      case 0:
        tag = "Create";
        payload = Payload({{"name", q},
                           {"timeout_ms", "30000"},
                           {"max_attempts", Pick(2) ? "3" : "null"},
                           {"backoff_ms", "100"}});
        break;
      case 1:
        tag = "Delete";
        payload = Pick(5) ? q : Payload({{"name", q}});
        break;
      case 2:
      case 3:
        tag = "Add";
        payload = Payload({{"queue_name", q},
                           {"task_name", Pick(3) ? "\"hello\"" : String()},
                           {"info", Info()},
                           {"priority", Pick(2) ? "-2" : "5"},
                           {"delay_ms", u},
                           {"max_attempts", "3"},
                           {"timeout_ms", u}});
        break;
      case 4:
        tag = "Progress";
        payload = Payload({{"queue_name", q}, {"id", task}, {"worker_id", worker}, {"lease", u}});
        break;
      case 5:
        tag = "Done";
        payload = Payload({{"queue_name", q}, {"id", task}, {"worker_id", worker}, {"lease", u}});
        break;
      case 6:
        tag = "Fail";
        payload = Payload({{"queue_name", q},
                           {"id", task},
                           {"worker_id", worker},
                           {"lease", u},
                           {"error", String()},
                           {"retry_in_ms", u},
                           {"dead", Pick(2) ? "true" : "false"}});
        break;
      case 7:
        tag = "Cancel";
        payload = Payload({{"queue_name", q}, {"id", task}});
        break;
      case 8:
        if (Pick(2) == 0) return Value(3);  // foreign
        // A Batch (read by the tree) of ops, or of anything.
        tag = "Batch";
        payload = "[";
        for (size_t n = Pick(4); n > 0; --n) {
          payload += Pick(6) ? Data() : Value(2);
          payload += n > 1 ? "," : "";
        }
        payload += "]";
        break;
      default:
        tag = Pick(2) ? "app" : "add";
        payload = Value(2);
    }
    if (Pick(15) == 0) payload = Value(1);  // the wrong kind of payload
    std::string out = "{\"" + tag + "\":" + payload;
    if (Pick(20) == 0) out += Pick(2) ? ",\"" + tag + "\":" + payload : ",\"other\":1";
    return out + "}";
  }

  std::string Corrupt(std::string s) {
    switch (Pick(4)) {
      case 0:
        return s.substr(0, Pick(s.size()));
      case 1:
        return s + "x";
      case 2:
        s[Pick(s.size())] = '\x01';
        return s;
      default:
        return "[" + s + "]";
    }
  }

  std::mt19937_64 rng_;
};

TEST(EventParserTest, ReadsPigtailsOwnEventsBackToTheirOps) {
  std::mt19937_64 rng(5);
  std::vector<QueueOp> ops = {
      CreateOp{"emails", 30000, 5, 100},
      CreateOp{"emails", 30000, std::nullopt, std::nullopt},
      DeleteOp{"emails"},
      AddOp{"emails", "hello", R"({"foo":"bar"})", 0, 0, {}, {}},
      AddOp{"emails", "t", R"([1,{"a":null,"b":"x\ny"},-4,1.5E0])", -3, 250, 4, 9000},
      AddOp{"emails", "t", R"("just a string")", 0, 0, {}, {}},
      ProgressOp{"emails", Uuid::Random(), Uuid::Random(), 3},
      DoneOp{"emails", Uuid::Random(), Uuid::Random(), 0},
      FailOp{"emails", Uuid::Random(), Uuid::Random(), 2, "boom \"quoted\"", 400, true},
      CancelOp{"emails", Uuid::Random()},
      BatchOp{{ProgressOp{"emails", Uuid::Random(), Uuid::Random(), 1},
               DoneOp{"emails", Uuid::Random(), Uuid::Random(), 0}, CancelOp{"q", Uuid::Random()}}},
  };
  for (int i = 0; i < 200; ++i) {
    for (const QueueOp& op : ops) {
      NewEvent fields{Uuid::Random(),
                      Uuid::Random(),
                      i % 3 ? std::optional<Uuid>(Uuid::Random()) : std::nullopt,
                      Hlc{static_cast<uint32_t>(i % 2), 1'700'000'000'000'000'000ull + rng(), 7},
                      SerializeQueueOp(op),
                      i % 5 ? std::vector<Uuid>{} : std::vector<Uuid>{Uuid::Random()}};
      Result<Event> made = MakeEvent(fields);
      ASSERT_TRUE(made.ok()) << made.status().ToString();
      ASSERT_TRUE(std::holds_alternative<QueueOp>(made->op)) << made->raw;
      EXPECT_EQ(std::get<QueueOp>(made->op), op) << made->raw;
      EXPECT_EQ(made->id, fields.id);
      EXPECT_EQ(made->prev, fields.prev);
      EXPECT_EQ(made->when, fields.when);
      EXPECT_EQ(made->dependencies, fields.dependencies);
      (void)ExpectLayoutFree(made->raw);
    }
  }
}

TEST(EventParserTest, MeansTheSameWhateverTheLayoutOnGeneratedEvents) {
  Generator gen(20261129);
  int ops = 0, rejected = 0, foreign = 0, errors = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string raw = gen.Event();
    Result<Event> e = ExpectLayoutFree(raw);
    if (HasFatalFailure()) return;
    if (!e.ok()) {
      ++errors;
    } else if (std::holds_alternative<QueueOp>(e->op)) {
      ++ops;
    } else if (std::holds_alternative<RejectedOp>(e->op)) {
      ++rejected;
    } else {
      ++foreign;
    }
  }
  // The mix covers every outcome, with thousands of valid ops.
  EXPECT_GT(ops, 5000);
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(foreign, 1000);
  EXPECT_GT(errors, 1000);
}

const std::string kId = "\"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10\"";
const std::string kHead = "{\"id\":" + kId + ",\"owner\":" + kId + ",\"when\":[0,[5],0],";

OpParse DataOf(const std::string& data) {
  Result<Event> e = ExpectLayoutFree(kHead + "\"data\":" + data + "}");
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? e->op : OpParse(ForeignData{});
}

std::string InfoOf(const std::string& info) {
  OpParse p = DataOf(R"({"Add":{"queue_name":"q","task_name":"t","info":)" + info + "}}");
  EXPECT_TRUE(std::holds_alternative<QueueOp>(p)) << info;
  if (!std::holds_alternative<QueueOp>(p)) return "";
  return std::get<AddOp>(std::get<QueueOp>(p)).info_json;
}

TEST(EventParserTest, KeepsInfoAsBoostJsonWritesIt) {
  EXPECT_EQ(InfoOf(R"( { "a" : [ 1 , 2 ] } )"), R"({"a":[1,2]})");
  EXPECT_EQ(InfoOf("[1e3,1.5,-0,-0.0]"), "[1E3,1.5E0,0,-0E0]");
  EXPECT_EQ(InfoOf(R"("\u00e9\/\u0001")"), "\"\u00e9/\\u0001\"");
  EXPECT_EQ(InfoOf("null"), "null");
  // A repeated key counts once: its last value, at the place of its first.
  EXPECT_EQ(InfoOf(R"({"a":1,"b":2,"a":{"c":3,"c":4}})"), R"({"a":{"c":4},"b":2})");
  std::string many = "{";
  for (int i = 0; i < 40; ++i)
    many += "\"k" + std::to_string(i % 30) + "\":" + std::to_string(i) + ",";
  many.back() = '}';
  EXPECT_EQ(InfoOf(many), boost::json::serialize(boost::json::parse(many)));
}

TEST(EventParserTest, RepeatedKeysCountOnceWithTheirLastValue) {
  const std::string task = "7f9c1a52-3e8b-4c2d-9a1f-0b6d5e4c3a21";
  const std::string cancel = R"({"Cancel":{"queue_name":"q","id":")" + task + R"("}})";
  // In the event.
  Result<Event> e =
      ExpectLayoutFree(R"({"id":"x","id":)" + kId + R"(,"owner":)" + kId +
                       R"(,"when":"soon","when":[1,2,3],"data":1,"data":)" + cancel + "}");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->when, (Hlc{1, 2, 3}));
  EXPECT_TRUE(std::holds_alternative<QueueOp>(e->op));
  EXPECT_FALSE(ParseEvent(kHead + R"("data":1,"owner":7})").ok());
  // In the data, a payload, and a Batch element.
  EXPECT_TRUE(std::holds_alternative<QueueOp>(
      DataOf(R"({"Cancel":5,"Cancel":)" + cancel.substr(10, cancel.size() - 11) + "}")));
  EXPECT_TRUE(std::holds_alternative<RejectedOp>(DataOf(R"({"Delete":"q","Delete":"bad name"})")));
  EXPECT_EQ(std::get<DeleteOp>(std::get<QueueOp>(DataOf(R"({"Delete":"bad name","Delete":"q"})"))),
            DeleteOp{"q"});
  EXPECT_TRUE(std::holds_alternative<ForeignData>(DataOf(R"({"Delete":"q","x":1,"Delete":"q"})")));
  OpParse lease = DataOf(R"({"Batch":[{"Progress":{"queue_name":"q","id":")" + task +
                         R"(","worker_id":")" + task + R"(","lease":1,"lease":null}}]})");
  ASSERT_TRUE(std::holds_alternative<QueueOp>(lease));
  EXPECT_EQ(std::get<ProgressOp>(std::get<BatchOp>(std::get<QueueOp>(lease)).ops[0]).lease, 0u);
}

TEST(EventParserTest, HandPickedEdgeCases) {
  for (
      const std::string& data : {
          std::string(R"({})"),
          std::string(R"([])"),
          std::string(R"(null)"),
          std::string(R"({"Add":{"queue_name":"q","task_name":"t","info":{}}})"),
          std::string(R"({"Add":{"queue_name":"q","task_name":"t","info":"\u007f"}})"),
          std::string(R"({"Add":{"queue_name":"q","task_name":"t"}})"),
          std::string(
              R"({"Add":{"queue_name":"q","task_name":"t","info":1,"priority":9223372036854775808}})"),
          std::string(R"({"Create":{"name":"q","timeout_ms":null}})"),
          std::string(R"({"Delete":"no way"})"),
          std::string(R"({"Batch":[{"Cancel":[]},5]})"),
          std::string(R"({"Batch":[{"Set":1,"Set":2}]})"),
      }) {
    (void)DataOf(data);
  }
  for (const char* when :
       {"[0,[5,6],0]", "[0,[],0]", "[0,[[5]],0]", "[0,5,0,1]", "[[0],5,0]", "[4294967296,5,0]",
        R"({"epoch":0,"time":5})", R"({"epoch":0,"time":5,"count":1,"x":2})", "null"}) {
    Result<Event> e = ExpectLayoutFree(R"({"id":)" + kId + R"(,"owner":)" + kId + R"(,"when":)" +
                                       when + R"(,"data":1})");
    EXPECT_FALSE(e.ok()) << when;
    EXPECT_NE(e.status().message().find("\"when\""), std::string::npos) << e.status().ToString();
  }
  for (const std::string& raw :
       {std::string("{}"), std::string("[]"), std::string("17"), std::string(""),
        kHead + R"("data":{}} )", kHead + R"("data":{}} {})", kHead + R"("data":{})"}) {
    (void)ExpectLayoutFree(raw);
  }
  EXPECT_EQ(ParseEvent("[]").status().message(), "event must be a JSON object");
  EXPECT_EQ(ParseEvent(kHead + "\"data\":{}} x").status().message(),
            "event is not valid JSON: extra data");
  EXPECT_EQ(ParseEvent(R"({"id":)" + kId + R"(,"when":[0,[5],0],"data":1})").status().message(),
            "event has no \"owner\"");
}

}  // namespace
}  // namespace pigtail

// ParseEvent reads common events with a SAX fast path and falls back to the
// Boost.JSON tree for anything else; both must give the same Event (or the
// same error) for every input. These tests feed both many generated events:
// the shapes Pigtail writes, other layouts of the same data, unusual `info`
// values, foreign data, malformed ops and malformed JSON.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/queue_op.h"

namespace pigtail {
namespace {

void ExpectSame(const std::string& raw) {
  Result<Event> fast = ParseEvent(raw);
  Result<Event> tree = ParseEventWithTree(raw);
  ASSERT_EQ(fast.ok(), tree.ok()) << raw;
  if (!fast.ok()) {
    EXPECT_EQ(fast.status(), tree.status()) << raw;
    return;
  }
  EXPECT_EQ(fast->id, tree->id) << raw;
  EXPECT_EQ(fast->owner, tree->owner) << raw;
  EXPECT_EQ(fast->prev, tree->prev) << raw;
  EXPECT_EQ(fast->when, tree->when) << raw;
  EXPECT_EQ(fast->dependencies, tree->dependencies) << raw;
  EXPECT_EQ(fast->op, tree->op) << raw;
  EXPECT_EQ(fast->raw, raw);
  EXPECT_EQ(tree->raw, raw);
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

TEST(EventFastPathTest, AgreesWithTheTreeOnPigtailsOwnEvents) {
  std::mt19937_64 rng(5);
  std::vector<QueueOp> ops = {
      CreateOp{"emails", 30000, 5, 100},
      CreateOp{"emails", 30000, std::nullopt, std::nullopt},
      DeleteOp{"emails"},
      AddOp{"emails", "hello", R"({"foo":"bar"})", 0, 0, {}, {}},
      AddOp{"emails", "t", R"([1,{"a":null,"b":"x\ny"},-4,1.5])", -3, 250, 4, 9000},
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
      ASSERT_TRUE(std::holds_alternative<QueueOp>(made->op));
      ExpectSame(made->raw);
    }
  }
}

TEST(EventFastPathTest, AgreesWithTheTreeOnGeneratedEvents) {
  Generator gen(20261129);
  int ops = 0, rejected = 0, foreign = 0, errors = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string raw = gen.Event();
    ExpectSame(raw);
    if (HasFatalFailure()) return;
    Result<Event> e = ParseEventWithTree(raw);
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

TEST(EventFastPathTest, AgreesOnHandPickedEdgeCases) {
  const std::string id = "\"5b9e5c7a-1f2d-4e3c-8b7a-6d5c4b3a2f10\"";
  const std::string head = "{\"id\":" + id + ",\"owner\":" + id + ",\"when\":[0,[5],0],";
  for (
      const std::string& data : {
          std::string(R"("data":{})"),
          std::string(R"("data":[])"),
          std::string(R"("data":null)"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":{}}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":[]}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":{"a":{}}}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":{"a":1,"a":2}}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":1.0}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":"\u007f"}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t","info":null}}})"),
          std::string(R"("data":{"Add":{"queue_name":"q","task_name":"t"}}})"),
          std::string(
              R"("data":{"Add":{"queue_name":"q","task_name":"t","info":1,"priority":9223372036854775808}}})"),
          std::string(R"("data":{"Create":{"name":"q","timeout_ms":null}}})"),
          std::string(R"("data":{"Delete":"q"}})"),
          std::string(R"("data":{"Delete":"no way"}})"),
          std::string(R"("data":{"Fail":{"queue_name":"q","id":)" + id + R"(,"worker_id":)" + id +
                      R"(,"dead":null,"error":null}}})"),
      }) {
    ExpectSame(head + data);
  }
  ExpectSame("{}");
  ExpectSame("[]");
  ExpectSame("17");
  ExpectSame("");
  ExpectSame(head + R"("data":{}} )");
  ExpectSame(head + R"("data":{}} {})");
}

}  // namespace
}  // namespace pigtail

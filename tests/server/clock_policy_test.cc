// The policy for hostile clocks (docs/registers.md, "Hostile clocks"), through
// the HTTP handlers of a node on memory stores with a fake physical clock:
// peer entries stamped beyond the clock's bounds are deferred on every
// ingest path, the clock never follows them, a log that already holds such
// entries still loads, and a local write that one of them would make void
// is answered truthfully. Also lease expiry at timeout_ms = UINT64_MAX.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>

#include "core/clock.h"
#include "core/event.h"
#include "core/memory_store.h"
#include "server/api.h"
#include "tests/server/api_fixture.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

constexpr char kWorker[] = "6a0c9d2e-1f7a-4e55-9a1e-3a1b2c3d4e5f";
constexpr char kPeer[] = "11111111-2222-4333-8444-555555555555";
constexpr char kPeerWorker[] = "7b1d0e3f-2a8b-4f66-8b2f-4b2c3d4e5f60";
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kCentury = 100ull * 365 * 24 * 3600 * kSecond;

// A peer entry; `when` is JSON text, `prev` an id or empty.
std::string Entry(const std::string& id, const std::string& when, const std::string& data,
                  const std::string& prev = "") {
  return R"({"id":")" + id + R"(","owner":")" + kPeer + R"(","prev":)" +
         (prev.empty() ? std::string("null") : "\"" + prev + "\"") + R"(,"next":null,"when":)" +
         when + R"(,"data":)" + data + "}";
}
std::string At(uint64_t ns, uint32_t epoch = 0, uint32_t count = 0) {
  return Hlc{epoch, ns, count}.ToJson();
}
std::string Id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08d-2222-4333-8444-555555555555", n);
  return buf;
}

class ClockPolicyTest : public testing::ApiFixture {
 protected:
  void SetUp() override { Open(); }
  void Open(std::unique_ptr<EventStore> log = nullptr) {
    ApiFixture::Open(ApiOptions(), Ticking(), std::move(log));
  }

  HttpResponse Claim(const std::string& queue) {
    return Call("POST", "/queue/" + queue + "/claim",
                std::string(R"({"max":1,"worker_id":")") + kWorker + "\"}");
  }
  bool Stored(const std::string& id) { return Call("GET", "/log/" + id).status == 200; }
};

// Issue 12: a peer Delete stamped 100 years ahead was stored, and the queue
// could not be created again for 100 years (POST /create answered 201).
TEST_F(ClockPolicyTest, ADeleteStampedFarAheadIsDeferredAndTheQueueStays) {
  CreateQueue("q");
  const uint64_t events = Events();
  HttpResponse r =
      Call("POST", "/log/other", Entry(Id(1), At(now_ns_ + kCentury), R"({"Delete":"q"})"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Body(r).at("reason").as_string(), kAheadReason) << r.body;
  EXPECT_NE(r.body.find("deferred"), std::string::npos) << r.body;
  EXPECT_FALSE(Stored(Id(1)));
  EXPECT_EQ(Events(), events);
  EXPECT_EQ(node()->counters().future_events.load(), 1u);
  EXPECT_LT(node()->clock().Last().time, now_ns_ + kSecond);
  EXPECT_EQ(Call("GET", "/queue/q").status, 200);
  // The same through /event.
  r = Call("POST", "/event", Entry(Id(2), At(now_ns_ + kCentury), R"({"Delete":"q"})"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_FALSE(Stored(Id(2)));
  EXPECT_EQ(Call("GET", "/queue/q").status, 200);
}

// Within the offset the clock follows the entry, so a local Create after a
// peer's Delete stamped 50 s ahead is stamped after it: the queue comes back.
TEST_F(ClockPolicyTest, ADeleteWithinTheOffsetIsStoredAndACreateAfterItWins) {
  CreateQueue("q");
  HttpResponse r =
      Call("POST", "/log/other", Entry(Id(1), At(now_ns_ + 50 * kSecond), R"({"Delete":"q"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Call("GET", "/queue/q").status, 404);
  CreateQueue("q");
  EXPECT_EQ(Call("GET", "/queue/q").status, 200);
}

// Issue 12: a peer Progress stamped 100 years ahead left the task leased for
// 100 years.
TEST_F(ClockPolicyTest, AProgressStampedFarAheadDoesNotHoldTheTask) {
  CreateQueue("q");
  std::string task = AddTask("q");
  std::string progress = std::string(R"({"Progress":{"queue_name":"q","id":")") + task +
                         R"(","worker_id":")" + kPeerWorker + "\"}}";
  HttpResponse r = Call("POST", "/log/other", Entry(Id(1), At(now_ns_ + kCentury), progress));
  EXPECT_EQ(r.status, 400) << r.body;
  HttpResponse claim = Claim("q");
  ASSERT_EQ(claim.status, 200) << claim.body;
  ASSERT_EQ(Body(claim).at("tasks").as_array().size(), 1u) << claim.body;
  EXPECT_EQ(Body(claim).at("tasks").at(0).at("id").as_string(), task);
}

// Issue 12: [4294967295,[now+15s],4294967295] moved the node's clock to epoch
// 4294967295 for good.
TEST_F(ClockPolicyTest, EpochAndCountAreBoundedToo) {
  HttpResponse r = Call("POST", "/log/other",
                        Entry(Id(1), At(now_ns_ + 15 * kSecond, 4294967295u, 4294967295u), "{}"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Body(r).at("reason").as_string(), kEpochReason) << r.body;
  r = Call("POST", "/log/other", Entry(Id(2), At(now_ns_, 0, kMaxHlcCount + 1), "{}"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Body(r).at("reason").as_string(), kCountReason) << r.body;
  EXPECT_FALSE(Stored(Id(1)));
  EXPECT_FALSE(Stored(Id(2)));
  HttpResponse mine = Call("POST", "/log", "{}");
  ASSERT_EQ(mine.status, 201);
  boost::json::value e = Body(Call("GET", "/log/" + std::string(Body(mine).at("id").as_string())));
  EXPECT_EQ(e.at("when").at(0).to_number<uint64_t>(), 0u) << e;
  EXPECT_EQ(node()->clock().Last().epoch, 0u);
}

// A batch stores what is within the bounds and lists the rest; a deferred
// entry is stored when it comes again once the clock has reached it.
TEST_F(ClockPolicyTest, ABatchDefersOnlyTheEntriesBeyondTheBounds) {
  const uint64_t t = now_ns_;
  std::string batch = "[" + Entry(Id(1), At(t), "{}") + "," +
                      Entry(Id(2), At(t + 120 * kSecond), "{}", Id(1)) + "," +
                      Entry(Id(3), At(t + kSecond), "{}", Id(2)) + "]";
  HttpResponse r = Call("POST", "/log/batch", batch);
  ASSERT_EQ(r.status, 200) << r.body;
  boost::json::value out = Body(r);
  EXPECT_EQ(out.at("stored").as_int64(), 2) << r.body;
  EXPECT_EQ(out.at("duplicates").as_int64(), 0) << r.body;
  EXPECT_EQ(out.at("deferred").as_int64(), 1) << r.body;
  EXPECT_EQ(out.at("deferred_entries").at(0).at("id").as_string(), Id(2)) << r.body;
  EXPECT_EQ(out.at("deferred_entries").at(0).at("reason").as_string(), kAheadReason) << r.body;
  EXPECT_TRUE(Stored(Id(1)));
  EXPECT_FALSE(Stored(Id(2)));
  EXPECT_TRUE(Stored(Id(3)));  // the rest of the chain is not held up
  now_ns_ += 61 * kSecond;     // real time catches up
  r = Call("POST", "/log/batch", batch);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r).at("stored").as_int64(), 1) << r.body;
  EXPECT_EQ(Body(r).at("duplicates").as_int64(), 2) << r.body;
  EXPECT_EQ(Body(r).at("deferred").as_int64(), 0) << r.body;
  EXPECT_TRUE(Stored(Id(2)));
}

// Issue 12: with timeout_ms = UINT64_MAX a claim answered an expires_at_ms
// already in the past (time + timeout * 10^6 wrapped around).
TEST_F(ClockPolicyTest, ALeaseOfUint64MaxMillisecondsDoesNotRunOutAtOnce) {
  ASSERT_EQ(Call("POST", "/create", R"({"name":"q","timeout_ms":18446744073709551615})").status,
            201);
  AddTask("q");
  HttpResponse claim = Claim("q");
  ASSERT_EQ(claim.status, 200) << claim.body;
  const boost::json::value body = Body(claim);
  ASSERT_EQ(body.at("tasks").as_array().size(), 1u) << claim.body;
  EXPECT_EQ(body.at("tasks").at(0).at("expires_at_ms").to_number<uint64_t>(),
            UINT64_MAX / 1'000'000)
      << claim.body;
  EXPECT_EQ(Body(Call("GET", "/queue/q/stats")).at("working").as_int64(), 1);
  EXPECT_EQ(Body(Claim("q")).at("tasks").as_array().size(), 0u);
}

// A log written before the bounds were enforced may hold entries stamped far
// ahead: it loads and projects as it is (replay is pure), the clock does not
// follow them, and a local write they make void is refused, not answered
// with a success that did nothing.
TEST_F(ClockPolicyTest, ALogHoldingFarAheadEntriesLoadsAndWritesAreAnsweredTruthfully) {
  Close();
  std::unique_ptr<EventStore> log = NewMemoryEventStore();
  const uint64_t t = now_ns_;
  std::vector<Event> old;
  for (const std::string& text :
       {Entry(Id(1), At(t - kSecond), R"({"Create":{"name":"gone","timeout_ms":1000}})"),
        Entry(Id(2), At(t + kCentury), R"({"Delete":"gone"})", Id(1)),
        Entry(Id(3), At(t + kCentury, 0, 1), R"({"Delete":"back"})", Id(2)),
        Entry(Id(4), At(t + kCentury, 0, 2), R"({"Create":{"name":"back","timeout_ms":1000}})",
              Id(3))}) {
    Result<Event> e = ParseEvent(text);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    old.push_back(std::move(e).value());
  }
  ASSERT_TRUE(log->Append(old, true).ok());
  Open(std::move(log));
  EXPECT_LT(node()->clock().Last().time, t + kSecond);
  EXPECT_EQ(Call("GET", "/queue/gone").status, 404);
  EXPECT_EQ(Call("GET", "/queue/back").status, 200);
  const uint64_t events = Events();

  HttpResponse r = Call("POST", "/create", R"({"name":"gone","timeout_ms":1000})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("no effect"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"reason\":\"superseded\""), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/queue/gone").status, 404);
  r = Call("POST", "/queue/back", R"({"task_name":"t","info":null})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("no effect"), std::string::npos) << r.body;
  r = Call("DELETE", "/queue/back");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("\"reason\":\"superseded\""), std::string::npos) << r.body;
  EXPECT_EQ(Events(), events);  // nothing void was written
}

}  // namespace
}  // namespace pigtail

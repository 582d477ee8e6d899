// Deferral across replication (docs/registers.md, "Hostile clocks"), with
// two real pigtaild processes: a peer entry stamped beyond the puller's
// clock bound does not hold up the rest of its owner's chain, and
// anti-entropy fetches it again and stores it once real time reaches it,
// after which the two nodes' digests agree.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "core/hlc.h"
#include "core/memory_store.h"
#include "server/replicator.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::JsonBody;
using testing::PigtaildProcess;

constexpr char kOwner[] = "11111111-2222-4333-8444-555555555555";
constexpr char kFirst[] = "aaaaaaaa-2222-4333-8444-555555555555";
constexpr char kAhead[] = "bbbbbbbb-2222-4333-8444-555555555555";
constexpr char kAfter[] = "cccccccc-2222-4333-8444-555555555555";

std::string Entry(const char* id, const Hlc& when, const char* prev, const std::string& data) {
  return std::string(R"({"id":")") + id + R"(","owner":")" + kOwner + R"(","prev":)" +
         (prev == nullptr ? std::string("null") : "\"" + std::string(prev) + "\"") +
         R"(,"next":null,"when":)" + when.ToJson() + R"(,"data":)" + data + "}";
}

TEST(ClockReplicationTest, ADeferredEntryIsPulledAgainOnceTimeReachesIt) {
  const std::string dir = testing::FreshTempDir("pigtaild_clock_replication");
  PigtaildProcess a(PIGTAILD_PATH);
  PigtaildProcess b(PIGTAILD_PATH);
  ASSERT_TRUE(a.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir + "/a"}).ok());
  // b accepts entries at most 1 s ahead of its clock.
  ASSERT_TRUE(b.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir + "/b",
                       "--max-clock-offset-ms", "1000", "--anti-entropy-ms", "200"})
                  .ok());

  const uint64_t now =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  // A third node's chain, as a clock running 6 s fast wrote its middle entry.
  const std::string chain =
      "[" + Entry(kFirst, Hlc{0, now, 0}, nullptr, R"({"Create":{"name":"q","timeout_ms":1000}})") +
      "," + Entry(kAhead, Hlc{0, now + 6'000'000'000ull, 0}, kFirst, R"({"Delete":"q"})") + "," +
      Entry(kAfter, Hlc{0, now + 1'000'000ull, 0}, kAhead,
            R"({"Add":{"queue_name":"q","task_name":"t","info":null}})") +
      "]";
  HttpResponse stored = a.Call("POST", "/log/batch", chain);
  ASSERT_EQ(stored.status, 200) << stored.body;
  ASSERT_EQ(JsonBody(stored).at("stored").as_int64(), 3) << stored.body;  // within a's bound

  ASSERT_EQ(b.Call("POST", "/nodes", "{\"url\":\"" + a.url() + "\"}").status, 201);
  // The rest of the chain arrives at once; the entry 6 s ahead does not.
  EXPECT_TRUE(
      Eventually([&] { return b.Call("GET", std::string("/log/") + kAfter).status == 200; }, 3s));
  EXPECT_EQ(b.Call("GET", std::string("/log/") + kFirst).status, 200);
  EXPECT_EQ(b.Call("GET", std::string("/log/") + kAhead).status, 404);
  EXPECT_EQ(b.Call("GET", "/queue/q").status, 200);  // the Delete is not applied yet
  EXPECT_NE(b.Call("GET", "/metrics").body.find("pigtail_future_events_total"), std::string::npos);

  // Once b's clock is within 1 s of it, anti-entropy stores it.
  EXPECT_TRUE(
      Eventually([&] { return b.Call("GET", std::string("/log/") + kAhead).status == 200; }, 20s));
  EXPECT_EQ(b.Call("GET", "/queue/q").status, 404);
  EXPECT_TRUE(Eventually(
      [&] { return a.Call("GET", "/digest").body == b.Call("GET", "/digest").body; }, 5s));
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

// The Potboiler walk and hole filling, from an in-process puller whose clock
// the test sets: walking the chain defers the entry stamped ahead and stores
// the rest; the deferred entry is a hole, and the hole search of a later
// round stores it once the clock has reached it.
TEST(ClockReplicationTest, TheWalkAndHoleFillingFetchADeferredEntryAgain) {
  const std::string dir = testing::FreshTempDir("pigtaild_clock_walk");
  PigtaildProcess a(PIGTAILD_PATH);
  ASSERT_TRUE(a.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir + "/a"}).ok());
  const uint64_t now =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  const std::string chain = "[" + Entry(kFirst, Hlc{0, now, 0}, nullptr, "{}") + "," +
                            Entry(kAhead, Hlc{0, now + 30'000'000'000ull, 0}, kFirst, "{}") + "," +
                            Entry(kAfter, Hlc{0, now + 1'000'000ull, 0}, kAhead, "{}") + "]";
  ASSERT_EQ(a.Call("POST", "/log/batch", chain).status, 200);

  std::atomic<uint64_t> physical{now};
  NodeOptions node_options;
  node_options.max_clock_offset_ms = 1000;
  node_options.physical = [&] { return physical.load(); };
  Result<std::unique_ptr<Node>> node =
      Node::Open(NewMemoryEventStore(), NewMemoryStateStore(), node_options);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  Sequencer sequencer(node->get(), SequencerOptions());
  sequencer.Start();
  PeerClient client(node->get(), &sequencer, a.url(), ReplicatorOptions());
  auto stored = [&](const char* id) {
    Result<bool> have = (*node)->log()->Contains(*Uuid::Parse(id));
    return have.ok() && *have;
  };

  uint64_t holes = 0;
  Result<uint64_t> pulled = client.PullMissing(/*force_walk=*/true, &holes);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*pulled, 2u);
  EXPECT_TRUE(stored(kFirst));
  EXPECT_FALSE(stored(kAhead));
  EXPECT_TRUE(stored(kAfter));
  EXPECT_GE(client.TakeDeferred(), 2u);  // by the walk, then by the hole search
  EXPECT_EQ(client.TakeDeferred(), 0u);

  physical = now + 29'500'000'000ull;  // within 1 s of the entry
  pulled = client.PullMissing(/*force_walk=*/true, &holes);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*pulled, 1u);
  EXPECT_EQ(holes, 1u);
  EXPECT_TRUE(stored(kAhead));
  EXPECT_EQ(client.TakeDeferred(), 0u);
  sequencer.Stop();
  EXPECT_EQ(a.Stop(), 0);
}

}  // namespace
}  // namespace pigtail

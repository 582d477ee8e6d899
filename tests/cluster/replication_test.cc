// In-process replication tests: the entry-array wire form, GET /log/range
// and POST /log/batch, pulls by range pages and by the Potboiler walk, hole
// filling, pushes with durable cursors, the fallback to a Potboiler-only
// peer, and membership gossip between three replicating nodes. Real HTTP
// over 127.0.0.1, memory stores.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "server/config.h"
#include "server/entry_array.h"
#include "tests/cluster/test_node.h"

namespace pigtail::testing {
namespace {

using namespace std::chrono_literals;

// Creates queue "q" and adds `n` tasks through the node's API, one request
// each, so the node's log holds n + 1 entries.
void Fill(TestNode& node, int n, const std::string& prefix = "t") {
  ASSERT_EQ(node.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  for (int i = 0; i < n; ++i) {
    boost::json::object task{{"task_name", prefix + std::to_string(i)}, {"info", i}};
    HttpResponse r = node.Call("POST", "/queue/q", boost::json::serialize(task));
    ASSERT_EQ(r.status, 201) << r.body;
  }
}

std::vector<StoredEvent> OwnEntries(TestNode& node) {
  auto events = node.node()->log()->ScanOwner(node.node()->id(), std::nullopt, 1'000'000);
  EXPECT_TRUE(events.ok());
  return events.ok() ? *events : std::vector<StoredEvent>();
}

TEST(EntryArrayTest, SplitsVerbatim) {
  std::string a = R"({"id":"x","data":{"s":"a } ] \" {"},"n":[1,{"k":2}]})";
  std::string b = "{ \"id\" : \"y\" }";
  const std::string text = " [" + a + " ,\n" + b + "] ";
  auto parts = SplitJsonObjectArray(text);  // views into `text`
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], a);
  EXPECT_EQ((*parts)[1], b);
  EXPECT_TRUE(SplitJsonObjectArray("[]")->empty());
  EXPECT_FALSE(SplitJsonObjectArray("[1]").ok());
  EXPECT_FALSE(SplitJsonObjectArray("[{\"a\":\"}]").ok());
  EXPECT_FALSE(SplitJsonObjectArray("[{}] x").ok());
  EXPECT_FALSE(SplitJsonObjectArray("{}").ok());
  EXPECT_FALSE(SplitJsonObjectArray("[{},]").ok());
  EXPECT_FALSE(ParseEntryArray("[{\"id\":1}]").ok());
  Hlc h{1, 1558805131923316000ull, 7};
  EXPECT_EQ(*ParseHlcQueryText(HlcQueryText(h)), h);
  EXPECT_FALSE(ParseHlcQueryText("1.2").ok());
  EXPECT_FALSE(ParseHlcQueryText("1.2.3.4").ok());
}

TEST(EntryArrayTest, EntriesWithinABudget) {
  std::vector<RawRecord> events(4);
  for (size_t i = 0; i < events.size(); ++i) events[i].bytes = std::string(10 * (i + 1), 'x');
  // "[" 10 "," 20 "]" is 33 bytes.
  EXPECT_EQ(EntriesWithin(events, 0, 33), 2u);
  EXPECT_EQ(EntriesWithin(events, 0, 32), 1u);
  EXPECT_EQ(EntriesWithin(events, 0, 1), 1u);  // one entry always goes
  EXPECT_EQ(EntriesWithin(events, 2, 1'000), 2u);
  EXPECT_EQ(EntriesWithin(events, 4, 1'000), 0u);
  std::span<const RawRecord> part(events.data() + 1, 2);
  EXPECT_EQ(EncodeEntryArray(part), "[" + events[1].bytes + "," + events[2].bytes + "]");
}

// Entries of ~100 kB (a Batch of 1,000 claims is ~115 kB): range pages and
// pushes stay within their byte budgets and still carry everything.
TEST(PeerClientTest, LargeEntriesTravelInPagesThatFit) {
  ApiOptions small_pages;
  small_pages.max_range_bytes = 256 << 10;
  TestNode a(nullptr, false, small_pages);
  const std::string blob(100'000, 'x');
  for (int i = 0; i < 30; ++i) {
    HttpResponse r =
        a.Call("POST", "/log", "{\"n\":" + std::to_string(i) + ",\"blob\":\"" + blob + "\"}");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  const std::string owner = a.node()->id().ToString();
  HttpResponse page = a.Call("GET", "/log/range?owner=" + owner + "&limit=1000");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(ParseEntryArray(page.body)->size(), 2u);
  EXPECT_EQ(page.Header(kTruncatedHeader), "true");

  ReplicatorOptions options;
  TestNode puller;
  PeerClient pull(puller.node(), puller.sequencer(), a.url(), options);
  auto pulled = pull.PullMissing();
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*pulled, 30u);  // every page, in one round

  // A peer that takes bodies of at most 512 kB: pushes go in parts.
  TestNode pushed_to(nullptr, false, ApiOptions(), 512 << 10);
  options.max_push_bytes = 256 << 10;
  PeerClient push(a.node(), a.sequencer(), pushed_to.url(), options);
  uint64_t cursor = 0;
  auto sent = push.Push(&cursor, 10);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(*sent, 30u);
  EXPECT_EQ(cursor, *a.node()->log()->LastSequence());
  EXPECT_EQ(*pushed_to.node()->log()->Count(), 30u);
  EXPECT_EQ(a.Digest(), pushed_to.Digest());
  EXPECT_EQ(a.Digest(), puller.Digest());
}

TEST(ReplicationEndpointsTest, RangeAndBatch) {
  TestNode a;
  TestNode b;
  Fill(a, 25);
  std::vector<StoredEvent> own = OwnEntries(a);
  ASSERT_EQ(own.size(), 26u);
  const std::string owner = a.node()->id().ToString();

  HttpResponse page = a.Call("GET", "/log/range?owner=" + owner + "&limit=10");
  ASSERT_EQ(page.status, 200) << page.body;
  auto first = ParseEntryArray(page.body);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 10u);
  EXPECT_EQ((*first)[0].raw, own[0].event.raw);  // verbatim
  HttpResponse rest = a.Call(
      "GET", "/log/range?owner=" + owner + "&after=" + first->back().id.ToString() + "&limit=100");
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(ParseEntryArray(rest.body)->size(), 16u);
  HttpResponse by_when = a.Call(
      "GET", "/log/range?owner=" + owner + "&after_when=" + HlcQueryText(own[19].event.when));
  EXPECT_EQ(ParseEntryArray(by_when.body)->size(), 6u);
  EXPECT_EQ(a.Call("GET", "/log/range?limit=5").status, 400);
  EXPECT_EQ(a.Call("GET", "/log/range?owner=" + owner + "&limit=0").status, 400);
  EXPECT_EQ(a.Call("GET", "/log/range?owner=" + owner + "&bogus=1").status, 400);
  EXPECT_EQ(
      a.Call("GET", "/log/range?owner=" + owner + "&after=" + Uuid::Random().ToString()).status,
      404);

  // The whole chain into b in one batch; again is all duplicates; b's own
  // entries sent back to it are skipped.
  HttpResponse all = a.Call("GET", "/log/range?owner=" + owner + "&limit=1000");
  HttpResponse pushed = b.Call("POST", "/log/batch", all.body);
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  EXPECT_EQ(Json(pushed).at("stored").as_int64(), 26);
  EXPECT_EQ(Json(b.Call("POST", "/log/batch", all.body)).at("duplicates").as_int64(), 26);
  EXPECT_EQ(a.Digest(), b.Digest());
  HttpResponse back = a.Call("POST", "/log/batch", all.body);
  EXPECT_EQ(Json(back).at("own").as_int64(), 26);
  EXPECT_EQ(b.Call("POST", "/log/batch", "[{\"id\":\"x\"}]").status, 400);
  EXPECT_EQ(b.Call("POST", "/log/batch", "nope").status, 400);
  // Stored bytes are the owner's.
  auto stored = b.node()->log()->Get(own[3].event.id);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ((*stored)->event.raw, own[3].event.raw);
}

TEST(PeerClientTest, PullByRangeAndByWalkConverge) {
  ReplicatorOptions options;
  options.batch = 100;
  options.submit_chunk = 64;
  TestNode a;
  Fill(a, 1234);
  TestNode by_range;
  TestNode by_walk;
  PeerClient range_client(by_range.node(), by_range.sequencer(), a.url(), options);
  auto got = range_client.PullMissing();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, 1235u);
  EXPECT_FALSE(range_client.potboiler_only());
  PeerClient walk_client(by_walk.node(), by_walk.sequencer(), a.url(), options);
  auto walked = walk_client.PullMissing(/*force_walk=*/true);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  EXPECT_EQ(*walked, 1235u);
  EXPECT_EQ(a.Digest(), by_range.Digest());
  EXPECT_EQ(a.Digest(), by_walk.Digest());
  // Nothing more to fetch; new entries come after the local head.
  EXPECT_EQ(*range_client.PullMissing(), 0u);
  HttpResponse add = a.Call("POST", "/queue/q", R"({"task_name":"late","info":null})");
  ASSERT_EQ(add.status, 201);
  EXPECT_EQ(*range_client.PullMissing(), 1u);
  EXPECT_EQ(*walk_client.PullMissing(true), 1u);
  EXPECT_EQ(a.Digest(), by_range.Digest());
  EXPECT_EQ(a.Digest(), by_walk.Digest());
  EXPECT_EQ(*a.node()->log()->Heads(), *by_walk.node()->log()->Heads());
}

TEST(PeerClientTest, PotboilerOnlyPeerGetsTheWalkAndOneAtATimePushes) {
  ReplicatorOptions options;
  options.batch = 50;
  TestNode potboiler(nullptr, /*potboiler_only=*/true);
  Fill(potboiler, 120);
  TestNode b;
  Fill(b, 30, "b");
  PeerClient client(b.node(), b.sequencer(), potboiler.url(), options);
  auto pulled = client.PullMissing();
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*pulled, 121u);
  EXPECT_TRUE(client.potboiler_only());
  uint64_t cursor = 0;
  auto pushed = client.Push(&cursor, 100);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(cursor, *b.node()->log()->LastSequence());
  EXPECT_EQ(potboiler.Digest(), b.Digest());
}

TEST(PeerClientTest, HolesAreFilledAndHeadsStayRight) {
  ReplicatorOptions options;
  TestNode a;
  Fill(a, 40);
  std::vector<StoredEvent> own = OwnEntries(a);
  TestNode b;
  // b gets the chain with entries 10..19 missing.
  std::vector<Event> partial;
  for (size_t i = 0; i < own.size(); ++i) {
    if (i < 10 || i >= 20) partial.push_back(own[i].event);
  }
  HttpResponse r = b.Call("POST", "/log/batch", EncodeEntryArray(partial));
  ASSERT_EQ(r.status, 200) << r.body;
  auto holes = b.node()->log()->Holes(a.node()->id());
  ASSERT_TRUE(holes.ok());
  ASSERT_EQ(holes->size(), 1u);
  EXPECT_EQ((*holes)[0], own[19].event.id);
  EXPECT_NE(a.Digest(), b.Digest());
  // The head is the entry with the greatest `when`, hole or not.
  EXPECT_EQ(b.node()->log()->Heads()->at(a.node()->id()), own.back().event.id);

  PeerClient client(b.node(), b.sequencer(), a.url(), options);
  uint64_t filled = 0;
  auto got = client.PullMissing(false, &filled);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(filled, 10u);
  EXPECT_TRUE(b.node()->log()->Holes(a.node()->id())->empty());
  EXPECT_EQ(a.Digest(), b.Digest());
  EXPECT_EQ(b.Call("GET", "/log").body, a.Call("GET", "/log").body);
}

TEST(ReplicatorTest, ThreeNodesGossipAndConverge) {
  ReplicatorOptions options;
  options.anti_entropy = 100ms;
  options.membership_poll = 50ms;
  options.min_backoff = 20ms;
  options.max_backoff = 200ms;
  TestNode a(&options);
  TestNode b(&options);
  TestNode c(&options);
  Fill(a, 50, "a");
  Fill(b, 60, "b");
  Fill(c, 70, "c");
  // b knows a, c knows b: gossip makes everyone know everyone.
  ASSERT_EQ(b.Call("POST", "/nodes", "{\"url\":\"" + a.url() + "\"}").status, 201);
  ASSERT_EQ(c.Call("POST", "/nodes", "{\"url\":\"" + b.url() + "\"}").status, 201);
  auto knows = [](TestNode& n, std::set<std::string> want) {
    auto set = n.node()->ListSet(kNodesKey);
    if (!set.ok()) return false;
    std::set<std::string> got(set->begin(), set->end());
    return got == want;
  };
  EXPECT_TRUE(Eventually([&] { return knows(a, {b.url(), c.url()}); }));
  EXPECT_TRUE(Eventually([&] { return knows(b, {a.url(), c.url()}); }));
  EXPECT_TRUE(Eventually([&] { return knows(c, {a.url(), b.url()}); }));
  EXPECT_TRUE(Eventually([&] {
    return a.Digest() == b.Digest() && b.Digest() == c.Digest() &&
           *a.node()->log()->Count() == 183u && *c.node()->log()->Count() == 183u;
  })) << a.Digest()
      << " " << b.Digest() << " " << c.Digest();

  // New writes on every side keep flowing; status shows peers up, no lag.
  for (TestNode* n : {&a, &b, &c}) {
    ASSERT_EQ(n->Call("POST", "/queue/q", R"({"task_name":"more","info":null})").status, 201);
  }
  EXPECT_TRUE(Eventually([&] {
    return *a.node()->log()->Count() == 186u && *b.node()->log()->Count() == 186u &&
           *c.node()->log()->Count() == 186u && a.Digest() == c.Digest();
  }));
  EXPECT_TRUE(Eventually([&] {
    for (const PeerStatus& p : a.replicator()->Peers()) {
      if (!p.up || p.push_lag != 0) return false;
    }
    return a.replicator()->Peers().size() == 2;
  }));
  // Each peer's digest, as a's replicator read it, comes to equal a's own.
  EXPECT_TRUE(Eventually([&] {
    for (const PeerStatus& p : a.replicator()->Peers()) {
      if (p.digest != a.Digest()) return false;
    }
    return true;
  }));
  boost::json::value status = Json(a.Call("GET", "/replication"));
  EXPECT_EQ(status.at("peers").as_array().size(), 2u);
  EXPECT_EQ(status.at("digest").as_string(), a.Digest());
  EXPECT_EQ(status.at("peers").as_array()[0].at("digest").as_string(), a.Digest());
  std::string metrics = a.Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("pigtail_replication_peer_up{peer=\"" + b.url() + "\"} 1"),
            std::string::npos)
      << metrics;
  // The push cursor is durable.
  auto cursor = a.node()->log()->GetMeta(PushCursorKey(b.url()));
  ASSERT_TRUE(cursor.ok() && *cursor);
  EXPECT_EQ(std::stoull(**cursor), *a.node()->log()->LastSequence());
}

TEST(ReplicatorTest, UnreachablePeerIsBackedOffAndReported) {
  ReplicatorOptions options;
  options.anti_entropy = 50ms;
  options.membership_poll = 20ms;
  options.min_backoff = 10ms;
  options.max_backoff = 100ms;
  options.request_timeout = 200ms;
  TestNode a(&options);
  // A port nothing listens on (a closed server's).
  std::string dead;
  {
    TestNode gone;
    dead = gone.url();
  }
  ASSERT_EQ(a.Call("POST", "/nodes", "{\"url\":\"" + dead + "\"}").status, 201);
  EXPECT_TRUE(Eventually([&] {
    auto peers = a.replicator()->Peers();
    return peers.size() == 1 && peers[0].failures >= 3 && !peers[0].up &&
           !peers[0].last_error.empty();
  }));
  auto peers = a.replicator()->Peers();
  // Bounded retries: with backoff doubling to 100 ms, a second brings < 40.
  std::this_thread::sleep_for(1s);
  uint64_t after = a.replicator()->Peers()[0].failures;
  EXPECT_LT(after - peers[0].failures, 40u);
  ASSERT_EQ(a.Call("DELETE", "/nodes", "{\"url\":\"" + dead + "\"}").status, 204);
  EXPECT_TRUE(Eventually([&] { return a.replicator()->Peers().empty(); }));
}

// A replicating node with a Potboiler-only peer: it walks the peer's
// chain and pushes its own entries one at a time.
TEST(ReplicatorTest, WorksWithAPotboilerOnlyPeer) {
  ReplicatorOptions options;
  options.anti_entropy = 100ms;
  options.membership_poll = 50ms;
  TestNode potboiler(nullptr, /*potboiler_only=*/true);
  Fill(potboiler, 40, "p");
  TestNode b(&options);
  ASSERT_EQ(b.Call("POST", "/create", R"({"name":"other","timeout_ms":1000})").status, 201);
  ASSERT_EQ(b.Call("POST", "/nodes", "{\"url\":\"" + potboiler.url() + "\"}").status, 201);
  EXPECT_TRUE(Eventually([&] {
    return *potboiler.node()->log()->Count() == 42u && *b.node()->log()->Count() == 42u &&
           potboiler.Digest() == b.Digest();
  }));
  EXPECT_TRUE(Eventually([&] {
    auto peers = b.replicator()->Peers();
    return peers.size() == 1 && peers[0].up && peers[0].potboiler_only && peers[0].node_id.empty();
  }));
}

// Every entry that arrives by pull or by push reaches registered URLs.
TEST(ReplicatorTest, PulledAndPushedEntriesAreNotified) {
  std::mutex mu;
  std::set<std::string> seen;
  HttpServerOptions http;
  http.port = 0;
  auto capture = HttpServer::Start(http, [&](HttpRequest req, HttpResponder respond) {
    auto e = ParseEvent(req.body);
    if (e.ok()) {
      std::lock_guard lock(mu);
      seen.insert(e->id.ToString());
    }
    respond(HttpResponse{200, {}, "{}"});
  });
  ASSERT_TRUE(capture.ok());
  const std::string capture_url = "http://127.0.0.1:" + std::to_string((*capture)->port()) + "/e";

  TestNode a;
  Fill(a, 30, "a");
  TestNode b;
  ASSERT_EQ(b.Call("POST", "/log/register", "{\"url\":\"" + capture_url + "\"}").status, 201);
  PeerClient pull(b.node(), b.sequencer(), a.url(), ReplicatorOptions());
  ASSERT_EQ(*pull.PullMissing(), 31u);
  // And pushed: a pushes a late entry to b.
  ASSERT_EQ(a.Call("POST", "/queue/q", R"({"task_name":"late","info":null})").status, 201);
  PeerClient push(a.node(), a.sequencer(), b.url(), ReplicatorOptions());
  uint64_t cursor = *a.node()->log()->LastSequence() - 1;
  ASSERT_EQ(*push.Push(&cursor, 10), 1u);
  std::set<std::string> want;
  for (const StoredEvent& e : OwnEntries(a)) want.insert(e.event.id.ToString());
  ASSERT_EQ(want.size(), 32u);
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard lock(mu);
    return seen == want;
  })) << seen.size();
  (*capture)->Shutdown(1s);
}

TEST(ReplicatorTest, PeerTokenGuardsPeerEndpointsAndReplicationUsesIt) {
  ApiOptions api;
  api.client_token = "client-secret";
  api.peer_token = "peer-secret";
  ReplicatorOptions options;
  options.anti_entropy = 100ms;
  options.membership_poll = 50ms;
  TestNode a(&options, false, api);
  TestNode b(&options, false, api);
  const HttpHeaders peer = {{"Authorization", "Bearer peer-secret"}};
  const HttpHeaders client = {{"Authorization", "Bearer client-secret"}};
  const std::string owner = a.node()->id().ToString();
  EXPECT_EQ(a.Call("GET", "/log/range?owner=" + owner).status, 401);
  EXPECT_EQ(a.Call("GET", "/log/range?owner=" + owner, "", client).status, 401);
  EXPECT_EQ(a.Call("GET", "/log/range?owner=" + owner, "", peer).status, 200);
  EXPECT_EQ(a.Call("POST", "/log/batch", "[]").status, 401);
  EXPECT_EQ(a.Call("POST", "/log/batch", "[]", peer).status, 200);
  EXPECT_EQ(a.Call("GET", "/replication", "", peer).status, 200);
  // The Potboiler reads accept either token.
  EXPECT_EQ(a.Call("GET", "/log").status, 401);
  EXPECT_EQ(a.Call("GET", "/log", "", peer).status, 200);
  EXPECT_EQ(a.Call("GET", "/log/first", "", client).status, 200);

  ASSERT_EQ(a.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})", client).status, 201);
  ASSERT_EQ(b.Call("POST", "/nodes", "{\"url\":\"" + a.url() + "\"}", peer).status, 201);
  EXPECT_TRUE(Eventually([&] {
    return a.Digest() == b.Digest() && *b.node()->log()->Count() == 1u &&
           a.node()->ListSet(kNodesKey)->size() == 1u;
  }));
}

TEST(ReplicationConfigTest, Flags) {
  bool help = false;
  auto env = [](const char*) -> const char* { return nullptr; };
  auto c = ParseServerConfig({"pigtaild", "--anti-entropy-ms", "250", "--replication-batch", "500",
                              "--replication-timeout-ms", "700", "--replication-max-backoff-ms",
                              "900", "--advertise-url", "http://10.0.0.1:8000"},
                             env, &help);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->anti_entropy_ms, 250u);
  EXPECT_EQ(c->replication_batch, 500u);
  EXPECT_EQ(c->replication_timeout_ms, 700u);
  EXPECT_EQ(c->replication_max_backoff_ms, 900u);
  EXPECT_EQ(c->advertise_url, "http://10.0.0.1:8000");
  EXPECT_FALSE(ParseServerConfig({"pigtaild", "--anti-entropy-ms", "0"}, env, &help).ok());
  EXPECT_FALSE(ParseServerConfig({"pigtaild", "--replication-batch", "0"}, env, &help).ok());
  EXPECT_FALSE(ParseServerConfig({"pigtaild", "--replication-batch", "20000"}, env, &help).ok());
  EXPECT_FALSE(ParseServerConfig({"pigtaild", "--advertise-url", "ftp://x"}, env, &help).ok());
}

}  // namespace
}  // namespace pigtail::testing

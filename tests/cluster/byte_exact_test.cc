// The byte-exactness suite: entries written by hand, with floats and
// exponents, \u escapes, raw UTF-8, whitespace and line breaks between
// tokens, other key orders, a stale "next", upper-case ids and the three
// `when` forms, travel through every path that moves entries: POST
// /log/other, POST /log/batch, push (batched and one at a time), range
// pulls, the Potboiler walk, hole filling, delivery to a registered /event
// URL, export and import of a dump, and import from a live node. Every node
// and every dump must hold exactly the bytes the owner wrote (a delivery:
// those bytes with only the value of "next" set). In-process nodes over
// real HTTP on 127.0.0.1, on RocksDB and on PostgreSQL
// (PIGTAIL_TEST_POSTGRES_URI, one schema per node).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "backends/registry.h"
#include "core/json_splice.h"
#include "replay/corruption.h"
#include "replay/event_source.h"
#include "replay/jsonl_source.h"
#include "replay/log_copy.h"
#include "server/entry_array.h"
#include "server/entry_fetch.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/cluster/test_node.h"

namespace pigtail::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kOwner[] = "6f1c0a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6";
constexpr char kId1[] = "0a000000-0000-4000-8000-000000000001";
constexpr char kId2[] = "0a000000-0000-4000-8000-000000000002";
constexpr char kId3[] = "0a000000-0000-4000-8000-0000000000e3";
constexpr char kId4[] = "0a000000-0000-4000-8000-000000000004";
constexpr char kId5[] = "0a000000-0000-4000-8000-000000000005";

// One owner's chain of five entries, oldest first, as the owner wrote them.
std::vector<std::string> Chain() {
  const std::string o = kOwner;
  return {
      // Floats, an exponent, a \u escape, spaces between members; [E,[T],C].
      R"({"id":")" + std::string(kId1) + R"(","owner":")" + o +
          R"(","prev":null,"when":[0,[1558805131923316000],0],   "data":{"x":1.5,"s":"caf\u00e9","n":1e3}})",
      // Another key order, "next" present, raw UTF-8, a surrogate pair,
      // a number beyond any integer type; [E,T,C].
      R"({"data":{"text":"données ☃","emoji":"\ud83d\ude00","big":123456789012345678901234,"neg":-0.0e-5},"when":[0,1558805131923317000,0],"prev":")" +
          std::string(kId1) + R"(","owner":")" + o + R"(","next":null,"id":")" + kId2 + R"("})",
      // Line breaks (\n and \r\n) and tabs between tokens, an upper-case id,
      // the object form of `when`.
      "{\n\t\"id\" : \"0A000000-0000-4000-8000-0000000000E3\",\n  \"owner\":\"" + o +
          "\",\r\n  \"prev\":\"" + kId2 +
          "\",\n  \"when\":{\"count\":2,\"epoch\":0,\"time\":1558805131923318000},\n"
          "  \"data\":[1,2.50,{\"k\":\"\\u0041\\n\"}]\n}",
      // A stale "next" in the owner's bytes, exponents in upper case.
      R"({"id":")" + std::string(kId4) + R"(","owner":")" + o + R"(","prev":")" + kId3 +
          R"(","next":")" + kId1 +
          R"(","when":[0,[1558805131923319000],0],"data":{"e":2E+2,"f":0.1000,"g":-1e-7}})",
      // Members named id and next inside data, escaped slashes, an empty
      // dependency list.
      R"({"id":")" + std::string(kId5) + R"(","owner":")" + o + R"(","prev":")" + kId4 +
          R"(","when":[0,[1558805131923320000],1],"data":{"nested":{"next":"x","id":"y"},"url":"http:\/\/h\/p"},"dependencies":[]})",
  };
}

std::vector<Uuid> ChainIds() {
  return {*Uuid::Parse(kId1), *Uuid::Parse(kId2), *Uuid::Parse(kId3), *Uuid::Parse(kId4),
          *Uuid::Parse(kId5)};
}

// `entries` as a POST /log/batch body, with whitespace between elements.
std::string BatchBody(const std::vector<std::string>& entries) {
  std::string out = "[\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += " ,\r\n ";
    out += entries[i];
  }
  return out + "\n]";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ByteExactTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/pigtail-byte-exact-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    if (GetParam() == "Postgres") {
      Result<std::string> uri = PostgresTestUri();
      ASSERT_TRUE(uri.ok()) << uri.status().ToString();
      pg_uri_ = *uri;
    }
  }

  void TearDown() override {
    nodes_.clear();  // closes their stores before the schemas go
    for (const std::string& schema : schemas_) EXPECT_TRUE(DropSchema(pg_uri_, schema).ok());
    std::filesystem::remove_all(dir_);
  }

  // A fresh event store of the backend under test: its URI and options.
  std::pair<std::string, BackendOptions> NewStore() {
    BackendOptions options;
    if (GetParam() == "Postgres") {
      options.postgres_schema = FreshSchemaName();
      schemas_.push_back(options.postgres_schema);
      return {pg_uri_, options};
    }
    const std::string dir = dir_ + "/store" + std::to_string(++stores_);
    std::filesystem::create_directories(dir);
    return {"rocksdb:" + dir, options};
  }

  // A fresh event store of the backend under test, opened here.
  std::unique_ptr<EventStore> OpenNewStore() {
    auto [uri, options] = NewStore();
    Result<std::unique_ptr<EventStore>> store = OpenEventStore(uri, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  TestNode& NewNode(bool potboiler_only = false) {
    auto [uri, options] = NewStore();
    nodes_.push_back(
        std::make_unique<TestNode>(nullptr, potboiler_only, ApiOptions(), 16 << 20, uri, options));
    return *nodes_.back();
  }

  // A node that got the chain by POST /log/other, one entry at a time.
  TestNode& Origin() {
    TestNode& node = NewNode();
    for (const std::string& entry : Chain()) {
      HttpResponse r = node.Call("POST", "/log/other", entry);
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.body, R"({"stored":true})");
    }
    return node;
  }

  // `store` holds the entries of the chain named by `which` (indexes) with
  // exactly the owner's bytes, read as raw records and as parsed events.
  static void ExpectStoredExactly(EventStore* store, std::vector<size_t> which = {0, 1, 2, 3, 4}) {
    const std::vector<std::string> chain = Chain();
    const std::vector<Uuid> ids = ChainIds();
    for (size_t i : which) {
      SCOPED_TRACE("entry " + std::to_string(i + 1));
      Result<std::optional<RawRecord>> raw = store->GetRaw(ids[i]);
      ASSERT_TRUE(raw.ok()) << raw.status().ToString();
      ASSERT_TRUE(raw->has_value());
      EXPECT_EQ((*raw)->bytes, chain[i]);
      EXPECT_EQ((*raw)->id, ids[i]);
      EXPECT_EQ((*raw)->owner, *Uuid::Parse(kOwner));
      Result<std::optional<StoredEvent>> parsed = store->Get(ids[i]);
      ASSERT_TRUE(parsed.ok() && parsed->has_value());
      EXPECT_EQ((*parsed)->event.raw, chain[i]);
    }
    Result<std::vector<RawRecord>> scanned = store->ScanRaw(0, 100);
    ASSERT_TRUE(scanned.ok()) << scanned.status().ToString();
    EXPECT_EQ(scanned->size(), which.size());
    for (const RawRecord& r : *scanned) {
      size_t i = std::find(ids.begin(), ids.end(), r.id) - ids.begin();
      ASSERT_LT(i, chain.size());
      EXPECT_EQ(r.bytes, chain[i]);
    }
  }

  // The node holds the whole chain exactly: in its store, and as it serves
  // it (GET /log/{id}?raw=true, and GET /log/range unless the node plays a
  // Potboiler node).
  static void ExpectServedExactly(TestNode& node, bool has_range = true) {
    ExpectStoredExactly(node.node()->log());
    const std::vector<std::string> chain = Chain();
    const std::vector<Uuid> ids = ChainIds();
    for (size_t i = 0; i < chain.size(); ++i) {
      HttpResponse r = node.Call("GET", "/log/" + ids[i].ToString() + "?raw=true");
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, chain[i]);
      EXPECT_EQ(r.Header(kRawHeader), "true");
      EXPECT_EQ(r.Header(kNextHeader), i + 1 < ids.size() ? ids[i + 1].ToString() : "");
    }
    if (!has_range) return;
    HttpResponse range = node.Call("GET", std::string("/log/range?owner=") + kOwner);
    EXPECT_EQ(range.status, 200);
    std::string want = "[";
    for (size_t i = 0; i < chain.size(); ++i) want += (i > 0 ? "," : "") + chain[i];
    EXPECT_EQ(range.body, want + "]");
  }

  std::string dir_;
  std::string pg_uri_;
  std::vector<std::string> schemas_;
  int stores_ = 0;
  std::vector<std::unique_ptr<TestNode>> nodes_;
};

TEST_P(ByteExactTest, PostLogOtherAndBatch) {
  TestNode& a = Origin();
  ExpectServedExactly(a);
  // GET /log/{id} without raw: the owner's bytes with only "next" set.
  const std::vector<std::string> chain = Chain();
  HttpResponse served = a.Call("GET", std::string("/log/") + kId4);
  EXPECT_EQ(served.body, SpliceTopLevelMember(chain[3], "next", std::string("\"") + kId5 + "\""));
  EXPECT_EQ(a.Call("GET", std::string("/log/") + kId4 + "?raw=yes").status, 400);

  TestNode& b = NewNode();
  HttpResponse r = b.Call("POST", "/log/batch", BatchBody(Chain()));
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectServedExactly(b);
}

TEST_P(ByteExactTest, PushBatchedAndOneAtATime) {
  TestNode& a = Origin();
  TestNode& b = NewNode();
  PeerClient to_b(a.node(), a.sequencer(), b.url(), ReplicatorOptions());
  uint64_t cursor = 0;
  Result<uint64_t> sent = to_b.Push(&cursor, 10);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(*sent, 5u);
  EXPECT_FALSE(to_b.potboiler_only());
  ExpectServedExactly(b);

  TestNode& potboiler = NewNode(/*potboiler_only=*/true);
  PeerClient to_potboiler(b.node(), b.sequencer(), potboiler.url(), ReplicatorOptions());
  cursor = 0;
  sent = to_potboiler.Push(&cursor, 10);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_TRUE(to_potboiler.potboiler_only());
  ExpectServedExactly(potboiler, /*has_range=*/false);
}

TEST_P(ByteExactTest, RangePullAndTheWalk) {
  TestNode& a = Origin();
  TestNode& by_range = NewNode();
  PeerClient range(by_range.node(), by_range.sequencer(), a.url(), ReplicatorOptions());
  Result<uint64_t> got = range.PullMissing();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, 5u);
  ExpectServedExactly(by_range);

  // The walk, from a node that itself got the chain by range.
  TestNode& by_walk = NewNode();
  PeerClient walk(by_walk.node(), by_walk.sequencer(), by_range.url(), ReplicatorOptions());
  got = walk.PullMissing(/*force_walk=*/true);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, 5u);
  ExpectServedExactly(by_walk);

  // And from a Potboiler-only peer (no /log/range): the walk again.
  TestNode& potboiler = NewNode(/*potboiler_only=*/true);
  ASSERT_EQ(potboiler.Call("POST", "/log/batch", BatchBody(Chain())).status, 404);
  for (const std::string& entry : Chain()) {
    ASSERT_EQ(potboiler.Call("POST", "/log/other", entry).status, 200);
  }
  TestNode& from_potboiler = NewNode();
  PeerClient walk2(from_potboiler.node(), from_potboiler.sequencer(), potboiler.url(),
                   ReplicatorOptions());
  got = walk2.PullMissing();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(walk2.potboiler_only());
  ExpectServedExactly(from_potboiler);
}

TEST_P(ByteExactTest, HoleFilling) {
  TestNode& a = Origin();
  TestNode& b = NewNode();
  // b has entries 1, 2 and 5: entries 3 and 4 are a hole behind 5.
  const std::vector<std::string> chain = Chain();
  ASSERT_EQ(b.Call("POST", "/log/batch", BatchBody({chain[0], chain[1], chain[4]})).status, 200);
  ExpectStoredExactly(b.node()->log(), {0, 1, 4});
  Result<std::vector<Uuid>> holes = b.node()->log()->Holes(*Uuid::Parse(kOwner));
  ASSERT_TRUE(holes.ok());
  ASSERT_EQ(*holes, std::vector<Uuid>{*Uuid::Parse(kId4)});
  PeerClient client(b.node(), b.sequencer(), a.url(), ReplicatorOptions());
  uint64_t filled = 0;
  Result<uint64_t> got = client.PullMissing(false, &filled);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(filled, 2u);
  ExpectServedExactly(b);
}

TEST_P(ByteExactTest, DeliveryToARegisteredUrl) {
  std::mutex mu;
  std::map<std::string, std::string> delivered;  // id -> body
  HttpServerOptions http;
  http.port = 0;
  auto capture = HttpServer::Start(http, [&](HttpRequest req, HttpResponder respond) {
    Result<Event> e = ParseEvent(req.body);
    if (e.ok()) {
      std::lock_guard lock(mu);
      delivered[e->id.ToString()] = req.body;
    }
    respond(HttpResponse{200, {}, "{}"});
  });
  ASSERT_TRUE(capture.ok());
  const std::string url = "http://127.0.0.1:" + std::to_string((*capture)->port()) + "/event";
  TestNode& a = NewNode();
  ASSERT_EQ(a.Call("POST", "/log/register", "{\"url\":\"" + url + "\"}").status, 201);
  ASSERT_EQ(a.Call("POST", "/log/batch", BatchBody(Chain())).status, 200);
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard lock(mu);
    return delivered.size() == 5;
  }));
  (*capture)->Shutdown(1s);
  const std::vector<std::string> chain = Chain();
  const std::vector<Uuid> ids = ChainIds();
  std::lock_guard lock(mu);
  for (size_t i = 0; i < chain.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i + 1));
    std::string next = i + 1 < ids.size() ? "\"" + ids[i + 1].ToString() + "\"" : "null";
    EXPECT_EQ(delivered[ids[i].ToString()], SpliceTopLevelMember(chain[i], "next", next));
  }
}

TEST_P(ByteExactTest, ExportAndImport) {
  TestNode& a = Origin();
  const std::string dump = dir_ + "/dump.jsonl";
  replay::BatchLimits limits{.max_events = 2, .max_bytes = 1 << 20};
  auto export_to = [&](EventStore* store, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    Result<uint64_t> n = replay::ExportJsonl(store, f, limits, nullptr);
    std::fclose(f);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(n.ok() ? *n : 0, 5u);
  };
  export_to(a.node()->log(), dump);
  // Every line but the entry with line breaks is the entry verbatim.
  const std::vector<std::string> chain = Chain();
  std::string text = ReadFile(dump);
  std::vector<std::string> lines;
  for (size_t from = 0; from < text.size();) {
    size_t nl = text.find('\n', from);
    ASSERT_NE(nl, std::string::npos);
    lines.push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  ASSERT_EQ(lines.size(), 5u);
  for (size_t i : {0, 1, 3, 4}) EXPECT_EQ(lines[i], chain[i]);
  EXPECT_EQ(lines[2].front(), '"');

  std::unique_ptr<EventStore> imported = OpenNewStore();
  ASSERT_NE(imported, nullptr);
  replay::CorruptionReporter reporter(replay::CorruptionPolicy::kStop);
  auto source = replay::OpenJsonlSource(dump, &reporter);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  Result<replay::CopyReport> copied =
      replay::CopyEvents(source->get(), imported.get(), limits, nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->added, 5u);
  ExpectStoredExactly(imported.get());
  // And the import exports the same dump.
  export_to(imported.get(), dir_ + "/again.jsonl");
  EXPECT_EQ(ReadFile(dir_ + "/again.jsonl"), text);
}

// pigtail-replay's http:// source (the walk over a live node), as `import
// --from http://...` uses it.
TEST_P(ByteExactTest, ImportFromALiveNode) {
  TestNode& a = Origin();
  std::unique_ptr<EventStore> imported = OpenNewStore();
  ASSERT_NE(imported, nullptr);
  replay::CorruptionReporter reporter(replay::CorruptionPolicy::kStop);
  auto source = replay::OpenEventSource(a.url(), BackendOptions(), &reporter);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  replay::BatchLimits limits{.max_events = 2, .max_bytes = 1 << 20};
  Result<replay::CopyReport> copied =
      replay::CopyEvents(source->get(), imported.get(), limits, nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->added, 5u);
  ExpectStoredExactly(imported.get());
}

INSTANTIATE_TEST_SUITE_P(Backends, ByteExactTest, ::testing::Values("RocksDb", "Postgres"),
                         [](const auto& param) { return param.param; });

}  // namespace
}  // namespace pigtail::testing

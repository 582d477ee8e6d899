// Black-box tests: start the real pigtaild binary on 127.0.0.1 with a free
// port, on RocksDB in a temp dir and on PostgreSQL (a unique schema in the
// database named by PIGTAIL_TEST_POSTGRES_URI), and talk HTTP to it. Every
// process started is stopped by its PID; every wait is bounded.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/rocksdb_wal_files.h"
#include "core/uuid.h"
#include "server/http_client.h"
#include "tests/backends/backend_fixture.h"
#include "tests/server/pigtaild_process.h"
#include "tests/server/raw_connection.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;

// A running pigtaild (tests/server/pigtaild_process.h) whose Start reports
// as a gtest assertion and whose Call expects a reply.
class Server : public testing::PigtaildProcess {
 public:
  Server() : PigtaildProcess(PIGTAILD_PATH) {}

  ::testing::AssertionResult Start(const std::vector<std::string>& args) {
    Status s = PigtaildProcess::Start(args);
    if (s.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << s.ToString();
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "") const {
    HttpResponse r = PigtaildProcess::Call(method, target, body);
    EXPECT_NE(r.status, 0) << method << " " << target << ": " << r.body;
    return r;
  }
};

boost::json::value Json(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.body;
  return v;
}

bool JemallocLinked() { return std::string_view(PIGTAILD_ALLOCATOR) == "jemalloc"; }

// The /metrics line naming the allocator pigtaild runs with and its
// transparent huge page option.
std::string HeapInfo(std::string_view thp) {
  return "\npigtail_heap_info{allocator=\"" PIGTAILD_ALLOCATOR "\",thp=\"" + std::string(thp) +
         "\"} 1\n";
}

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/pigtaild_bb_" + Uuid::Random().ToString();
  std::filesystem::create_directories(dir);
  return dir;
}

// Backend flags for a fresh store of the given kind.
std::vector<std::string> BackendArgs(const std::string& kind, const std::string& dir) {
  if (kind == "RocksDb") return {"--backend", "rocksdb:" + dir + "/data"};
  const char* uri = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  if (uri == nullptr || *uri == '\0') return {};
  std::string schema = "bb_" + Uuid::Random().ToString().substr(0, 8);
  return {"--backend", uri, "--postgres-schema", schema};
}

class BlackBoxTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    backend_ = BackendArgs(GetParam(), dir_);
    if (backend_.empty()) {
      FAIL() << "PIGTAIL_TEST_POSTGRES_URI is not set; run the tests via scripts/test.sh, "
                "which starts a throwaway PostgreSQL";
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--listen", "127.0.0.1:0"};
    args.insert(args.end(), backend_.begin(), backend_.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::string dir_;
  std::vector<std::string> backend_;
};

TEST_P(BlackBoxTest, EndpointsRestartAndSigterm) {
  const std::string worker = Uuid::Random().ToString();
  const std::string wbody = "{\"worker_id\":\"" + worker + "\"}";
  std::string node_id, digest, done_id, pending_id, log_head, stats;
  {
    Server s;
    ASSERT_TRUE(s.Start(Args()));
    EXPECT_NE(s.line().find("listening on"), std::string::npos);
    HttpResponse health = s.Call("GET", "/health");
    ASSERT_EQ(health.status, 200);
    node_id = std::string(Json(health).at("node_id").as_string());

    HttpResponse create = s.Call("POST", "/create", R"({"name":"jobs","timeout_ms":30000})");
    EXPECT_EQ(create.status, 201);
    EXPECT_EQ(create.Header("Location"), "/queue/jobs");
    HttpResponse add = s.Call("POST", "/queue/jobs", R"({"task_name":"a","info":{"n":1}})");
    ASSERT_EQ(add.status, 201);
    done_id = std::string(Json(add).at("id").as_string());
    EXPECT_EQ(add.Header("Location"), "/queue/jobs/" + done_id);
    HttpResponse batch = s.Call("POST", "/queue/jobs/batch",
                                R"([{"task_name":"b","info":2},{"task_name":"c","info":3}])");
    ASSERT_EQ(batch.status, 201);
    pending_id = std::string(Json(batch).at("ids").at(1).as_string());

    EXPECT_EQ(s.Call("PUT", "/queue/jobs/" + done_id, wbody).status, 200);
    EXPECT_EQ(s.Call("PUT", "/queue/jobs/" + done_id,
                     "{\"worker_id\":\"" + Uuid::Random().ToString() + "\"}")
                  .status,
              409);
    EXPECT_EQ(s.Call("DELETE", "/queue/jobs/" + done_id, wbody).status, 200);
    HttpResponse claim =
        s.Call("POST", "/queue/jobs/claim", "{\"worker_id\":\"" + worker + "\",\"max\":1}");
    ASSERT_EQ(claim.status, 200);
    EXPECT_EQ(Json(claim).at("tasks").as_array().size(), 1u);
    EXPECT_EQ(s.Call("GET", "/queue/jobs").status, 200);
    EXPECT_EQ(s.Call("GET", "/queue/nope").status, 404);
    EXPECT_EQ(s.Call("GET", "/queue/jobs/" + done_id).status, 200);
    EXPECT_EQ(s.Call("GET", "/queue/jobs/stats").status, 200);
    EXPECT_EQ(s.Call("GET", "/queues").status, 200);
    EXPECT_EQ(s.Call("GET", "/metrics").status, 200);

    HttpResponse post = s.Call("POST", "/log", R"({"app":"other"})");
    EXPECT_EQ(post.status, 201);
    std::string entry_id(Json(post).at("id").as_string());
    EXPECT_EQ(s.Call("GET", "/log/" + entry_id).status, 200);
    log_head = std::string(Json(s.Call("GET", "/log")).at(node_id).as_string());
    EXPECT_EQ(log_head, entry_id);
    EXPECT_EQ(s.Call("GET", "/log/first").status, 200);
    EXPECT_EQ(s.Call("POST", "/log/register", R"({"url":"http://127.0.0.1:1/event"})").status, 201);
    EXPECT_EQ(s.Call("POST", "/nodes", R"({"url":"http://127.0.0.1:2"})").status, 201);
    EXPECT_EQ(s.Call("POST", "/create", "{oops").status, 400);
    digest = s.Call("GET", "/digest").body;
    stats = s.Call("GET", "/queue/jobs/stats").body;
    EXPECT_EQ(s.Stop(), 0);  // SIGTERM: clean exit
  }
  {
    Server s;
    ASSERT_TRUE(s.Start(Args()));
    EXPECT_EQ(Json(s.Call("GET", "/health")).at("node_id").as_string(), node_id);
    EXPECT_EQ(s.Call("GET", "/digest").body, digest);
    // The restart read the live tasks and the queue's tally, not the done
    // one, and counts the same.
    boost::json::value health = Json(s.Call("GET", "/health"));
    EXPECT_EQ(health.at("tasks").to_number<uint64_t>(), 3u);
    EXPECT_EQ(health.at("tasks_in_memory").to_number<uint64_t>(), 2u);
    EXPECT_EQ(s.Call("GET", "/queue/jobs/stats").body, stats);
    EXPECT_EQ(Json(s.Call("GET", "/queue/jobs/" + done_id)).at("state").as_string(), "done");
    EXPECT_EQ(Json(s.Call("GET", "/queue/jobs")).as_object().size(), 2u);
    EXPECT_EQ(Json(s.Call("GET", "/log")).at(node_id).as_string(), log_head);
    EXPECT_EQ(s.Call("GET", "/nodes").body, R"(["http://127.0.0.1:2"])");
    EXPECT_EQ(s.Call("POST", "/log/deregister", R"({"url":"http://127.0.0.1:1/event"})").status,
              204);
    // New entries chain onto the old head.
    HttpResponse post = s.Call("POST", "/log", "1");
    std::string id(Json(post).at("id").as_string());
    EXPECT_EQ(Json(s.Call("GET", "/log/" + id)).at("prev").as_string(), log_head);
    EXPECT_EQ(s.Stop(), 0);
  }
}

// Progress, result, failures and run_at_ms, and a purged task, are kept by
// the backend: the same after a restart, with the same digest.
TEST_P(BlackBoxTest, TaskHistoryAndPurgeSurviveRestart) {
  const std::string worker = Uuid::Random().ToString();
  auto body = [&](const std::string& extra) {
    return "{\"worker_id\":\"" + worker + "\"" + extra + "}";
  };
  std::string digest, kept, purged, later, kept_json, later_json;
  {
    Server s;
    ASSERT_TRUE(s.Start(Args()));
    ASSERT_EQ(s.Call("POST", "/create", R"({"name":"jobs","timeout_ms":30000})").status, 201);
    kept = std::string(
        Json(s.Call("POST", "/queue/jobs", R"({"task_name":"a","info":1})")).at("id").as_string());
    purged = std::string(
        Json(s.Call("POST", "/queue/jobs", R"({"task_name":"b","info":2})")).at("id").as_string());
    later = std::string(Json(s.Call("POST", "/queue/jobs",
                                    R"({"task_name":"c","info":3,"run_at_ms":4102444800000})"))
                            .at("id")
                            .as_string());
    ASSERT_EQ(s.Call("PUT", "/queue/jobs/" + kept, body("")).status, 200);
    ASSERT_EQ(s.Call("POST", "/queue/jobs/" + kept + "/fail",
                     body(R"(,"lease":0,"error":"caf\u00e9 \"down\"")"))
                  .status,
              200);
    ASSERT_EQ(s.Call("PUT", "/queue/jobs/" + kept, body(R"(,"progress":{"step":2})")).status, 200);
    ASSERT_EQ(s.Call("DELETE", "/queue/jobs/" + kept, body(R"(,"lease":1,"result":{"out":[1,2]})"))
                  .status,
              200);
    ASSERT_EQ(s.Call("POST", "/queue/jobs/" + purged + "/cancel").status, 200);
    ASSERT_EQ(s.Call("POST", "/queue/jobs/purge", R"({"state":"cancelled"})").body,
              R"({"purged":1,"more":false})");
    kept_json = s.Call("GET", "/queue/jobs/" + kept).body;
    later_json = s.Call("GET", "/queue/jobs/" + later).body;
    EXPECT_EQ(
        Json(s.Call("GET", "/queue/jobs/" + kept)).at("failures").at(0).at("error").as_string(),
        "café \"down\"");
    digest = s.Call("GET", "/digest").body;
    EXPECT_EQ(s.Stop(), 0);
  }
  Server s;
  ASSERT_TRUE(s.Start(Args()));
  EXPECT_EQ(s.Call("GET", "/digest").body, digest);
  EXPECT_EQ(s.Call("GET", "/queue/jobs/" + kept).body, kept_json);
  EXPECT_EQ(s.Call("GET", "/queue/jobs/" + later).body, later_json);
  EXPECT_EQ(Json(s.Call("GET", "/queue/jobs/" + kept)).at("result"),
            boost::json::parse(R"({"out":[1,2]})"));
  EXPECT_EQ(Json(s.Call("GET", "/queue/jobs/" + later)).at("run_at_ms").to_number<uint64_t>(),
            4102444800000u);
  EXPECT_EQ(s.Call("GET", "/queue/jobs/" + purged).status, 404);
  EXPECT_EQ(s.Stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlackBoxTest, ::testing::Values("RocksDb", "Postgres"),
                         [](const auto& param_info) { return param_info.param; });

class RocksDbBlackBoxTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RocksDbBlackBoxTest, LimitsAndTimeouts) {
  Server s;
  ASSERT_TRUE(s.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/data",
                       "--max-body-bytes", "2048", "--read-timeout-ms", "300",
                       "--rocksdb-memory-mb", "16"}));
  ASSERT_EQ(s.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
  std::string digest = s.Call("GET", "/digest").body;
  std::string big = R"({"task_name":"t","info":")" + std::string(4096, 'x') + "\"}";
  HttpResponse too_big = s.Call("POST", "/queue/q", big);
  EXPECT_EQ(too_big.status, 413);
  EXPECT_NE(too_big.body.find("error"), std::string::npos);
  EXPECT_EQ(s.Call("POST", "/queue/q", "[1,").status, 400);

  // A malformed request line gets 400 and a closed connection.
  {
    RawConnection c(s.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
    RawConnection::ReadResult reply = c.ReadUntilClosed(3s);
    EXPECT_NE(reply.text.find(" 400 "), std::string::npos) << reply.text;
    EXPECT_TRUE(reply.closed);
  }

  // A half-sent request is cut off after the read timeout.
  {
    RawConnection c(s.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("POST /queue/q HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.ReadUntilClosed(5s).closed);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  }

  EXPECT_EQ(s.Call("GET", "/digest").body, digest);  // nothing changed
  EXPECT_EQ(s.Call("GET", "/health").status, 200);   // still serving
  // RocksDB's memory in use, for the log and the state, within the budget.
  const std::string metrics = s.Call("GET", "/metrics").body;
  const std::string gauge = "\npigtail_rocksdb_memory_bytes ";
  const size_t at = metrics.find(gauge);
  ASSERT_NE(at, std::string::npos) << metrics;
  const uint64_t bytes = std::stoull(metrics.substr(at + gauge.size()));
  EXPECT_GT(bytes, 0u);
  EXPECT_LE(bytes, uint64_t{16} << 20);
  // The same by role: the memtables, at least, are charged to it.
  EXPECT_NE(metrics.find("\npigtail_rocksdb_memory_role_bytes{role=\"write-buffer\"} "),
            std::string::npos)
      << metrics;
  // The sweeps of the blocks of deleted tables: none yet in so short a run.
  EXPECT_NE(metrics.find("\npigtail_rocksdb_cache_sweeps_total 0\n"), std::string::npos) << metrics;
  // The heap, as the allocator the build links counts it.
  const std::string heap =
      "\npigtail_heap_bytes{allocator=\"" PIGTAILD_ALLOCATOR "\",kind=\"in_use\"} ";
  const size_t heap_at = metrics.find(heap);
  ASSERT_NE(heap_at, std::string::npos) << metrics;
  if (JemallocLinked()) {
    EXPECT_GT(std::stoull(metrics.substr(heap_at + heap.size())), 0u);
  }
  // pigtaild asks jemalloc for transparent huge pages (tools/heap_options.cc).
  EXPECT_NE(metrics.find(HeapInfo(JemallocLinked() ? "always" : "default")), std::string::npos)
      << metrics;
  EXPECT_EQ(s.Stop(), 0);
}

TEST_F(RocksDbBlackBoxTest, MallocConfInTheEnvironmentOverridesHugePages) {
  ASSERT_EQ(setenv("MALLOC_CONF", "thp:never", 1), 0);
  Server s;
  const bool started = s.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_});
  unsetenv("MALLOC_CONF");
  ASSERT_TRUE(started);
  const std::string metrics = s.Call("GET", "/metrics").body;
  // glibc's malloc ignores MALLOC_CONF.
  EXPECT_NE(metrics.find(HeapInfo(JemallocLinked() ? "never" : "default")), std::string::npos)
      << metrics;
  EXPECT_EQ(s.Stop(), 0);
}

// A syncing node's log runs on zeros, a chunk at a time
// (backends/rocksdb_wal_files.h); with --sync none it grows as it is
// written, which zeros would not survive an OS crash in order.
TEST_F(RocksDbBlackBoxTest, TheLogRunsOnZerosOnlyWhenItSyncs) {
  constexpr uintmax_t kZeroChunk = rocks::ZeroFilledWalFileSystem::kChunkBytes;
  for (const std::string sync : {"batch", "none"}) {
    const std::string data = dir_ + "/" + sync;
    Server s;
    ASSERT_TRUE(
        s.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + data, "--sync", sync}));
    ASSERT_EQ(s.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
    ASSERT_EQ(s.Call("POST", "/queue/q", R"({"task_name":"t","info":null})").status, 201);
    const uintmax_t wal_bytes = testing::WalBytes(data + "/log");
    EXPECT_GT(wal_bytes, 0u) << sync;
    EXPECT_EQ(wal_bytes % kZeroChunk == 0, sync == "batch") << sync << ": " << wal_bytes;
    EXPECT_EQ(s.Stop(), 0);
  }
}

TEST_F(RocksDbBlackBoxTest, RegisteredUrlReceivesEntries) {
  Server a;
  Server b;
  ASSERT_TRUE(a.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/a"}));
  ASSERT_TRUE(b.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/b"}));
  ASSERT_EQ(a.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
  HttpResponse add = a.Call("POST", "/queue/q", R"({"task_name":"t","info":null})");
  std::string id(Json(add).at("id").as_string());
  ASSERT_EQ(a.Call("POST", "/log/register", "{\"url\":\"" + b.url() + "/event\"}").status, 201);
  bool arrived = false;
  for (int i = 0; i < 200 && !arrived; ++i) {  // up to ~10 s
    arrived = b.Call("GET", "/queue/q/" + id).status == 200;
    if (!arrived) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(arrived);
  EXPECT_EQ(a.Call("GET", "/digest").body, b.Call("GET", "/digest").body);
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

TEST_F(RocksDbBlackBoxTest, HelpAndBadFlags) {
  Server s;
  EXPECT_FALSE(s.Start({"--listen", "nonsense"}));
  EXPECT_FALSE(s.Start({"--backend", "mysql://x"}));
  EXPECT_FALSE(s.Start({"--rocksdb-memory-mb", "1"}));
}

size_t CountOf(const std::string& text, std::string_view what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// Issue 12: with an unsupported Transfer-Encoding the body ran as a second
// request, so a cancel carrying a POST /log performed both writes.
TEST_F(RocksDbBlackBoxTest, UnsupportedTransferEncodingIsRefusedAndTheBodyNeverRuns) {
  Server s;
  ASSERT_TRUE(s.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/data"}));
  ASSERT_EQ(s.Call("POST", "/create", R"({"name":"q","timeout_ms":1000})").status, 201);
  HttpResponse add = s.Call("POST", "/queue/q", R"({"task_name":"t","info":null})");
  std::string id(Json(add).at("id").as_string());
  const std::string log = s.Call("GET", "/log").body;
  const std::string smuggled =
      "POST /log HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}";
  for (const char* coding : {"gzip", "identity"}) {
    RawConnection c(s.port());
    ASSERT_TRUE(c.connected());
    std::string wire = "POST /queue/q/" + id + "/cancel HTTP/1.1\r\nHost: x\r\n" +
                       "Transfer-Encoding: " + coding + "\r\n\r\n" + smuggled;
    ASSERT_TRUE(c.Send(wire, 3s));
    auto [reply, closed] = c.ReadUntilClosed(3s);
    EXPECT_EQ(CountOf(reply, "HTTP/1.1 "), 1u) << coding << ": " << reply;
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 ")) << coding << ": " << reply;
    EXPECT_NE(reply.find("Transfer-Encoding"), std::string::npos) << reply;
    EXPECT_TRUE(closed) << coding;
  }
  EXPECT_EQ(s.Call("GET", "/log").body, log);  // neither write happened
  EXPECT_EQ(Json(s.Call("GET", "/queue/q/" + id)).at("state").as_string(), "pending");
  EXPECT_EQ(s.Stop(), 0);
}

// Issue 12: a chunk extension was neither counted against --max-body-bytes
// nor bounded; the server buffered it until the read timeout.
TEST_F(RocksDbBlackBoxTest, EndlessChunkExtensionIsCutOffWithoutGrowingMemory) {
  Server s;
  ASSERT_TRUE(s.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/data"}));
  const std::string head = "POST /log HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;";
  const std::string log = s.Call("GET", "/log").body;

  // A line over the buffer limit, then the client waits: 413, then closed.
  {
    RawConnection c(s.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(head + std::string(100 << 10, 'x'), 3s));
    auto [reply, closed] = c.ReadUntilClosed(5s);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 413 ")) << reply;
    EXPECT_TRUE(closed);
  }

  // 64 MiB of extension as fast as the server takes it: the connection is
  // closed long before the 30 s read timeout and memory does not follow.
  size_t before = testing::ResidentBytes(s.pid());
  ASSERT_GT(before, 0u);
  RawConnection c(s.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(head, 1s));
  const std::string piece(1 << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  bool cut = false;
  for (int i = 0; i < 64 && !cut; ++i) cut = !c.Send(piece, 2s);
  auto [rest, closed_too] = c.ReadUntilClosed(5s);
  size_t after = testing::ResidentBytes(s.pid());
  EXPECT_TRUE(cut || closed_too);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_LT(after, before + (16 << 20)) << "resident " << before << " -> " << after;
  if (!rest.empty()) {
    EXPECT_TRUE(rest.starts_with("HTTP/1.1 413 ")) << rest.substr(0, 200);
  }

  EXPECT_EQ(s.Call("GET", "/log").body, log);
  EXPECT_EQ(s.Call("GET", "/health").status, 200);
  EXPECT_EQ(s.Stop(), 0);
}

}  // namespace
}  // namespace pigtail

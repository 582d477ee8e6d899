// Operations black-box tests of the real pigtaild: its log lines (start
// with masked secrets, JSON format, access log, peers going down and coming
// back), and /ready and state commits across a PostgreSQL outage (a
// throwaway cluster of the test's own, halted and resumed). Every process
// is stopped by its PID; every wait is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backends/registry.h"
#include "core/event.h"
#include "core/uuid.h"
#include "server/http_client.h"
#include "tests/backends/postgres_test_env.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::JsonBody;
using testing::PigtaildProcess;
using testing::ReadFile;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string line;
  while (std::getline(s, line)) out.push_back(line);
  return out;
}

// The JSON lines of `path` whose "msg" is `msg`.
std::vector<boost::json::object> JsonLinesWith(const std::string& path, const std::string& msg) {
  std::vector<boost::json::object> out;
  for (const std::string& line : Lines(ReadFile(path))) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    if (v.as_object().contains("msg") && v.at("msg") == boost::json::value(msg))
      out.push_back(v.as_object());
  }
  return out;
}

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/pigtaild_ops_" + Uuid::Random().ToString();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(OpsTest, JsonLogStartLineMasksSecretsAndAccessLog) {
  PigtaildProcess p(PIGTAILD_PATH);
  const std::string err = dir_ + "/stderr";
  const std::string access = dir_ + "/access.log";
  p.set_stderr_path(err);
  ASSERT_TRUE(p.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/data",
                       "--log-format", "json", "--access-log", access, "--client-token",
                       "s3cret-client", "--peer-token", "s3cret-peer"})
                  .ok());
  EXPECT_NE(p.line().find("listening on http://127.0.0.1:"), std::string::npos);
  EXPECT_EQ(p.Call("GET", "/health").status, 200);
  EXPECT_EQ(p.Call("GET", "/ready").status, 200);
  EXPECT_EQ(p.Stop(), 0);

  const std::string text = ReadFile(err);
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  // Every line is one JSON object with ts, level and msg.
  std::vector<std::string> lines = Lines(text);
  ASSERT_GE(lines.size(), 3u) << text;
  for (const std::string& line : lines) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.is_object()) << line;
    EXPECT_TRUE(v.as_object().contains("ts") && v.as_object().contains("level") &&
                v.as_object().contains("msg"))
        << line;
  }
  std::vector<boost::json::object> started = JsonLinesWith(err, "pigtaild started");
  ASSERT_EQ(started.size(), 1u) << text;
  EXPECT_EQ(started[0].at("client_token"), "set");
  EXPECT_EQ(started[0].at("peer_token"), "set");
  EXPECT_EQ(started[0].at("potboiler_token"), "none");
  EXPECT_EQ(started[0].at("level"), "info");
  EXPECT_EQ(started[0].at("listen").as_string(), "127.0.0.1:" + std::to_string(p.port()));
  EXPECT_EQ(JsonLinesWith(err, "loaded").size(), 1u) << text;
  EXPECT_EQ(JsonLinesWith(err, "stopped cleanly").size(), 1u) << text;

  // The access log: one JSON line per request.
  std::vector<boost::json::object> requests = JsonLinesWith(access, "request");
  ASSERT_EQ(requests.size(), 2u) << ReadFile(access);
  EXPECT_EQ(requests[1].at("method"), "GET");
  EXPECT_EQ(requests[1].at("target"), "/ready");
  EXPECT_EQ(requests[1].at("status").as_int64(), 200);
}

TEST_F(OpsTest, TextLogAndBadLogFlags) {
  testing::ExitResult bad =
      testing::RunToExit(PIGTAILD_PATH, {"--log-format", "xml", "--backend", "memory:"}, dir_);
  EXPECT_EQ(bad.code, 2);  // a usage error
  EXPECT_NE(bad.err.find("--log-format must be text or json"), std::string::npos) << bad.err;
  bad = testing::RunToExit(PIGTAILD_PATH, {"--log-level", "loud", "--backend", "memory:"}, dir_);
  EXPECT_EQ(bad.code, 2);  // a usage error
  EXPECT_NE(bad.err.find("--log-level must be"), std::string::npos) << bad.err;

  PigtaildProcess p(PIGTAILD_PATH);
  const std::string err = dir_ + "/stderr";
  p.set_stderr_path(err);
  ASSERT_TRUE(p.Start({"--listen", "127.0.0.1:0", "--backend", "memory:"}).ok());
  EXPECT_EQ(p.Stop(), 0);
  const std::string text = ReadFile(err);
  // "2026-01-02T03:04:05.678Z info pigtaild started ... client_token=none ..."
  bool found = false;
  for (const std::string& line : Lines(text)) {
    if (line.find(" info pigtaild started ") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(line[4], '-');
    EXPECT_EQ(line[10], 'T');
    EXPECT_EQ(line[23], 'Z');
    EXPECT_NE(line.find(" client_token=none "), std::string::npos) << line;
  }
  EXPECT_TRUE(found) << text;
}

TEST_F(OpsTest, PeerDownAndUpAreLoggedOnceEach) {
  PigtaildProcess a(PIGTAILD_PATH);
  PigtaildProcess b(PIGTAILD_PATH);
  const std::string err = dir_ + "/a.stderr";
  a.set_stderr_path(err);
  ASSERT_TRUE(b.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/b"}).ok());
  const int b_port = b.port();
  ASSERT_TRUE(a.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/a",
                       "--log-format", "json", "--anti-entropy-ms", "100",
                       "--replication-max-backoff-ms", "200", "--replication-timeout-ms", "500"})
                  .ok());
  ASSERT_EQ(a.Call("POST", "/nodes", "{\"url\":\"" + b.url() + "\"}").status, 201);
  ASSERT_TRUE(Eventually([&] { return !JsonLinesWith(err, "peer reachable").empty(); }, 20s))
      << ReadFile(err);

  EXPECT_EQ(b.Stop(), 0);
  ASSERT_TRUE(Eventually([&] { return !JsonLinesWith(err, "peer down").empty(); }, 20s))
      << ReadFile(err);
  // Many more failed retries, still one line.
  std::this_thread::sleep_for(1500ms);
  std::vector<boost::json::object> down = JsonLinesWith(err, "peer down");
  ASSERT_EQ(down.size(), 1u) << ReadFile(err);
  EXPECT_EQ(down[0].at("level"), "warning");
  EXPECT_EQ(down[0].at("peer").as_string(), b.url());
  EXPECT_FALSE(down[0].at("error").as_string().empty());

  ASSERT_TRUE(b.Start({"--listen", "127.0.0.1:" + std::to_string(b_port), "--backend",
                       "rocksdb:" + dir_ + "/b"})
                  .ok());
  ASSERT_TRUE(Eventually([&] { return !JsonLinesWith(err, "peer up again").empty(); }, 20s))
      << ReadFile(err);
  std::vector<boost::json::object> up = JsonLinesWith(err, "peer up again");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_GE(up[0].at("down_ms").as_int64(), 1000);
  EXPECT_GE(up[0].at("failures").as_int64(), 3);
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

// Whether GET /ready answers `status`.
bool ReadyIs(const PigtaildProcess& p, int status) {
  return p.Call("GET", "/ready").status == status;
}

// A port that was free a moment ago (for a node whose port must be known
// before its listening line, which comes only after it has loaded).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Issue 15: while a node loads, it listens and says so: /health 200, /ready
// and every other request 503 "loading"; then it serves.
TEST_F(OpsTest, ALoadingNodeAnswersReadyWithLoading) {
  // A log the node must catch up from at start (its state store is empty).
  constexpr int kEvents = 300'000;
  {
    Result<std::unique_ptr<EventStore>> log = OpenEventStore("rocksdb:" + dir_ + "/data");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    const Uuid owner = Uuid::Random();
    std::optional<Uuid> prev;
    std::vector<Event> batch;
    for (int i = 0; i <= kEvents; ++i) {
      std::string data = i == 0 ? R"({"Create":{"name":"q","timeout_ms":1000}})"
                                : R"({"Add":{"queue_name":"q","task_name":"t","info":null}})";
      NewEvent fields{Uuid::Random(), owner, prev, Hlc{0, 1'000'000'000ull + i, 0}, data, {}};
      Result<Event> e = MakeEvent(fields);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      prev = fields.id;
      batch.push_back(std::move(e).value());
      if (batch.size() == 10'000 || i == kEvents) {
        ASSERT_TRUE((*log)->Append(batch, false).ok());
        batch.clear();
      }
    }
  }
  const int port = FreePort();
  ASSERT_NE(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  PigtaildProcess node(PIGTAILD_PATH);
  Status started;
  std::thread starter([&] {
    started = node.Start({"--listen", "127.0.0.1:" + std::to_string(port), "--backend",
                          "rocksdb:" + dir_ + "/data"});
  });
  bool saw_loading = false;
  bool saw_health = false;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<HttpResponse> ready = SendHttpRequest("GET", url + "/ready", "", {}, 2s);
    if (ready.ok() && ready->status == 200) break;
    if (ready.ok() && ready->status == 503 && ready->body.find("loading") != std::string::npos) {
      saw_loading = true;
      Result<HttpResponse> health = SendHttpRequest("GET", url + "/health", "", {}, 2s);
      saw_health |= health.ok() && health->status == 200;
      Result<HttpResponse> queues = SendHttpRequest("GET", url + "/queues", "", {}, 2s);
      if (queues.ok() && queues->status != 200) {
        EXPECT_EQ(queues->status, 503) << queues->body;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  starter.join();
  ASSERT_TRUE(started.ok()) << started.ToString();
  EXPECT_TRUE(saw_loading) << "never saw /ready answer 503 loading";
  EXPECT_TRUE(saw_health);
  EXPECT_EQ(node.Call("GET", "/ready").status, 200);
  EXPECT_EQ(JsonBody(node.Call("GET", "/queue/q/stats")).at("pending").as_int64(), kEvents);
  EXPECT_EQ(node.Stop(), 0);
}

TEST_F(OpsTest, PostgresOutageReadyAndStateCommitsResumeWithoutRestart) {
  testing::OwnCluster cluster;
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  const std::vector<std::string> backend = {"--backend", cluster.uri(), "--postgres-schema", "ops"};
  PigtaildProcess p(PIGTAILD_PATH);
  const std::string err = dir_ + "/stderr";
  p.set_stderr_path(err);
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--log-format", "json"};
  args.insert(args.end(), backend.begin(), backend.end());
  ASSERT_TRUE(p.Start(args).ok());
  ASSERT_EQ(p.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(p.Call("POST", "/queue/q", R"({"task_name":"before","info":1})").status, 201);
  }
  // A second node keeps its log on RocksDB and its state in PostgreSQL:
  // during the outage it takes writes, and only its state commits fail.
  PigtaildProcess s(PIGTAILD_PATH);
  const std::string s_err = dir_ + "/s.stderr";
  s.set_stderr_path(s_err);
  ASSERT_TRUE(
      s.Start({"--listen", "127.0.0.1:0", "--log-format", "json", "--log", "rocksdb:" + dir_ + "/s",
               "--state", cluster.uri(), "--postgres-schema", "ops_state"})
          .ok());
  ASSERT_EQ(s.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  const std::string worker = Uuid::Random().ToString();
  HttpResponse claimed =
      p.Call("POST", "/queue/q/claim", "{\"worker_id\":\"" + worker + "\",\"max\":2}");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  EXPECT_EQ(p.Call("GET", "/ready").status, 200);

  // PostgreSQL goes away: writes get 503, /ready says why, /health stays 200.
  ASSERT_TRUE(cluster.Halt().ok());
  HttpResponse write = p.Call("POST", "/queue/q", R"({"task_name":"during","info":2})");
  EXPECT_EQ(write.status, 503) << write.body;
  ASSERT_TRUE(Eventually([&] { return ReadyIs(p, 503); }, 10s));
  HttpResponse ready = p.Call("GET", "/ready");
  boost::json::value body = JsonBody(ready);
  ASSERT_TRUE(body.is_object()) << ready.body;
  EXPECT_EQ(body.at("ready"), false);
  EXPECT_NE(body.at("reason").as_string().find("backend is unavailable"), boost::json::string::npos)
      << ready.body;
  EXPECT_EQ(p.Call("GET", "/health").status, 200);
  HttpResponse metrics = p.Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("pigtail_ready 0\n"), std::string::npos);

  // The other node: writes go on, the state commits fail and are kept.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(s.Call("POST", "/queue/q", R"({"task_name":"during","info":2})").status, 201);
  }
  ASSERT_EQ(s.Call("POST", "/queue/q/claim", "{\"worker_id\":\"" + worker + "\",\"max\":5}").status,
            200);
  ASSERT_TRUE(Eventually([&] { return ReadyIs(s, 503); }, 10s));
  boost::json::value s_ready = JsonBody(s.Call("GET", "/ready"));
  ASSERT_TRUE(s_ready.is_object());
  EXPECT_NE(s_ready.at("reason").as_string().find("state"), boost::json::string::npos)
      << boost::json::serialize(s_ready);
  // Commits were tried (and failed) while PostgreSQL was down.
  ASSERT_TRUE(Eventually(
      [&] {
        return !JsonLinesWith(s_err,
                              "state store commits failing; changes kept in memory, "
                              "retrying with backoff")
                    .empty();
      },
      10s))
      << ReadFile(s_err);

  // Back: ready again without a restart, and writes and commits go through.
  ASSERT_TRUE(cluster.Resume().ok());
  ASSERT_TRUE(Eventually([&] { return ReadyIs(p, 200); }, 30s)) << p.Call("GET", "/ready").body;
  ASSERT_TRUE(Eventually([&] { return ReadyIs(s, 200); }, 30s))
      << s.Call("GET", "/ready").body << ReadFile(s_err);
  bool written = Eventually(
      [&] { return p.Call("POST", "/queue/q", R"({"task_name":"after","info":3})").status == 201; },
      10s);
  ASSERT_TRUE(written);
  HttpResponse done =
      p.Call("POST", "/queue/q/claim", "{\"worker_id\":\"" + worker + "\",\"max\":10}");
  ASSERT_EQ(done.status, 200) << done.body;
  // The state store's checkpoint reaches the log's end while the node runs.
  ASSERT_TRUE(Eventually(
      [&] {
        Result<std::optional<std::string>> checkpoint =
            testing::QueryValue(cluster.uri(), "SELECT checkpoint::text FROM ops.state_summary");
        Result<std::optional<std::string>> last =
            testing::QueryValue(cluster.uri(), "SELECT max(seq)::text FROM ops.events");
        return checkpoint.ok() && last.ok() && checkpoint->has_value() && last->has_value() &&
               **checkpoint == **last;
      },
      10s));
  metrics = p.Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("pigtail_ready 1\n"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("pigtail_backend_up{store=\"state\"} 1\n"), std::string::npos);
  const std::string digest = JsonBody(p.Call("GET", "/digest")).at("total").as_string().c_str();
  // What the running node committed (before any restart could catch up).
  Result<std::optional<std::string>> committed =
      testing::QueryValue(cluster.uri(), "SELECT total_digest FROM ops.state_summary");
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->value_or(""), digest);
  ASSERT_EQ(p.Stop(), 0);
  EXPECT_FALSE(JsonLinesWith(err, "backend down").empty()) << ReadFile(err);
  EXPECT_FALSE(JsonLinesWith(err, "backend up again").empty()) << ReadFile(err);

  // The other node's state store caught up by itself: its checkpoint is
  // the end of its log (one event per write) and its digest the node's.
  const uint64_t s_events = 1 + 20 + 1;  // create, adds, one Batch of claims
  ASSERT_TRUE(Eventually(
      [&] {
        Result<std::optional<std::string>> checkpoint = testing::QueryValue(
            cluster.uri(), "SELECT checkpoint::text FROM ops_state.state_summary");
        return checkpoint.ok() && checkpoint->value_or("") == std::to_string(s_events);
      },
      10s));
  const std::string s_digest = JsonBody(s.Call("GET", "/digest")).at("total").as_string().c_str();
  Result<std::optional<std::string>> s_committed =
      testing::QueryValue(cluster.uri(), "SELECT total_digest FROM ops_state.state_summary");
  ASSERT_TRUE(s_committed.ok()) << s_committed.status().ToString();
  EXPECT_EQ(s_committed->value_or(""), s_digest);
  EXPECT_FALSE(JsonLinesWith(s_err, "state store commits resumed; caught up").empty())
      << ReadFile(s_err);
  ASSERT_EQ(s.Stop(), 0);
  PigtaildProcess s_fresh(PIGTAILD_PATH);
  ASSERT_TRUE(s_fresh
                  .Start({"--listen", "127.0.0.1:0", "--log", "rocksdb:" + dir_ + "/s", "--state",
                          "memory:"})
                  .ok());
  EXPECT_EQ(std::string(JsonBody(s_fresh.Call("GET", "/digest")).at("total").as_string()),
            s_digest);
  ASSERT_EQ(s_fresh.Stop(), 0);

  // A fresh node over the same log (state in memory, rebuilt from the log)
  // has the same digest, and so does the committed state, loaded as is.
  PigtaildProcess fresh(PIGTAILD_PATH);
  ASSERT_TRUE(fresh
                  .Start({"--listen", "127.0.0.1:0", "--log", cluster.uri(), "--state",
                          "memory:", "--postgres-schema", "ops"})
                  .ok());
  EXPECT_EQ(std::string(JsonBody(fresh.Call("GET", "/digest")).at("total").as_string()), digest);
  ASSERT_EQ(fresh.Stop(), 0);
  Result<std::optional<std::string>> total =
      testing::QueryValue(cluster.uri(), "SELECT total_digest FROM ops.state_summary");
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  EXPECT_EQ(total->value_or(""), digest);
}

}  // namespace
}  // namespace pigtail

// The abuse suite: hostile input against a real pigtaild, on RocksDB and on
// PostgreSQL (a unique schema in the database named by
// PIGTAIL_TEST_POSTGRES_URI), with client and peer tokens set. Every class
// of attack checks three things: the server stays up, each refusal is a 4xx
// with a JSON error, and a refused write leaves the log and the digest as
// they were. Every process is stopped by its PID; every wait is bounded.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/uuid.h"
#include "server/http_client.h"
#include "tests/server/pigtaild_process.h"
#include "tests/server/raw_connection.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::StatusOf;

constexpr char kClientToken[] = "client-token-0123456789";
constexpr char kPeerToken[] = "peer-token-9876543210";
constexpr size_t kMaxBody = 65536;

enum class Auth { kNone, kClient, kPeer };

// One route of docs/http_api.md, with "{id}" standing for a task id.
struct Route {
  const char* method;
  std::string target;
  Auth auth;
};

// Every route that takes a body and writes. DELETE /queue/q takes none.
std::vector<Route> WriteRoutes(const std::string& id) {
  return {
      {"POST", "/log", Auth::kClient},
      {"POST", "/log/batch", Auth::kPeer},
      {"POST", "/log/other", Auth::kPeer},
      {"POST", "/event", Auth::kPeer},
      {"POST", "/log/register", Auth::kClient},
      {"POST", "/log/deregister", Auth::kClient},
      {"POST", "/nodes", Auth::kPeer},
      {"DELETE", "/nodes", Auth::kPeer},
      {"POST", "/create", Auth::kClient},
      {"POST", "/queue/q", Auth::kClient},
      {"POST", "/queue/q/batch", Auth::kClient},
      {"POST", "/queue/q/claim", Auth::kClient},
      {"POST", "/queue/q/done", Auth::kClient},
      {"PUT", "/queue/q/" + id, Auth::kClient},
      {"DELETE", "/queue/q/" + id, Auth::kClient},
      {"POST", "/queue/q/" + id + "/fail", Auth::kClient},
      {"POST", "/queue/q/" + id + "/cancel", Auth::kClient},
  };
}

// Every route, readers included.
std::vector<Route> AllRoutes(const std::string& id) {
  std::vector<Route> out = WriteRoutes(id);
  std::vector<Route> readers = {
      {"GET", "/log", Auth::kClient},           {"GET", "/log/first", Auth::kClient},
      {"GET", "/log/" + id, Auth::kClient},     {"GET", "/log/range", Auth::kPeer},
      {"GET", "/replication", Auth::kPeer},     {"GET", "/nodes", Auth::kPeer},
      {"GET", "/queues", Auth::kClient},        {"GET", "/queue/q", Auth::kClient},
      {"DELETE", "/queue/q", Auth::kClient},    {"GET", "/queue/q/stats", Auth::kClient},
      {"GET", "/queue/q/" + id, Auth::kClient}, {"GET", "/digest", Auth::kClient},
      {"GET", "/metrics", Auth::kClient},
  };
  out.insert(out.end(), readers.begin(), readers.end());
  return out;
}

// Bodies no endpoint may accept: not JSON, or JSON no parser should take.
std::vector<std::string> MalformedBodies() {
  return {
      "{",
      "[1,",
      "nul",
      "{\"a\":1}}",
      "{\"a\":1} trailing",
      "\"\xc3\x28\"",                 // invalid UTF-8
      "{\"x\":\"\\ud800\"}",          // a lone surrogate
      std::string("{\"a\":1\0}", 8),  // a NUL byte
      std::string(60000, '['),        // nesting far past any limit
  };
}

std::string Quote(std::string_view text) {
  return boost::json::serialize(boost::json::value(boost::json::string_view(text)));
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class AbuseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("abuse");
    std::vector<std::string> args = {
        "--listen",          "127.0.0.1:0", "--client-token",   kClientToken,
        "--peer-token",      kPeerToken,    "--max-body-bytes", std::to_string(kMaxBody),
        "--read-timeout-ms", "1500"};
    if (GetParam() == "RocksDb") {
      args.insert(args.end(), {"--backend", "rocksdb:" + dir_ + "/data"});
    } else {
      const char* uri = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
      if (uri == nullptr || *uri == '\0') {
        FAIL() << "PIGTAIL_TEST_POSTGRES_URI is not set; run the tests via scripts/test.sh, "
                  "which starts a throwaway PostgreSQL";
      }
      std::string schema = "abuse_" + Uuid::Random().ToString().substr(0, 8);
      args.insert(args.end(), {"--backend", uri, "--postgres-schema", schema});
    }
    Status started = server_.Start(args);
    ASSERT_TRUE(started.ok()) << started.ToString();
    ASSERT_EQ(Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
    HttpResponse add = Call("POST", "/queue/q", R"({"task_name":"t","info":{"k":1}})");
    ASSERT_EQ(add.status, 201) << add.body;
    task_id_ = std::string(testing::JsonBody(add).at("id").as_string());
  }

  void TearDown() override {
    if (server_.running()) {
      EXPECT_EQ(server_.Stop(), 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // One request with the token `auth` names (or `token` itself, if given).
  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "", Auth auth = Auth::kClient,
                    const std::string& authorization = "") const {
    HttpHeaders headers;
    if (!authorization.empty()) {
      headers.emplace_back("Authorization", authorization);
    } else if (auth != Auth::kNone) {
      headers.emplace_back("Authorization", std::string("Bearer ") +
                                                (auth == Auth::kPeer ? kPeerToken : kClientToken));
    }
    Result<HttpResponse> r = SendHttpRequest(method, server_.url() + target, body, headers, 10s);
    if (!r.ok()) return HttpResponse{0, {}, r.status().ToString()};
    return *r;
  }

  // The log's heads and the digests: what a refused write must not change.
  std::string Snapshot() const {
    return Call("GET", "/log").body + "|" + Call("GET", "/digest").body;
  }

  void ExpectStillServing() const {
    EXPECT_EQ(Call("GET", "/health", "", Auth::kNone).status, 200) << "the server stopped serving";
    EXPECT_TRUE(server_.running());
  }

  std::string Raw(const std::string& method, const std::string& target) const {
    return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
           kClientToken + "\r\n";
  }

  testing::PigtaildProcess server_{PIGTAILD_PATH};
  std::string dir_;
  std::string task_id_;
};

::testing::AssertionResult IsJsonError(const HttpResponse& r) {
  if (r.status < 400 || r.status >= 500) {
    return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  }
  boost::json::value v = testing::JsonBody(r);
  if (!v.is_object() || !v.as_object().contains("error") ||
      !v.as_object().at("error").is_string()) {
    return ::testing::AssertionFailure() << "not a JSON error: " << r.body;
  }
  return ::testing::AssertionSuccess();
}

TEST_P(AbuseTest, MalformedBodiesOnEveryWriteRouteAreRefused) {
  const std::string before = Snapshot();
  for (const Route& route : WriteRoutes(task_id_)) {
    for (const std::string& body : MalformedBodies()) {
      HttpResponse r = Call(route.method, route.target, body, route.auth);
      EXPECT_TRUE(IsJsonError(r)) << route.method << " " << route.target << " with body "
                                  << body.substr(0, 40);
    }
  }
  EXPECT_EQ(Snapshot(), before);
  ExpectStillServing();
}

TEST_P(AbuseTest, WellFormedButWrongBodiesAreRefused) {
  const std::string id = task_id_;
  const std::string nil = Uuid().ToString();
  const std::string worker = Uuid::Random().ToString();
  const std::string w = "\"worker_id\":\"" + worker + "\"";
  struct Case {
    const char* method;
    std::string target;
    Auth auth;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"POST", "/create", Auth::kClient, R"({"name":5,"timeout_ms":1000})"},
      {"POST", "/create", Auth::kClient, R"({"name":"","timeout_ms":1000})"},
      {"POST", "/create", Auth::kClient, R"({"name":".","timeout_ms":1000})"},
      {"POST", "/create", Auth::kClient, R"({"name":"..","timeout_ms":1000})"},
      {"POST", "/create", Auth::kClient, R"({"name":"z","timeout_ms":0})"},
      {"POST", "/create", Auth::kClient, R"({"name":"z","timeout_ms":-5})"},
      {"POST", "/create", Auth::kClient, R"({"name":"z","timeout_ms":1e30})"},
      {"POST", "/create", Auth::kClient, R"({"name":"z","timeout_ms":1000,"max_attempts":0})"},
      {"POST", "/create", Auth::kClient, R"(["z",1000])"},
      {"POST", "/queue/q", Auth::kClient, R"({"task_name":5,"info":null})"},
      {"POST", "/queue/q", Auth::kClient, R"({"task_name":"t","info":1,"priority":"high"})"},
      {"POST", "/queue/q", Auth::kClient, R"({"task_name":"t","info":1,"delay_ms":-1})"},
      {"POST", "/queue/q", Auth::kClient, R"({"task_name":"t","info":1,"max_attempts":0})"},
      {"POST", "/queue/q/batch", Auth::kClient, R"({"task_name":"t","info":1})"},
      {"POST", "/queue/q/batch", Auth::kClient, R"([{"task_name":"t","info":1},7])"},
      {"POST", "/queue/q/claim", Auth::kClient, R"({"worker_id":"not-a-uuid"})"},
      {"POST", "/queue/q/claim", Auth::kClient, "{\"worker_id\":\"" + nil + "\"}"},
      {"POST", "/queue/q/claim", Auth::kClient, "{" + w + ",\"max\":-1}"},
      {"POST", "/queue/q/done", Auth::kClient, "{" + w + ",\"tasks\":\"" + id + "\"}"},
      {"PUT", "/queue/q/" + id, Auth::kClient, "{\"worker_id\":\"" + nil + "\"}"},
      {"PUT", "/queue/q/" + id, Auth::kClient, "{" + w + ",\"lease\":\"x\"}"},
      {"DELETE", "/queue/q/" + id, Auth::kClient, R"({"worker_id":17})"},
      {"POST", "/queue/q/" + id + "/fail", Auth::kClient, "{" + w + ",\"error\":{}}"},
      {"POST", "/log/register", Auth::kClient, R"({"url":"ftp://127.0.0.1:1/x"})"},
      {"POST", "/log/register", Auth::kClient, R"({"url":"http://127.0.0.1:1/x","x":1})"},
      {"POST", "/log/deregister", Auth::kClient, R"({"url":"http://127.0.0.1:1/x","x":1})"},
      {"POST", "/nodes", Auth::kPeer, R"({"url":"http://127.0.0.1:1","x":1})"},
      {"POST", "/log/other", Auth::kPeer, R"({"id":"x"})"},
      {"POST", "/log/batch", Auth::kPeer, R"([{"id":"x"}])"},
  };
  const std::string before = Snapshot();
  for (const Case& c : cases) {
    HttpResponse r = Call(c.method, c.target, c.body, c.auth);
    EXPECT_TRUE(IsJsonError(r)) << c.method << " " << c.target << " " << c.body;
  }
  EXPECT_EQ(Snapshot(), before);
  ExpectStillServing();
}

TEST_P(AbuseTest, InjectedUrlsAreRefusedAndNeverCalled) {
  // A listener that counts connections: nothing may reach it.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  const std::vector<std::string> urls = {
      base + "/x\r\nX-Injected: yes\r\nX-More: 1",
      base + "/x HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET /smuggled",
      base + "/x\nX-Injected: yes",
      base + "/x y",
      base + "/" + std::string(20000, 'a'),
      "http://127.0.0.1:99999/x",
      "http://user:pw@127.0.0.1:1/x",
  };
  const std::string before = Snapshot();
  for (const std::string& url : urls) {
    std::string body = "{\"url\":" + Quote(url) + "}";
    EXPECT_TRUE(IsJsonError(Call("POST", "/log/register", body))) << url.substr(0, 60);
    EXPECT_TRUE(IsJsonError(Call("POST", "/nodes", body, Auth::kPeer))) << url.substr(0, 60);
  }
  EXPECT_EQ(Snapshot(), before);
  // Give a registration that slipped through time to be called.
  ASSERT_EQ(Call("POST", "/queue/q", R"({"task_name":"after","info":null})").status, 201);
  pollfd p{listener, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 1500), 0) << "the node connected to a refused URL";
  close(listener);
  EXPECT_EQ(Call("GET", "/nodes", "", Auth::kPeer)
                .body.find("127.0.0.1:" + std::to_string(ntohs(addr.sin_port))),
            std::string::npos);
  ExpectStillServing();
}

TEST_P(AbuseTest, OversizeAndChunkedBodiesAreBounded) {
  const std::string before = Snapshot();
  // Declared too large: refused from the header.
  {
    RawConnection c(server_.port());
    ASSERT_TRUE(c.connected());
    c.Send(Raw("POST", "/log") + "Content-Length: " + std::to_string(kMaxBody * 4) + "\r\n\r\n");
    EXPECT_EQ(StatusOf(c.ReadResponse(5s)), 413);
  }
  // Chunked, larger in total than the limit.
  {
    RawConnection c(server_.port());
    ASSERT_TRUE(c.connected());
    std::string chunk(16384, 'x');
    std::string req = Raw("POST", "/log") + "Transfer-Encoding: chunked\r\n\r\n1\r\n\"\r\n";
    c.Send(req);
    for (int i = 0; i < 8; ++i) c.Send("4000\r\n" + chunk + "\r\n");
    EXPECT_EQ(StatusOf(c.ReadResponse(5s)), 413);
  }
  // A chunk extension of 32 MiB: refused early, and memory does not follow.
  {
    const size_t rss_before = testing::ResidentBytes(server_.pid());
    RawConnection c(server_.port());
    ASSERT_TRUE(c.connected());
    c.Send(Raw("POST", "/log") + "Transfer-Encoding: chunked\r\n\r\n2;");
    std::string ext(1 << 20, 'x');
    int sent = 0;
    for (; sent < 32; ++sent) {
      if (!c.Send(ext)) break;
    }
    std::string reply = c.ReadUntilClosed(5s).text;
    int status = StatusOf(reply);
    EXPECT_TRUE(status >= 400 && status < 500) << reply.substr(0, 200);
    EXPECT_LT(testing::ResidentBytes(server_.pid()), rss_before + (24 << 20))
        << "the server buffered the chunk extension";
  }
  EXPECT_EQ(Snapshot(), before);
  ExpectStillServing();
}

TEST_P(AbuseTest, SmugglingAttemptsAreRefusedAndRunNothing) {
  const std::string cancel = "/queue/q/" + task_id_ + "/cancel";
  const std::string inner = "POST /log HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                            std::string(kClientToken) + "\r\nContent-Length: 7\r\n\r\n\"smug\"\n";
  const std::vector<std::string> framings = {
      "Transfer-Encoding: gzip\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: chunked, chunked\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: " + std::to_string(inner.size()) + "\r\n",
      "Content-Length: " + std::to_string(inner.size()) + "\r\nContent-Length: 0\r\n",
      "Content-Length: +" + std::to_string(inner.size()) + "\r\n",
      "Content-Length: 0x10\r\n",
  };
  const std::string before = Snapshot();
  for (const std::string& framing : framings) {
    RawConnection c(server_.port());
    ASSERT_TRUE(c.connected());
    c.Send(Raw("POST", cancel) + framing + "\r\n" + inner);
    RawConnection::ReadResult reply = c.ReadUntilClosed(5s);
    EXPECT_EQ(StatusOf(reply.text), 400) << framing << reply.text.substr(0, 200);
    EXPECT_TRUE(reply.closed) << framing;
    // Exactly one response: the smuggled request never ran.
    EXPECT_EQ(reply.text.find("HTTP/1.1", 1), std::string::npos) << framing << reply.text;
  }
  EXPECT_EQ(Snapshot(), before);
  HttpResponse task = Call("GET", "/queue/q/" + task_id_);
  EXPECT_EQ(testing::JsonBody(task).at("state"), "pending") << task.body;
  ExpectStillServing();
}

TEST_P(AbuseTest, SlowClientsAndManyConnectionsDoNotStallOthers) {
  // Raise our own descriptor limit for the many connections below.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
  setrlimit(RLIMIT_NOFILE, &limit);

  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server_.port()));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->Send("POST /queue/q HTTP/1.1\r\nHo");
  }
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 400; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server_.port()));
    if (!idle.back()->connected()) break;
  }
  EXPECT_GE(idle.size(), 400u);
  for (int i = 0; i < 20; ++i) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(Call("GET", "/queue/q/stats").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "a slow client stalled the server";
  }
  // Slow senders are cut off after the read timeout (1.5 s).
  for (auto& c : slow) {
    c->Send("s");  // one more byte, still no whole request
    EXPECT_TRUE(c->ReadUntilClosed(6s).closed);
  }
  idle.clear();
  ExpectStillServing();
}

TEST_P(AbuseTest, InjectionPayloadsInNamesAreDataNotCode) {
  const std::vector<std::string> names = {
      "'; DROP TABLE tasks; --",
      "q\" OR \"1\"=\"1",
      "<script>alert(1)</script>",
      "../../etc/passwd",
      "%2e%2e%2f",
      "a/b",
      "x\r\nX-Injected: yes",
      "$(touch injected)",
      "%s%n%x",
      "\xe9\x98\x9f\xe5\x88\x97\xf0\x9f\x9a\x80",  // 队列🚀
      std::string(4000, 'n'),
  };
  for (const std::string& name : names) {
    SCOPED_TRACE(name.substr(0, 40));
    HttpResponse created =
        Call("POST", "/create", "{\"name\":" + Quote(name) + ",\"timeout_ms\":60000}");
    if (created.status != 201) {
      EXPECT_TRUE(IsJsonError(created));
      continue;
    }
    const std::string path = "/queue/" + PercentEncode(name);
    HttpResponse add = Call(
        "POST", path, "{\"task_name\":" + Quote(name) + ",\"info\":{\"k\":" + Quote(name) + "}}");
    ASSERT_EQ(add.status, 201) << add.body;
    for (const auto& [header, value] : add.headers) {
      EXPECT_NE(header, "X-Injected");
      EXPECT_EQ(value.find_first_of("\r\n"), std::string::npos) << header;
    }
    std::string id(testing::JsonBody(add).at("id").as_string());
    boost::json::value task = testing::JsonBody(Call("GET", path + "/" + id));
    ASSERT_TRUE(task.is_object());
    EXPECT_EQ(task.at("task_name").as_string(), name);
    EXPECT_EQ(task.at("info").at("k").as_string(), name);
    boost::json::value queues = testing::JsonBody(Call("GET", "/queues"));
    EXPECT_NE(boost::json::serialize(queues).find(Quote(name).substr(1, 20)), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists("injected"));
  // The store still works for everyone else.
  EXPECT_EQ(Call("POST", "/queue/q", R"({"task_name":"still","info":null})").status, 201);
  EXPECT_EQ(Call("GET", "/queue/q/" + task_id_).status, 200);
  ExpectStillServing();
}

TEST_P(AbuseTest, TokensAreCheckedOnEveryRoute) {
  const std::string before = Snapshot();
  for (const Route& route : AllRoutes(task_id_)) {
    SCOPED_TRACE(std::string(route.method) + " " + route.target);
    const std::string wrong = route.auth == Auth::kPeer
                                  ? std::string("Bearer ") + kClientToken  // a client's token
                                  : std::string("Bearer ") + kPeerToken + "x";
    for (const std::string& authorization :
         {std::string("none"), wrong, std::string("Basic ") + kClientToken, std::string("Bearer"),
          std::string("Bearer  ") + kClientToken}) {
      HttpResponse r = authorization == "none"
                           ? Call(route.method, route.target, "{}", Auth::kNone)
                           : Call(route.method, route.target, "{}", Auth::kNone, authorization);
      EXPECT_EQ(r.status, 401) << authorization << ": " << r.body;
      EXPECT_TRUE(IsJsonError(r)) << authorization;
      EXPECT_NE(r.Header("WWW-Authenticate"), "") << authorization;
    }
  }
  EXPECT_EQ(Snapshot(), before);
  // The scheme is case-insensitive (RFC 9110 §11.1).
  EXPECT_EQ(Call("GET", "/digest", "", Auth::kNone, std::string("bearer ") + kClientToken).status,
            200);
  EXPECT_EQ(Call("GET", "/health", "", Auth::kNone).status, 200);
  ExpectStillServing();
}

INSTANTIATE_TEST_SUITE_P(Backends, AbuseTest, ::testing::Values("RocksDb", "Postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace pigtail

// ExternalLog (attached mode's client of a Potboiler log) against a scripted
// log served by an in-process HttpServer on 127.0.0.1: the entry id from the
// body or from a redirect's Location, dependencies in the query, the bearer
// token, registration answers, and every way the log can answer wrongly.
#include "server/external_log.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "server/http_server.h"

namespace pigtail {
namespace {

const char* const kId = "6181ddc4-3c0b-4a40-b94c-f73379da886d";
const char* const kOwner = "69275a71-ec18-4be6-80a9-ac8e5d1d26b2";

std::string Entry(const std::string& id) {
  return std::string("{\"data\":{\"Delete\":\"q\"},\"id\":\"") + id +
         "\",\"next\":null,\"owner\":\"" + kOwner +
         "\",\"prev\":null,\"when\":[0,[1558805131923316000],0]}";
}

// A fake Potboiler log: POST /log and /log/register answer `post`, GET
// /log/{id} answers `get`; every request is recorded.
class FakeLog {
 public:
  FakeLog() {
    HttpServerOptions options;
    options.port = 0;
    options.threads = 1;
    auto started = HttpServer::Start(options, [this](HttpRequest req, HttpResponder respond) {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      respond(req.method == "GET" ? get_ : post_);
    });
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (started.ok()) server_ = std::move(started).value();
  }
  ~FakeLog() {
    if (server_) server_->Shutdown(std::chrono::milliseconds(100));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  void Answer(HttpResponse post, HttpResponse get) {
    std::lock_guard lock(mu_);
    post_ = std::move(post);
    get_ = std::move(get);
  }
  std::vector<HttpRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  HttpResponse post_;
  HttpResponse get_;
  std::vector<HttpRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

HttpResponse Reply(int status, std::string body, HttpHeaders headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

TEST(ExternalLogTest, WritesAndReadsTheEntryBack) {
  FakeLog log;
  log.Answer(Reply(201, std::string("{\"id\":\"") + kId + "\"}"), Reply(200, Entry(kId)));
  ExternalLogOptions options;
  options.token = "secret";
  auto external = ExternalLog::Open(log.url() + "/", options);
  ASSERT_TRUE(external.ok());
  Uuid dep = Uuid::Random();
  Result<Event> e = (*external)->Write("{\"Delete\":\"q\"}", {dep});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->id.ToString(), kId);
  EXPECT_EQ(e->owner.ToString(), kOwner);
  EXPECT_EQ(e->raw, Entry(kId));  // verbatim
  std::vector<HttpRequest> reqs = log.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/log?dependency=" + dep.ToString());
  EXPECT_EQ(reqs[0].body, "{\"Delete\":\"q\"}");
  EXPECT_EQ(reqs[0].Header("Authorization"), "Bearer secret");
  EXPECT_EQ(reqs[1].method, "GET");
  EXPECT_EQ(reqs[1].target, std::string("/log/") + kId);
}

TEST(ExternalLogTest, TakesTheIdFromARedirect) {
  FakeLog log;
  log.Answer(Reply(303, "", {{"Location", std::string("/log/") + kId}}), Reply(200, Entry(kId)));
  auto external = ExternalLog::Open(log.url(), {});
  ASSERT_TRUE(external.ok());
  Result<Event> e = (*external)->Write("1", {});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->id.ToString(), kId);
}

TEST(ExternalLogTest, WrongAnswersAreUnavailable) {
  FakeLog log;
  auto external = ExternalLog::Open(log.url(), {});
  ASSERT_TRUE(external.ok());
  struct Case {
    HttpResponse post;
    HttpResponse get;
    const char* what;
  };
  const Case cases[] = {
      {Reply(500, "boom"), Reply(200, Entry(kId)), "HTTP 500"},
      {Reply(201, "{}"), Reply(200, Entry(kId)), "without an entry id"},
      {Reply(201, "{\"id\":\"nope\"}"), Reply(200, Entry(kId)), "without an entry id"},
      {Reply(201, std::string("{\"id\":\"") + kId + "\"}"), Reply(404, "no"), "GET /log/{id}"},
      {Reply(201, std::string("{\"id\":\"") + kId + "\"}"), Reply(200, "[]"), "malformed entry"},
      {Reply(201, std::string("{\"id\":\"") + kId + "\"}"),
       Reply(200, Entry(Uuid::Random().ToString())), "served entry"},
  };
  for (const Case& c : cases) {
    log.Answer(c.post, c.get);
    Result<Event> e = (*external)->Write("1", {});
    ASSERT_FALSE(e.ok()) << c.what;
    EXPECT_EQ(e.status().code(), StatusCode::kUnavailable) << e.status().ToString();
    EXPECT_NE(e.status().message().find(c.what), std::string::npos) << e.status().ToString();
  }
}

TEST(ExternalLogTest, Registration) {
  FakeLog log;
  auto external = ExternalLog::Open(log.url(), {});
  ASSERT_TRUE(external.ok());
  log.Answer(Reply(201, "{}"), Reply(200, ""));
  EXPECT_TRUE((*external)->Register("http://127.0.0.1:9/event", std::chrono::seconds(5)).ok());
  std::vector<HttpRequest> reqs = log.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/log/register");
  EXPECT_EQ(reqs[0].body, "{\"url\":\"http://127.0.0.1:9/event\"}");
  log.Answer(Reply(204, ""), Reply(200, ""));
  EXPECT_TRUE((*external)->Register("http://127.0.0.1:9/event", std::chrono::seconds(5)).ok());
  // A 4xx fails at once; a 5xx is retried until the deadline.
  log.Answer(Reply(400, "bad url"), Reply(200, ""));
  Status s = (*external)->Register("http://x/event", std::chrono::seconds(5));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  size_t before = log.requests().size();
  log.Answer(Reply(503, "starting"), Reply(200, ""));
  s = (*external)->Register("http://x/event", std::chrono::milliseconds(400));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_GE(log.requests().size(), before + 2);
  EXPECT_FALSE(ExternalLog::Open("ftp://log", {}).ok());

  // Deregistering: 204 and 404 (was not registered) are both fine.
  log.Answer(Reply(204, ""), Reply(200, ""));
  EXPECT_TRUE((*external)->Deregister("http://x/event").ok());
  EXPECT_EQ(log.requests().back().target, "/log/deregister");
  log.Answer(Reply(404, "no"), Reply(200, ""));
  EXPECT_TRUE((*external)->Deregister("http://x/event").ok());
  log.Answer(Reply(500, "boom"), Reply(200, ""));
  EXPECT_EQ((*external)->Deregister("http://x/event").code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace pigtail

// Unit tests of the dashboard's routes (server/api_ui.cc) without sockets:
// GET /ui and /ui/{file} with their types and caching headers, GET / as a
// redirect, no token for the page while the data endpoints keep theirs.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <regex>
#include <set>

#include "core/memory_store.h"
#include "server/api.h"
#include "server/ui/embedded_files.h"
#include "tests/server/api_fixture.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

class UiTest : public testing::ApiFixture {
 protected:
  void SetUp() override { Open(); }
  // A GET with request headers.
  HttpResponse Get(std::string target, HttpHeaders headers = {}) {
    return Call("GET", std::move(target), "", std::move(headers));
  }
};

TEST_F(UiTest, UiServesTheIndexPage) {
  for (const char* target : {"/ui", "/ui/", "/ui/index.html"}) {
    HttpResponse r = Call("GET", target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8") << target;
    EXPECT_NE(r.body.find("<script src=\"/ui/app.js\""), std::string::npos) << target;
    EXPECT_EQ(r.Header("Cache-Control"), "no-cache") << target;
    EXPECT_FALSE(r.Header("ETag").empty()) << target;
    EXPECT_NE(r.Header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos)
        << target;
  }
}

TEST_F(UiTest, FilesHaveTheirContentTypes) {
  struct Case {
    const char* target;
    const char* type;
  };
  for (const Case& c : {Case{"/ui/app.js", "text/javascript; charset=utf-8"},
                        Case{"/ui/style.css", "text/css; charset=utf-8"},
                        Case{"/ui/favicon.svg", "image/svg+xml"}}) {
    HttpResponse r = Call("GET", c.target);
    ASSERT_EQ(r.status, 200) << c.target;
    EXPECT_EQ(r.Header("Content-Type"), c.type) << c.target;
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << c.target;
    EXPECT_FALSE(r.body.empty()) << c.target;
  }
  // The page is framed by nobody.
  EXPECT_NE(Call("GET", "/ui").Header("Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string_view::npos);
}

TEST_F(UiTest, EveryEmbeddedFileIsServedVerbatimWithItsOwnEtag) {
  ASSERT_GE(ui::kFileCount, 4u);
  std::set<std::string> etags;
  for (size_t i = 0; i < ui::kFileCount; ++i) {
    const ui::EmbeddedFile& file = ui::kFiles[i];
    HttpResponse r = Call("GET", std::string("/ui/") + file.name);
    ASSERT_EQ(r.status, 200) << file.name;
    EXPECT_EQ(r.body, file.bytes) << file.name;
    EXPECT_EQ(r.Header("ETag"), file.etag) << file.name;
    EXPECT_TRUE(etags.insert(file.etag).second) << "repeated ETag " << file.etag;
  }
}

// Every /ui/... file that index.html or app.js names is embedded, so a file
// left out of server/CMakeLists.txt fails here, not in a browser.
TEST_F(UiTest, FilesThePageNamesAreServed) {
  std::regex ref("/ui/([A-Za-z0-9_.-]+)");
  for (const char* page : {"/ui"}) {
    std::string body = Call("GET", page).body;
    int found = 0;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), ref);
         it != std::sregex_iterator(); ++it) {
      ++found;
      std::string target = "/ui/" + (*it)[1].str();
      EXPECT_EQ(Call("GET", target).status, 200) << page << " names " << target;
    }
    EXPECT_GT(found, 0) << page;
  }
}

TEST_F(UiTest, IfNoneMatchGivesNotModified) {
  HttpResponse first = Call("GET", "/ui/app.js");
  std::string etag(first.Header("ETag"));
  ASSERT_FALSE(etag.empty());

  HttpResponse same = Get("/ui/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(same.Header("ETag"), etag);

  EXPECT_EQ(Get("/ui/app.js", {{"if-none-match", "\"x\", W/" + etag}}).status, 304);
  EXPECT_EQ(Get("/ui/app.js", {{"If-None-Match", "*"}}).status, 304);
  HttpResponse other = Get("/ui/app.js", {{"If-None-Match", "\"something-else\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, first.body);
  // Another file's ETag does not match this one.
  std::string css_etag(Call("GET", "/ui/style.css").Header("ETag"));
  EXPECT_EQ(Get("/ui/app.js", {{"If-None-Match", css_etag}}).status, 200);
}

TEST_F(UiTest, UnknownFilesAndMethodsAreRefused) {
  for (const char* target : {"/ui/nope.js", "/ui/..%2Fapi.cc", "/ui/embed.cmake",
                             "/ui/embedded_files.h", "/ui/app.js/x"}) {
    HttpResponse r = Call("GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << target;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << target;
  }
  EXPECT_EQ(Call("POST", "/ui").status, 405);
  EXPECT_EQ(Call("DELETE", "/ui/app.js").status, 405);
  EXPECT_EQ(Call("POST", "/").status, 405);
}

TEST_F(UiTest, RootRedirectsToTheDashboard) {
  HttpResponse r = Call("GET", "/");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.Header("Location"), "/ui");
}

TEST_F(UiTest, PageNeedsNoTokenButTheDataDoes) {
  Close();
  ApiOptions options;
  options.client_token = "secret";
  options.peer_token = "peer-secret";
  Open(options);
  EXPECT_EQ(Call("GET", "/").status, 302);
  EXPECT_EQ(Call("GET", "/ui").status, 200);
  EXPECT_EQ(Call("GET", "/ui/app.js").status, 200);
  EXPECT_EQ(Call("GET", "/queues").status, 401);
  EXPECT_EQ(Call("GET", "/digest").status, 401);
  EXPECT_EQ(Get("/queues", {{"Authorization", "Bearer secret"}}).status, 200);
  EXPECT_EQ(Call("GET", "/replication").status, 401);
}

}  // namespace
}  // namespace pigtail

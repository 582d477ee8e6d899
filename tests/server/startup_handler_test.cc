#include "server/startup_handler.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace pigtail {
namespace {

HttpResponse Answer(StartupHandler& handler, const std::string& method, const std::string& target) {
  HttpResponse out{0, {}, ""};
  handler.Handle(HttpRequest{method, target, {}, ""}, [&out](HttpResponse r) { out = r; });
  return out;
}

TEST(StartupHandlerTest, WhileLoadingOnlyHealthIsOk) {
  StartupHandler handler;
  HttpResponse health = Answer(handler, "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(boost::json::parse(health.body).at("loading"), true);

  HttpResponse ready = Answer(handler, "GET", "/ready?verbose=1");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(boost::json::parse(ready.body).at("ready"), false);
  EXPECT_NE(ready.body.find("loading"), std::string::npos);
  EXPECT_EQ(ready.Header("Retry-After"), "1");

  for (const char* target : {"/queues", "/log", "/queue/q/claim", "/ui"}) {
    HttpResponse r = Answer(handler, "POST", target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(boost::json::parse(r.body).at("reason"), "loading") << r.body;
    EXPECT_EQ(r.Header("Retry-After"), "1");
  }
}

}  // namespace
}  // namespace pigtail

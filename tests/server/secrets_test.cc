// Passwords in backend URIs never leave the node: GET /health (open without
// a token) and configuration errors show them masked (core/redact.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "core/memory_store.h"
#include "server/config.h"
#include "server/server.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

constexpr char kPassword[] = "S3cretPw";

TEST(SecretsTest, HealthMasksThePasswordsOfTheBackendUris) {
  // The URIs are only reported: the stores are memory stores opened here.
  ServerOptions options;
  options.http.port = 0;
  options.log_uri = std::string("postgresql://postgres:") + kPassword + "@/pigtail?host=/run";
  options.state_uri = std::string("host=/run dbname=pigtail password=") + kPassword;
  options.log = NewMemoryEventStore();
  options.state = NewMemoryStateStore();
  options.notifier.reset();
  options.api.client_token = "t";  // /health stays open even so
  Result<std::unique_ptr<Server>> server = Server::Start(std::move(options));
  ASSERT_TRUE(server.ok()) << server.status().ToString();

  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = promise->get_future();
  (*server)->api()->Handle(HttpRequest{"GET", "/health", {}, ""},
                           [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  HttpResponse r = future.get();
  (*server)->Stop();

  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(kPassword), std::string::npos) << r.body;
  boost::json::value body = boost::json::parse(r.body);
  EXPECT_EQ(body.at("log").as_string(), "postgresql://postgres:****@/pigtail?host=/run");
  EXPECT_EQ(body.at("state").as_string(), "host=/run dbname=pigtail password=****");
}

TEST(SecretsTest, ConfigErrorsMaskPasswords) {
  bool help = false;
  Result<ServerConfig> config = ParseServerConfig(
      {"pigtaild", "--potboiler-url", std::string("https://u:") + kPassword + "@example.org"},
      [](const char*) -> const char* { return nullptr; }, &help);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message().find(kPassword), std::string::npos)
      << config.status().message();
  EXPECT_NE(config.status().message().find("https://u:****@example.org"), std::string::npos)
      << config.status().message();
}

}  // namespace
}  // namespace pigtail

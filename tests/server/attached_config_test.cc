// pigtaild's attached-mode flags (--potboiler-url, --advertise-url,
// --potboiler-token, --potboiler-wait-ms) and the /event URL it registers.
#include <gtest/gtest.h>

#include "server/config.h"

namespace pigtail {
namespace {

Result<ServerConfig> ParseArgs(std::vector<std::string> args) {
  bool help = false;
  args.insert(args.begin(), "pigtaild");
  return ParseServerConfig(
      args, [](const char*) -> const char* { return nullptr; }, &help);
}

TEST(AttachedConfigTest, FlagsAndTheRegisteredUrl) {
  Result<ServerConfig> c =
      ParseArgs({"--listen", "127.0.0.1:0", "--potboiler-url", "http://10.0.0.5:8000",
                 "--potboiler-token", "t", "--potboiler-wait-ms", "500"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->potboiler_url, "http://10.0.0.5:8000");
  EXPECT_EQ(c->potboiler_token, "t");
  EXPECT_EQ(c->potboiler_wait_ms, 500u);
  // The port actually bound replaces port 0.
  EXPECT_EQ(AttachedEventUrl(*c, 41234), "http://127.0.0.1:41234/event");

  c = ParseArgs({"--listen", "[::1]:9000", "--potboiler-url", "http://log:8000"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(AttachedEventUrl(*c, 9000), "http://[::1]:9000/event");

  c = ParseArgs({"--potboiler-url", "http://log:8000", "--advertise-url", "http://me.example:80/"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(AttachedEventUrl(*c, 8000), "http://me.example:80/event");
}

TEST(AttachedConfigTest, BadValuesNameTheFlag) {
  Result<ServerConfig> c = ParseArgs({"--potboiler-url", "https://log:8000"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--potboiler-url"), std::string::npos);
  c = ParseArgs({"--potboiler-url", "http://log:8000", "--advertise-url", "me:80"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--advertise-url"), std::string::npos);
  c = ParseArgs({"--potboiler-url", "http://log:8000", "--potboiler-wait-ms", "soon"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("potboiler-wait-ms"), std::string::npos);
}

}  // namespace
}  // namespace pigtail

#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace pigtail {
namespace {

Result<ServerConfig> Parse(std::vector<std::string> args,
                           std::map<std::string, std::string> env = {}, bool* help = nullptr) {
  bool h = false;
  args.insert(args.begin(), "pigtaild");
  return ParseServerConfig(
      args,
      [env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      help ? help : &h);
}

// Writes `text` to NAME.conf in the test's temp dir; returns its path.
std::string WriteConfig(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name + ".conf";
  std::ofstream(path) << text;
  return path;
}

TEST(ServerConfigTest, Defaults) {
  Result<ServerConfig> c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 8000);
  EXPECT_EQ(c->EffectiveLogUri(), "rocksdb:./data");
  EXPECT_EQ(c->EffectiveStateUri(), "rocksdb:./data");
  EXPECT_EQ(c->sync, "batch");
  EXPECT_EQ(c->batch_ops, "on");
  EXPECT_EQ(c->group_commit, "adaptive");
}

TEST(ServerConfigTest, GroupCommitIsAdaptiveOrOff) {
  Result<ServerConfig> c = Parse({"--group-commit", "off"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->group_commit, "off");
  Result<ServerConfig> bad = Parse({"--group-commit=on"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--group-commit must be adaptive or off, got \"on\"");
}

TEST(ServerConfigTest, BatchOpsIsOnOrOff) {
  Result<ServerConfig> c = Parse({"--batch-ops", "off"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->batch_ops, "off");
  Result<ServerConfig> bad = Parse({"--batch-ops=yes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--batch-ops must be on or off, got \"yes\"");
}

TEST(ServerConfigTest, ErrorsSayWhereWithoutDoubledSeparators) {
  std::string path = WriteConfig("pigtaild_config_errors", "threads = many\n");
  Result<ServerConfig> file = Parse({"--config", path});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(),
            "config file " + path + ": the argument ('many') for option 'threads' is invalid");
  Result<ServerConfig> env = Parse({}, {{"PIGTAIL_THREADS", "x"}});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message(),
            "PIGTAIL_THREADS: the argument ('x') for option 'threads' is invalid");
  Result<ServerConfig> flag = Parse({"--threads", "x"});
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().message(), "the argument ('x') for option '--threads' is invalid");
  std::remove(path.c_str());
}

TEST(ServerConfigTest, UrlFlagsAreCheckedLikeEveryOutgoingUrl) {
  EXPECT_TRUE(Parse({"--advertise-url", "http://node-1.example:8000"}).ok());
  for (const char* flag : {"--advertise-url", "--potboiler-url"}) {
    for (const char* bad :
         {"https://x:1", "http://x:1/a\r\nX-Injected: 1", "http://u:p@x:1", "http://x:99999"}) {
      Result<ServerConfig> c = Parse({flag, bad});
      ASSERT_FALSE(c.ok()) << flag << " " << bad;
      EXPECT_NE(c.status().message().find(flag), std::string::npos) << c.status().message();
    }
  }
}

TEST(ServerConfigTest, FileThenEnvThenFlags) {
  std::string path = WriteConfig("pigtaild_config_test",
                                 "# comment\nlisten = 127.0.0.1:7000\nthreads=3\nsync=none\n");
  Result<ServerConfig> c =
      Parse({"--config", path, "--threads=5"}, {{"PIGTAIL_LISTEN", "127.0.0.1:7100"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->port, 7100);    // env over file
  EXPECT_EQ(c->threads, 5);    // flag over file
  EXPECT_EQ(c->sync, "none");  // file over default
  std::remove(path.c_str());
}

TEST(ServerConfigTest, OverridesAndErrors) {
  Result<ServerConfig> c = Parse({"--backend", "memory:", "--state", "rocksdb:/tmp/x"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->EffectiveLogUri(), "memory:");
  EXPECT_EQ(c->EffectiveStateUri(), "rocksdb:/tmp/x");
  EXPECT_FALSE(Parse({"--listen", "nohostport"}).ok());
  EXPECT_FALSE(Parse({"--listen", "127.0.0.1:99999"}).ok());
  EXPECT_FALSE(Parse({"--sync", "sometimes"}).ok());
  EXPECT_FALSE(Parse({"--threads", "x"}).ok());
  EXPECT_FALSE(Parse({"--rocksdb-memory-mb", "4"}).ok());
  EXPECT_EQ(Parse({"--rocksdb-memory-mb", "64"})->rocksdb_memory_mb, 64u);
  EXPECT_FALSE(Parse({"--bogus", "1"}).ok());
  EXPECT_FALSE(Parse({"--listen"}).ok());
  EXPECT_FALSE(Parse({"--config", "/nonexistent/pigtail.conf"}).ok());
  bool help = false;
  EXPECT_TRUE(Parse({"--help"}, {}, &help).ok());
  EXPECT_TRUE(help);
  std::string text = ServerConfigHelp();
  for (const char* flag : {"--listen", "--backend", "--log", "--state", "--threads", "--sync",
                           "--max-clock-offset-ms", "--client-token", "--peer-token",
                           "--max-body-bytes", "PIGTAIL_LISTEN", "--config", "--batch-ops"}) {
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
  }
}

// `pigtaild --bogus` said "flag --bogus needs a value".
TEST(ServerConfigTest, UnknownFlagsAndStrayArgumentsAreNamed) {
  Result<ServerConfig> c = Parse({"--bogus"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "unrecognised option '--bogus'");
  c = Parse({"--listen", "127.0.0.1:0", "stray"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "unexpected argument \"stray\"");
  c = Parse({"--listen"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "the required argument for option '--listen' is missing");
  c = Parse({}, {{"PIGTAIL_CONFIG", "/nonexistent/pigtail.conf"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "cannot read config file /nonexistent/pigtail.conf");
}

TEST(ServerConfigTest, EachSourceOverridesTheNext) {
  std::string path = WriteConfig("pigtaild_precedence",
                                 "threads = 3\nmax-batch = 30\ndrain-ms = 300 # a comment\n");
  Result<ServerConfig> c = Parse({"--threads", "1"}, {{"PIGTAIL_CONFIG", path},
                                                      {"PIGTAIL_THREADS", "2"},
                                                      {"PIGTAIL_MAX_BATCH", "20"},
                                                      {"PIGTAIL_UNRELATED_VARIABLE", "x"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->threads, 1);                // command line over environment
  EXPECT_EQ(c->max_batch, 20u);            // environment over file
  EXPECT_EQ(c->drain_ms, 300u);            // file over default
  EXPECT_EQ(c->read_timeout_ms, 30'000u);  // default
  std::remove(path.c_str());
}

TEST(ServerConfigTest, OneHttpThreadByDefaultOnTwoCoresOrFewer) {
  const unsigned cores = std::thread::hardware_concurrency();
  EXPECT_EQ(ServerConfig().threads, cores <= 2 ? 1 : 2) << cores << " cores";
}

TEST(ServerConfigTest, HelpShowsEveryDefaultAndVersionIsAFlag) {
  std::string text = ServerConfigHelp();
  const ServerConfig defaults;
  for (const std::string& shown :
       {"--listen HOST:PORT (=" + defaults.listen + ")",
        "--threads N (=" + std::to_string(defaults.threads) + ")   [PIGTAIL_THREADS]",
        "--max-body-bytes N (=" + std::to_string(defaults.max_body_bytes) + ")",
        std::string("--version")}) {
    EXPECT_NE(text.find(shown), std::string::npos) << shown << " in\n" << text;
  }
  bool help = false;
  bool version = false;
  Result<ServerConfig> c = ParseServerConfig(
      {"pigtaild", "--backend", "memory:", "--version"},
      [](const char*) -> const char* { return nullptr; }, &help, &version);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(version);
  EXPECT_FALSE(help);
}

TEST(ServerConfigTest, ListenTakesAHostName) {
  Result<ServerConfig> c = Parse({"--listen", "localhost:8000"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "localhost");
  EXPECT_EQ(c->port, 8000);
}

}  // namespace
}  // namespace pigtail

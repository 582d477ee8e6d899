// The flags of pigtaild, pigtail-replay and pigtail-load, run as processes:
// usage errors exit 2 with a message naming the flag, --version prints the
// commit, --help shows the defaults, and the environment and a config file
// set flags.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/pigtaild_process.h"

namespace pigtail {
namespace {

using testing::ExitResult;
using testing::RunToExit;

struct Tool {
  const char* name;
  const char* path;
  std::vector<std::string> command;  // what comes before the flags
  const char* env_prefix;
  const char* shown_default;  // a line of --help
};

const std::vector<Tool>& Tools() {
  static const std::vector<Tool> tools = {
      {"pigtaild", PIGTAILD_PATH, {}, "PIGTAIL_", "--listen HOST:PORT (=127.0.0.1:8000)"},
      {"pigtail-replay", PIGTAIL_REPLAY_PATH, {"verify"}, "PIGTAIL_REPLAY_", "--batch N (=4096)"},
      {"pigtail-load", PIGTAIL_LOAD_PATH, {}, "PIGTAIL_LOAD_", "--tasks N (=20000)"},
  };
  return tools;
}

class ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::FreshTempDir("cli-tools"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ExitResult Run(const Tool& tool, std::vector<std::string> args) {
    args.insert(args.begin(), tool.command.begin(), tool.command.end());
    return RunToExit(tool.path, args, dir_, std::chrono::seconds(30));
  }

  std::string dir_;
};

// `pigtaild --bogus` said "flag --bogus needs a value"; usage errors exited
// 1 in pigtaild and pigtail-load.
TEST_F(ToolsTest, UnknownFlagsExitTwoNamingTheFlag) {
  for (const Tool& tool : Tools()) {
    ExitResult r = Run(tool, {"--bogus"});
    EXPECT_EQ(r.code, 2) << tool.name << ": " << r.err;
    EXPECT_NE(r.err.find(std::string(tool.name) + ": unrecognised option '--bogus'"),
              std::string::npos)
        << r.err;
    r = Run(tool, {"--batch"});  // a known flag of pigtail-replay and pigtail-load, no value
    EXPECT_EQ(r.code, 2) << tool.name << ": " << r.err;
  }
}

TEST_F(ToolsTest, VersionNamesTheCommit) {
  for (const Tool& tool : Tools()) {
    ExitResult r = RunToExit(tool.path, {"--version"}, dir_, std::chrono::seconds(30));
    EXPECT_EQ(r.code, 0) << tool.name << ": " << r.err;
    EXPECT_EQ(r.out.rfind(std::string(tool.name) + " ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("(commit "), std::string::npos) << r.out;
  }
}

TEST_F(ToolsTest, HelpShowsDefaultsAndEnvironmentVariables) {
  for (const Tool& tool : Tools()) {
    ExitResult r = RunToExit(tool.path, {"-h"}, dir_, std::chrono::seconds(30));
    EXPECT_EQ(r.code, 0) << tool.name << ": " << r.err;
    r = RunToExit(tool.path, {"--help"}, dir_, std::chrono::seconds(30));
    EXPECT_EQ(r.code, 0) << tool.name << ": " << r.err;
    EXPECT_NE(r.out.find(tool.shown_default), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(std::string("[") + tool.env_prefix + "CONFIG]"), std::string::npos)
        << r.out;
  }
}

// A bad value from the environment, then from a config file, is a usage
// error naming the variable or the file: both sources are read.
TEST_F(ToolsTest, EnvironmentAndConfigFileSetFlags) {
  const std::string conf = dir_ + "/tool.conf";
  std::ofstream(conf) << "# a comment\nbatch = 0\n";
  for (const Tool& tool : Tools()) {
    if (std::string(tool.name) == "pigtaild") continue;  // no --batch; below
    const std::string variable = std::string(tool.env_prefix) + "BATCH";
    ::setenv(variable.c_str(), "0", 1);
    ExitResult r = Run(tool, {});
    ::unsetenv(variable.c_str());
    EXPECT_EQ(r.code, 2) << tool.name << ": " << r.err;
    r = Run(tool, {"--config", conf});
    EXPECT_EQ(r.code, 2) << tool.name << ": " << r.err;
    // The command line wins over the file.
    r = Run(tool, {"--config", conf, "--batch", "x"});
    EXPECT_EQ(r.code, 2) << tool.name << ": " << r.err;
    EXPECT_NE(r.err.find("--batch"), std::string::npos) << tool.name << ": " << r.err;
    EXPECT_NE(r.err.find("x"), std::string::npos) << tool.name << ": " << r.err;
    EXPECT_EQ(r.err.find("\"0\""), std::string::npos) << tool.name << ": " << r.err;
    EXPECT_EQ(r.err.find("'0'"), std::string::npos) << tool.name << ": " << r.err;
  }
  ::setenv("PIGTAIL_THREADS", "0", 1);
  ExitResult r = RunToExit(PIGTAILD_PATH, {"--backend", "memory:"}, dir_, std::chrono::seconds(30));
  ::unsetenv("PIGTAIL_THREADS");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--threads must be 1 to 256"), std::string::npos) << r.err;
  std::ofstream(conf) << "threads = 0\n";
  r = RunToExit(PIGTAILD_PATH, {"--backend", "memory:", "--config", conf}, dir_,
                std::chrono::seconds(30));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--threads must be 1 to 256"), std::string::npos) << r.err;
}

// pigtail-load's duplicates phase over two peered nodes: every task added
// is done, none is claimed twice, and the line counts the tasks and the
// claims. Bad --peers
// and --add-to are usage errors.
TEST_F(ToolsTest, LoadCountsDuplicatesOverTheNodesOfACluster) {
  const Tool& load = Tools()[2];
  ExitResult r = Run(load, {"--phases", "duplicates", "--peers", "http://127.0.0.1:1,nope"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--peers"), std::string::npos) << r.err;
  r = Run(load, {"--phases", "duplicates", "--add-to", "everywhere"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--add-to must be first or spread"), std::string::npos) << r.err;

  testing::PigtaildProcess a(PIGTAILD_PATH);
  testing::PigtaildProcess b(PIGTAILD_PATH);
  ASSERT_TRUE(a.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/a"}).ok());
  ASSERT_TRUE(b.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/b"}).ok());
  ASSERT_EQ(a.Call("POST", "/nodes", "{\"url\":\"" + b.url() + "\"}").status, 201);
  ASSERT_EQ(b.Call("POST", "/nodes", "{\"url\":\"" + a.url() + "\"}").status, 201);
  r = Run(load, {"--url", a.url(), "--peers", b.url(), "--add-to", "spread", "--phases",
                 "duplicates", "--tasks", "40", "--providers", "2", "--workers", "1"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const size_t line = r.out.find("duplicates:");
  ASSERT_NE(line, std::string::npos) << r.out;
  const std::string text = r.out.substr(line, r.out.find('\n', line) - line);
  EXPECT_NE(text.find(" 40 tasks, 2 nodes x 1 workers, adds to spread"), std::string::npos) << text;
  EXPECT_NE(text.find(" 40 done in "), std::string::npos) << text;
  // Each task's home decides its claims (--claim-routing home, the default).
  EXPECT_NE(text.find("claimed more than once 0 ("), std::string::npos) << text;
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

// A server on 127.0.0.1 that answers its first `not_ready` requests with
// 503 and a loading node's body, and every later one with 200 and the body
// `{}`, one connection at a time, until it is destroyed.
class EmptyObjectServer {
 public:
  explicit EmptyObjectServer(int not_ready = 0) : not_ready_(not_ready) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        listen(listener_, 8) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~EmptyObjectServer() {
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The request lines received so far.
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      const int conn = accept(listener_, nullptr, nullptr);
      if (conn < 0) return;
      char request[4096];
      const ssize_t n = read(conn, request, sizeof(request));  // one request per connection
      bool ready = true;
      {
        std::lock_guard lock(mu_);
        const std::string text(request, n > 0 ? static_cast<size_t>(n) : 0);
        requests_.push_back(text.substr(0, text.find('\r')));
        ready = static_cast<int>(requests_.size()) > not_ready_;
      }
      const std::string loading = R"({"ready":false,"reason":"loading"})";
      const std::string reply =
          ready ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                  "Connection: close\r\n\r\n{}"
                : "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                  "Content-Length: " +
                      std::to_string(loading.size()) + "\r\nConnection: close\r\n\r\n" + loading;
      (void)!write(conn, reply.data(), reply.size());
      close(conn);
    }
  }

  const int not_ready_;
  std::mutex mu_;
  std::vector<std::string> requests_;  // guarded by mu_
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A node that answers what the API does not promise (here `{}` to /health,
// which names the stores) ends pigtail-load with a message and exit code 1;
// it aborted with an uncaught exception (exit 134).
TEST_F(ToolsTest, LoadExitsOneOnRepliesItDoesNotExpect) {
  EmptyObjectServer server;
  ExitResult r = Run(Tools()[2], {"--url", server.url(), "--tasks", "8", "--phases", "batch"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("pigtail-load: the node's reply is not what the API promises"),
            std::string::npos)
      << r.err;
}

// A node still loading its state answers 503 to everything: pigtail-load
// asks GET /ready until it answers 200, and only then starts (here to find
// `{}` where /health names the stores).
TEST_F(ToolsTest, LoadWaitsUntilTheNodeIsReady) {
  EmptyObjectServer server(/*not_ready=*/3);
  ExitResult r = Run(Tools()[2], {"--url", server.url(), "--tasks", "8", "--phases", "batch"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("pigtail-load: the node's reply is not what the API promises"),
            std::string::npos)
      << r.err;
  const std::vector<std::string> requests = server.requests();
  ASSERT_GE(requests.size(), 5u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(requests[i], "GET /ready HTTP/1.1") << i;
  EXPECT_EQ(requests[4], "GET /health HTTP/1.1");
}

}  // namespace
}  // namespace pigtail

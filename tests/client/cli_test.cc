// The `pigtail` command line (tools/pigtail.cc, client/cli_commands.h) run
// as a process against a real pigtaild on 127.0.0.1 (RocksDB in a temp dir).
// Every process started is stopped by its PID; every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/uuid.h"
#include "tests/server/pigtaild_process.h"

extern char** environ;

namespace pigtail {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::ExitResult;
using testing::PigtaildProcess;
using testing::ReadFile;

int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// A `pigtail` process in the background, its output in files; killed by its
// PID if still running at the end.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::string& dir) {
    out_ = dir + "/bg." + Uuid::Random().ToString() + ".out";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<std::string> full = args;
    full.insert(full.begin(), PIGTAIL_PATH);
    std::vector<char*> argv;
    for (std::string& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, PIGTAIL_PATH, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // SIGTERM and wait up to `limit`; the exit code, or -1 (then killed).
  int Terminate(std::chrono::milliseconds limit) {
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

  std::string output() const { return ReadFile(out_); }

 private:
  pid_t pid_ = -1;
  std::string out_;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("cli_test");
    Status s = server_.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/data"});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    server_.Stop();
    std::filesystem::remove_all(dir_);
  }

  ExitResult Pigtail(std::vector<std::string> args) {
    args.insert(args.begin(), {"--url", server_.url()});
    return testing::RunToExit(PIGTAIL_PATH, args, dir_, 60s);
  }

  std::string Add(const std::string& queue, const std::string& info) {
    ExitResult r = Pigtail({"add", queue, "--info", info});
    EXPECT_EQ(r.code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_TRUE(Uuid::Parse(id).ok()) << r.out;
    return id;
  }

  boost::json::value Task(const std::string& queue, const std::string& id) {
    return testing::JsonBody(server_.Call("GET", "/queue/" + queue + "/" + id));
  }
  std::string State(const std::string& queue, const std::string& id) {
    boost::json::value v = Task(queue, id);
    return v.is_object() ? std::string(v.at("state").as_string()) : "?";
  }

  std::string dir_;
  PigtaildProcess server_{PIGTAILD_PATH};
};

TEST_F(CliTest, EveryCommand) {
  ExitResult r = Pigtail({"create", "jobs", "--lease-ms", "30000", "--max-attempts", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Pigtail({"queues"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("QUEUE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("jobs   30000     3"), std::string::npos) << r.out;
  r = Pigtail({"--json", "queues"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).at("queues").at(0).at("name").as_string(), "jobs");

  ExitResult added = Pigtail({"add", "jobs", "--name", "first", "--info", R"({"n":1})",
                              "--priority", "7", "--delay-ms", "0"});
  ASSERT_EQ(added.code, 0) << added.err;
  const std::string id = added.out.substr(0, added.out.find('\n'));
  ASSERT_TRUE(Uuid::Parse(id).ok()) << added.out;
  const std::string second = Add("jobs", "[2]");

  r = Pigtail({"get", "jobs", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("name      first"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"(info      {"n":1})"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("priority  7"), std::string::npos) << r.out;

  r = Pigtail({"tasks", "jobs", "--state", "pending"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(id + "  pending  first"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(second), std::string::npos) << r.out;
  r = Pigtail({"tasks", "jobs", "--state", "working"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find(id), std::string::npos) << r.out;
  r = Pigtail({"--json", "tasks", "jobs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).as_object().size(), 2u) << r.out;

  r = Pigtail({"cancel", "jobs", second});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "cancelled\n");
  // A 409: the server's error, exit 1.
  r = Pigtail({"cancel", "jobs", second});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cancelled: HTTP 409"), std::string::npos) << r.err;

  r = Pigtail({"tasks", "jobs", "--state", "cancelled"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(second + "  cancelled"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(id), std::string::npos) << r.out;
  r = Pigtail({"tasks", "jobs", "--state", "finished"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("state must be one of"), std::string::npos) << r.err;

  // retry: a task whose one attempt failed is dead, then pending again.
  ASSERT_EQ(Pigtail({"create", "once", "--lease-ms", "30000", "--max-attempts", "1"}).code, 0);
  const std::string doomed = Add("once", "{}");
  const std::string worker = R"({"worker_id":"8b2f1c1e-0000-4000-8000-00000000000a"})";
  ASSERT_EQ(server_.Call("PUT", "/queue/once/" + doomed, worker).status, 200);
  const std::string fail =
      R"({"worker_id":"8b2f1c1e-0000-4000-8000-00000000000a","lease":0,"error":"boom"})";
  ASSERT_EQ(server_.Call("POST", "/queue/once/" + doomed + "/fail", fail).status, 200);
  r = Pigtail({"tasks", "once", "--state", "dead"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(doomed + "  dead"), std::string::npos) << r.out;
  r = Pigtail({"retry", "once", doomed});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "pending, round 1\n");
  EXPECT_EQ(State("once", doomed), "pending");
  r = Pigtail({"retry", "once", doomed});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not_dead"), std::string::npos) << r.err;

  // pause and resume: no claims in between.
  r = Pigtail({"pause", "once"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "paused\n");
  EXPECT_EQ(server_.Call("PUT", "/queue/once/" + doomed, worker).status, 409);
  r = Pigtail({"--json", "resume", "once"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"name\":\"once\",\"paused\":false}\n");
  EXPECT_EQ(server_.Call("PUT", "/queue/once/" + doomed, worker).status, 200);
  EXPECT_EQ(Pigtail({"pause", "nope"}).code, 1);

  r = Pigtail({"stats", "jobs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("PENDING"), std::string::npos) << r.out;
  r = Pigtail({"--json", "stats", "jobs"});
  ASSERT_EQ(r.code, 0) << r.err;
  boost::json::value stats = boost::json::parse(r.out);
  EXPECT_EQ(stats.at("pending").to_number<int>(), 1);
  EXPECT_EQ(stats.at("cancelled").to_number<int>(), 1);

  r = Pigtail({"digest"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("jobs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tasks: 3"), std::string::npos) << r.out;
  r = Pigtail({"--json", "nodes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "[]\n");
  r = Pigtail({"nodes"});
  EXPECT_EQ(r.code, 0) << r.err;

  // The log: create, two adds, a cancel.
  r = Pigtail({"tail", "--count", "4", "--poll-ms", "50"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;
  EXPECT_NE(r.out.find("Create"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Cancel"), std::string::npos) << r.out;
  r = Pigtail({"--json", "tail", "--count", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(boost::json::parse(r.out).as_object().contains("owner")) << r.out;

  // Fail-over: the first URL is a closed port; PIGTAIL_URL is not consulted
  // when --url is given.
  r = testing::RunToExit(
      PIGTAIL_PATH,
      {"--url", "http://127.0.0.1:" + std::to_string(ClosedPort()) + "," + server_.url(), "stats",
       "jobs"},
      dir_, 60s);
  EXPECT_EQ(r.code, 0) << r.err;

  // HTTP errors exit 1 with the server's error; usage errors exit 2.
  r = Pigtail({"stats", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
  r = Pigtail({"work", "nope", "--", "true"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
  r = testing::RunToExit(PIGTAIL_PATH,
                         {"--url", "http://127.0.0.1:" + std::to_string(ClosedPort()), "queues"},
                         dir_, 60s);
  EXPECT_EQ(r.code, 1);
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{},
                                             {"bogus"},
                                             {"stats"},
                                             {"stats", "a", "b"},
                                             {"queues", "--state", "x"},
                                             {"add", "jobs", "--info", "{not json"},
                                             {"add", "jobs", "--priority", "high"},
                                             {"create", "q"},
                                             {"work", "jobs"},
                                             {"work", "jobs", "--"},
                                             {"work", "jobs", "--", "no-such-program-here"},
                                             {"work", "jobs", "--", "/no/such/program"},
                                             {"stats", "jobs", "--", "x"},
                                             {"--url", "ftp://x", "queues"},
                                             {"--bogus"}}) {
    r = testing::RunToExit(PIGTAIL_PATH, bad, dir_, 60s);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(bad) << r.err;
    EXPECT_NE(r.err.find("pigtail: "), std::string::npos) << r.err;
  }
  r = testing::RunToExit(PIGTAIL_PATH, {"--version"}, dir_, 60s);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("pigtail ", 0), 0u) << r.out;
  r = testing::RunToExit(PIGTAIL_PATH, {"--help"}, dir_, 60s);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("retry QUEUE ID"), std::string::npos) << r.out;
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// The value of the row `key` of `get`'s table ("" when none; the first row
// with that key).
std::string Row(const std::string& table, const std::string& key) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + " ", 0) != 0) continue;
    size_t start = line.find_first_not_of(' ', key.size());
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// add --run-at-ms, and what `get` shows of attempts, failures, progress and
// results (the table, and --json as the server sent it).
TEST_F(CliTest, RunAtAndWhatGetShows) {
  ASSERT_EQ(Pigtail({"create", "hist", "--lease-ms", "30000", "--max-attempts", "3"}).code, 0);
  const uint64_t run_at = NowMs() + 3'600'000;
  ExitResult r = Pigtail({"add", "hist", "--name", "later", "--run-at-ms", std::to_string(run_at)});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string later = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(Task("hist", later).at("run_at_ms").to_number<uint64_t>(), run_at);
  r = Pigtail({"get", "hist", later});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Row(r.out, "run_at").rfind(std::to_string(run_at) + " (", 0), 0u) << r.out;
  EXPECT_NE(Row(r.out, "ready_at"), "") << r.out;
  EXPECT_EQ(Row(r.out, "attempts"), "0") << r.out;
  r = Pigtail({"--json", "stats", "hist"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).at("claimable").to_number<int>(), 0) << r.out;

  // One failed attempt, then a heartbeat with progress and a done with a
  // result.
  const std::string id = Add("hist", R"({"n":1})");
  const std::string w = "8b2f1c1e-0000-4000-8000-00000000000b";
  ASSERT_EQ(server_.Call("PUT", "/queue/hist/" + id, R"({"worker_id":")" + w + R"("})").status,
            200);
  ASSERT_EQ(server_
                .Call("POST", "/queue/hist/" + id + "/fail",
                      R"({"worker_id":")" + w + R"(","lease":0,"error":"disk full"})")
                .status,
            200);
  ASSERT_TRUE(Eventually([&] {
    return server_.Call("PUT", "/queue/hist/" + id, R"({"worker_id":")" + w + R"("})").status ==
           200;
  }));
  ASSERT_EQ(server_
                .Call("PUT", "/queue/hist/" + id,
                      R"({"worker_id":")" + w + R"(","lease":1,"progress":{"pct":80}})")
                .status,
            200);
  r = Pigtail({"get", "hist", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Row(r.out, "state"), "working") << r.out;
  EXPECT_EQ(Row(r.out, "attempts"), "2") << r.out;
  EXPECT_NE(Row(r.out, "expires_at"), "") << r.out;
  EXPECT_EQ(Row(r.out, "ready_at"), "") << r.out;
  EXPECT_EQ(Row(r.out, "progress"), R"({"pct":80})") << r.out;
  const std::string failure = Row(r.out, "failure");
  EXPECT_EQ(failure.rfind("round 0 attempt 1, ", 0), 0u) << r.out;
  EXPECT_NE(failure.find("Z), worker " + w + ": disk full"), std::string::npos) << r.out;
  ASSERT_EQ(server_
                .Call("DELETE", "/queue/hist/" + id,
                      R"({"worker_id":")" + w + R"(","lease":1,"result":{"rows":3}})")
                .status,
            200);
  r = Pigtail({"get", "hist", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Row(r.out, "result"), R"({"rows":3})") << r.out;
  EXPECT_EQ(Row(r.out, "state"), "done") << r.out;
  r = Pigtail({"--json", "get", "hist", id});
  ASSERT_EQ(r.code, 0) << r.err;
  boost::json::value v = boost::json::parse(r.out);
  EXPECT_EQ(boost::json::serialize(v.at("result")), R"({"rows":3})");
  EXPECT_EQ(boost::json::serialize(v.at("progress")), R"({"pct":80})");
  EXPECT_EQ(v.at("failures").as_array().size(), 1u);
  EXPECT_EQ(v.at("failures").at(0).at("error").as_string(), "disk full");
}

TEST_F(CliTest, PurgeRemovesFinishedTasksAndKeepsPendingOnes) {
  ASSERT_EQ(Pigtail({"create", "old", "--lease-ms", "30000"}).code, 0);
  std::vector<std::string> done;
  for (int i = 0; i < 3; ++i) done.push_back(Add("old", std::to_string(i)));
  const std::string cancelled = Add("old", "\"c\"");
  const std::string pending = Add("old", "\"p\"");
  const std::string w = R"({"worker_id":"8b2f1c1e-0000-4000-8000-00000000000c"})";
  for (const std::string& id : done) {
    ASSERT_EQ(server_.Call("PUT", "/queue/old/" + id, w).status, 200);
    ASSERT_EQ(server_.Call("DELETE", "/queue/old/" + id, w).status, 200);
  }
  ASSERT_EQ(Pigtail({"cancel", "old", cancelled}).code, 0);

  // Nothing finished a day ago; then the done ones only.
  ExitResult r = Pigtail({"--json", "purge", "old", "--older-than", "1d"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"purged\":0}\n");
  r = Pigtail({"purge", "old", "--state", "done"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "3 purged\n");
  for (const std::string& id : done) {
    EXPECT_EQ(server_.Call("GET", "/queue/old/" + id).status, 404) << id;
  }
  boost::json::value stats = testing::JsonBody(server_.Call("GET", "/queue/old/stats"));
  EXPECT_EQ(stats.at("done").to_number<int>(), 0);
  EXPECT_EQ(stats.at("cancelled").to_number<int>(), 1);
  EXPECT_EQ(stats.at("pending").to_number<int>(), 1);
  r = Pigtail({"tasks", "old", "--state", "all"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const std::string& id : done) EXPECT_EQ(r.out.find(id), std::string::npos) << r.out;

  // The default, "finished": the cancelled one (finished before now + 0s).
  r = Pigtail({"--json", "purge", "old", "--older-than", "0s"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"purged\":1}\n");
  EXPECT_EQ(server_.Call("GET", "/queue/old/" + cancelled).status, 404);
  EXPECT_EQ(State("old", pending), "pending");
  r = Pigtail({"purge", "old"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "0 purged\n");
  stats = testing::JsonBody(server_.Call("GET", "/queue/old/stats"));
  EXPECT_EQ(stats.at("pending").to_number<int>(), 1);
  EXPECT_EQ(stats.at("cancelled").to_number<int>(), 0);

  r = Pigtail({"purge", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"purge"},
           {"purge", "old", "extra"},
           {"purge", "old", "--state", "pending"},
           {"purge", "old", "--older-than", "5x"},
           {"purge", "old", "--older-than", "d"},
           {"purge", "old", "--older-than", "-1h"},
           {"purge", "old", "--older-than", "99999999999999999999d"},
           {"purge", "old", "--older-than"},
           {"purge", "old", "--name", "x"},
           {"add", "old", "--run-at-ms", "soon"},
           {"get", "old", pending, "--run-at-ms", "1"}}) {
    r = Pigtail(bad);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(bad) << r.err;
    EXPECT_NE(r.err.find("pigtail: "), std::string::npos) << r.err;
  }
  EXPECT_EQ(State("old", pending), "pending");
}

// The environment: PIGTAIL_URL, PIGTAIL_TOKEN, and pigtaild's own
// variables (PIGTAIL_STATE) that must not become pigtail's flags; --info -
// reads stdin.
TEST_F(CliTest, EnvironmentAndStdin) {
  const std::string pigtail = PIGTAIL_PATH;
  auto sh = [&](const std::string& script) {
    return testing::RunToExit("/bin/sh", {"-c", script}, dir_, 60s);
  };
  const std::string env = "PIGTAIL_URL=" + server_.url() + " PIGTAIL_STATE=rocksdb:/nowhere ";
  ExitResult r = sh(env + pigtail + " create envq --lease-ms 1000");
  ASSERT_EQ(r.code, 0) << r.err;
  r = sh("echo '{\"from\":\"stdin\"}' | " + env + pigtail + " add envq --info -");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string id = r.out.substr(0, r.out.find('\n'));
  boost::json::value task = Task("envq", id);
  ASSERT_TRUE(task.is_object()) << r.out;
  EXPECT_EQ(boost::json::serialize(task.at("info")), R"({"from":"stdin"})");
  // --url wins over PIGTAIL_URL.
  r = sh("PIGTAIL_URL=http://127.0.0.1:" + std::to_string(ClosedPort()) + " " + pigtail +
         " --url " + server_.url() + " stats envq");
  EXPECT_EQ(r.code, 0) << r.err;

  // With a client token on the node: PIGTAIL_TOKEN is sent, and without it
  // the server's 401 is printed.
  PigtaildProcess secured(PIGTAILD_PATH);
  ASSERT_TRUE(secured
                  .Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/secured",
                          "--client-token", "s3cret"})
                  .ok());
  r = sh(pigtail + " --url " + secured.url() + " queues");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
  r = sh("PIGTAIL_TOKEN=s3cret " + pigtail + " --url " + secured.url() + " queues");
  EXPECT_EQ(r.code, 0) << r.err;
  secured.Stop();
}

// Counts the files named "<id>.run.*" in `dir`.
int Runs(const std::string& dir, const std::string& id) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(id + ".run.", 0) == 0) ++n;
  }
  return n;
}

TEST_F(CliTest, WorkRunsLongCommandsOnceEach) {
  ASSERT_EQ(Pigtail({"create", "long", "--lease-ms", "600"}).code, 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Add("long", "{\"i\":" + std::to_string(i) + "}"));
  const std::string runs = dir_ + "/runs";
  std::filesystem::create_directories(runs);
  // Each run leaves a file of its own, copies its stdin, runs ~2 s (over
  // three leases) and prints a line.
  Background work({"--url", server_.url(), "work", "long", "--concurrency", "2", "--wait-ms", "200",
                   "--", "sh", "-c",
                   "touch \"$1/$PIGTAIL_TASK_ID.run.$$\"; cat > \"$1/$PIGTAIL_TASK_ID.info\"; "
                   "echo \"$PIGTAIL_QUEUE\" > \"$1/$PIGTAIL_TASK_ID.queue\"; sleep 2; "
                   "echo finished-$PIGTAIL_TASK_ID",
                   "sh", runs},
                  dir_);
  bool done = Eventually(
      [&] {
        for (const std::string& id : ids) {
          if (State("long", id) != "done") return false;
        }
        return true;
      },
      40s);
  EXPECT_EQ(work.Terminate(20s), 0) << work.output();
  EXPECT_TRUE(done) << work.output();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Runs(runs, ids[i]), 1) << ids[i];
    EXPECT_EQ(ReadFile(runs + "/" + ids[i] + ".info"), "{\"i\":" + std::to_string(i) + "}");
    EXPECT_EQ(ReadFile(runs + "/" + ids[i] + ".queue"), "long\n");
    EXPECT_NE(work.output().find("finished-" + ids[i]), std::string::npos) << work.output();
  }
}

TEST_F(CliTest, WorkFailsATaskWithTheEndOfStderr) {
  ASSERT_EQ(Pigtail({"create", "failing", "--lease-ms", "30000", "--max-attempts", "1"}).code, 0);
  const std::string id = Add("failing", "null");
  Background work({"--url", server_.url(), "work", "failing", "--wait-ms", "200", "--", "sh", "-c",
                   "echo some output; echo first line >&2; echo it went wrong >&2; exit 3"},
                  dir_);
  EXPECT_TRUE(Eventually([&] { return State("failing", id) == "dead"; }, 20s)) << work.output();
  EXPECT_EQ(work.Terminate(20s), 0) << work.output();
  boost::json::value task = Task("failing", id);
  ASSERT_TRUE(task.is_object());
  EXPECT_EQ(task.at("error").as_string(), "first line it went wrong");
  EXPECT_NE(work.output().find("exit 3"), std::string::npos) << work.output();
}

// On exit 0 the command's stdout is the task's result: a JSON string of
// its first 60000 bytes (never splitting a character), without the final
// newline.
TEST_F(CliTest, WorkStoresStdoutAsTheResult) {
  ASSERT_EQ(Pigtail({"create", "out", "--lease-ms", "30000"}).code, 0);
  const std::string quoted = Add("out", "1");
  const std::string large = Add("out", "2");
  const std::string split = Add("out", "3");
  const std::string empty = Add("out", "4");
  Background work({"--url", server_.url(), "work", "out", "--wait-ms", "200", "--", "sh", "-c",
                   "read -r m; case \"$m\" in "
                   "1) printf 'hello \"world\"\\n\\n';; "
                   "2) head -c 70000 /dev/zero | tr '\\0' a;; "
                   "3) head -c 59999 /dev/zero | tr '\\0' a; printf '\\303\\251zzz';; "
                   "esac"},
                  dir_);
  bool finished = Eventually(
      [&] {
        for (const std::string& id : {quoted, large, split, empty}) {
          if (State("out", id) != "done") return false;
        }
        return true;
      },
      30s);
  EXPECT_EQ(work.Terminate(20s), 0) << work.output();
  ASSERT_TRUE(finished) << work.output();
  EXPECT_EQ(Task("out", quoted).at("result").as_string(), "hello \"world\"\n");
  EXPECT_EQ(Task("out", large).at("result").as_string(), std::string(60'000, 'a'));
  EXPECT_EQ(Task("out", split).at("result").as_string(), std::string(59'999, 'a'));
  EXPECT_EQ(Task("out", empty).at("result").as_string(), "");
}

TEST_F(CliTest, SigtermMidTaskLosesNothing) {
  ASSERT_EQ(Pigtail({"create", "stopping", "--lease-ms", "600"}).code, 0);
  const std::string id = Add("stopping", "null");
  const std::string marks = dir_ + "/marks";
  std::filesystem::create_directories(marks);
  {
    Background work({"--url", server_.url(), "work", "stopping", "--grace-ms", "300", "--wait-ms",
                     "200", "--", "sh", "-c", "touch \"$1/started\"; sleep 60", "sh", marks},
                    dir_);
    ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(marks + "/started"); }, 20s))
        << work.output();
    // Past a lease or two: the heartbeats hold it.
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(State("stopping", id), "working");
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(work.Terminate(20s), 0) << work.output();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // the sleep was stopped
    EXPECT_NE(work.output().find("failed back"), std::string::npos) << work.output();
  }
  boost::json::value task = Task("stopping", id);
  ASSERT_TRUE(task.is_object());
  EXPECT_EQ(task.at("state").as_string(), "pending");
  EXPECT_EQ(task.at("error").as_string(), "worker stopped");

  Background again({"--url", server_.url(), "work", "stopping", "--wait-ms", "200", "--", "true"},
                   dir_);
  EXPECT_TRUE(Eventually([&] { return State("stopping", id) == "done"; }, 20s)) << again.output();
  EXPECT_EQ(again.Terminate(20s), 0) << again.output();
}

}  // namespace
}  // namespace pigtail

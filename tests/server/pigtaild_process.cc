#include "tests/server/pigtaild_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/uuid.h"
#include "server/http_client.h"

extern char** environ;

namespace pigtail::testing {

Status PigtaildProcess::Start(const std::vector<std::string>& args,
                              std::chrono::milliseconds limit) {
  if (running()) return Status::FailedPrecondition("already running");
  int fds[2];
  if (pipe(fds) != 0) return Status::IOError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  if (!stderr_path_.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  std::vector<std::string> full = args;
  full.insert(full.begin(), binary_);
  std::vector<char*> argv;
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&pid_, binary_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    pid_ = -1;
    return Status::IOError("cannot start " + binary_);
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  static constexpr std::string_view kPrefix = "listening on http://127.0.0.1:";
  size_t at = out.find(kPrefix);
  if (at == std::string::npos) {
    Kill();
    return Status::FailedPrecondition("no listening line from " + binary_ + ", got: " + out);
  }
  port_ = std::stoi(out.substr(at + kPrefix.size()));
  line_ = out;
  return Status::Ok();
}

int PigtaildProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return -1;
}

void PigtaildProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

HttpResponse PigtaildProcess::Call(const std::string& method, const std::string& target,
                                   const std::string& body) const {
  Result<HttpResponse> r =
      SendHttpRequest(method, url() + target, body, {}, std::chrono::seconds(10));
  if (!r.ok()) return HttpResponse{0, {}, r.status().ToString()};
  return *r;
}

ExitResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& dir, std::chrono::milliseconds limit) {
  static std::atomic<int> counter{0};
  const std::string tag = std::to_string(counter++);
  const std::string out_path = dir + "/run." + tag + ".out";
  const std::string err_path = dir + "/run." + tag + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> full = args;
  full.insert(full.begin(), binary);
  std::vector<char*> argv;
  for (std::string& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ExitResult result;
  if (rc != 0) {
    result.err = "cannot start " + binary;
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else {
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

boost::json::value JsonBody(const HttpResponse& response) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(response.body, ec);
  return ec ? boost::json::value() : v;
}

size_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

// The directories FreshTempDir made, removed when the test binary exits,
// unless a test failed (then they stay to be looked at).
class MadeDirs {
 public:
  ~MadeDirs() {
    if (::testing::UnitTest::GetInstance()->Failed()) return;
    for (const std::string& dir : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
  void Add(const std::string& dir) {
    std::lock_guard lock(mu_);
    dirs_.push_back(dir);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

MadeDirs& Made() {
  static MadeDirs dirs;
  return dirs;
}

}  // namespace

std::string FreshTempDir(const std::string& prefix) {
  std::string dir = ::testing::TempDir() + "/" + prefix + "_" + Uuid::Random().ToString();
  std::filesystem::create_directories(dir);
  Made().Add(dir);
  return dir;
}

}  // namespace pigtail::testing

#include "tests/cluster/node_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pigtail::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Status NodeProcess::Start(std::chrono::milliseconds limit) {
  if (pid_ > 0) return Status::FailedPrecondition("already running");
  log_offset_ = ReadFile(log_path_).size();
  int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return Status::IOError("cannot open " + log_path_);
  std::vector<std::string> argv;
  if (!netns_.empty()) argv = {"ip", "netns", "exec", netns_};
  argv.push_back(binary_);
  argv.insert(argv.end(), args_.begin(), args_.end());
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawnp(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fd);
  if (rc != 0) {
    pid_ = -1;
    return Status::FailedPrecondition("cannot start " + argv[0]);
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = ReadFile(log_path_);
    if (log.size() > log_offset_ && log.find("listening on", log_offset_) != std::string::npos) {
      return Status::Ok();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::FailedPrecondition("pigtaild exited at start: " + LogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return Status::FailedPrecondition("pigtaild did not come up: " + LogTail());
}

int NodeProcess::Stop(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return -1;
}

void NodeProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string NodeProcess::LogTail(size_t bytes) const {
  std::string log = ReadFile(log_path_);
  return log.size() > bytes ? log.substr(log.size() - bytes) : log;
}

}  // namespace pigtail::testing

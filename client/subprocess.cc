#include "client/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

extern char** environ;

namespace pigtail::client {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptors it holds on destruction.
struct Fds {
  int fd[6] = {-1, -1, -1, -1, -1, -1};
  ~Fds() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  void Close(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

std::vector<std::string> Environment(const SubprocessOptions& o) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : o.env) vars[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

Result<SubprocessResult> RunSubprocess(const SubprocessOptions& o, const StopToken& stop) {
  if (o.argv.empty()) return Status::InvalidArgument("no command");
  Fds fds;  // 0,1: stdin r/w; 2,3: stdout r/w; 4,5: stderr r/w
  for (int i = 0; i < 3; ++i) {
    if (pipe2(&fds.fd[2 * i], O_CLOEXEC) != 0) {
      return Status::IOError(std::string("pipe: ") + std::strerror(errno));
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds.fd[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds.fd[3], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds.fd[5], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<std::string> args = o.argv;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = Environment(o);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0].c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  SubprocessResult result;
  if (rc != 0) {
    result.exit_code = 127;
    result.err_tail = "cannot run " + args[0] + ": " + std::strerror(rc);
    return result;
  }
  fds.Close(0);
  fds.Close(3);
  fds.Close(5);
  fcntl(fds.fd[1], F_SETFL, O_NONBLOCK);
  fcntl(fds.fd[2], F_SETFL, O_NONBLOCK);
  fcntl(fds.fd[4], F_SETFL, O_NONBLOCK);

  size_t written = 0;
  if (o.input.empty()) fds.Close(1);
  std::string err;
  auto read_into = [&](int index, bool is_out) {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fds.fd[index], buf, sizeof buf);
      if (n > 0) {
        if (is_out) {
          size_t room = o.max_stdout - std::min(o.max_stdout, result.out.size());
          size_t take = std::min(room, static_cast<size_t>(n));
          result.out.append(buf, take);
          if (take < static_cast<size_t>(n)) result.out_truncated = true;
        } else {
          err.append(buf, static_cast<size_t>(n));
          if (err.size() > 2 * o.max_stderr_tail) err.erase(0, err.size() - o.max_stderr_tail);
        }
        continue;
      }
      if (n == 0) fds.Close(index);  // EOF
      return;                        // EAGAIN or an error: later
    }
  };

  int status = 0;
  bool reaped = false;
  Clock::time_point term_at{};
  bool killed = false;
  while (!reaped) {
    pollfd p[3];
    nfds_t n = 0;
    if (fds.fd[1] >= 0) p[n++] = {fds.fd[1], POLLOUT, 0};
    if (fds.fd[2] >= 0) p[n++] = {fds.fd[2], POLLIN, 0};
    if (fds.fd[4] >= 0) p[n++] = {fds.fd[4], POLLIN, 0};
    if (n > 0) {
      poll(p, n, 50);
    } else {
      usleep(20'000);
    }
    if (fds.fd[1] >= 0) {
      ssize_t w = write(fds.fd[1], o.input.data() + written, o.input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (written == o.input.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) fds.Close(1);
    }
    if (fds.fd[2] >= 0) read_into(2, true);
    if (fds.fd[4] >= 0) read_into(4, false);
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      reaped = true;
      break;
    }
    if (stop.stop_requested()) {
      if (!result.stopped) {
        result.stopped = true;
        term_at = Clock::now();
        kill(-pid, SIGTERM);
      } else if (!killed && Clock::now() - term_at >= o.kill_after) {
        killed = true;
        kill(-pid, SIGKILL);
      }
    }
  }
  // What the command wrote before exiting (descendants that keep the pipes
  // open are not waited for).
  if (fds.fd[2] >= 0) read_into(2, true);
  if (fds.fd[4] >= 0) read_into(4, false);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  if (err.size() > o.max_stderr_tail) err.erase(0, err.size() - o.max_stderr_tail);
  result.err_tail = std::move(err);
  return result;
}

}  // namespace pigtail::client

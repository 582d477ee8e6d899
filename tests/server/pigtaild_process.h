// For tests: a real pigtaild process on 127.0.0.1, started with
// posix_spawn, found by the "listening on http://127.0.0.1:PORT" line it
// prints, and stopped by its PID (never by name). Every wait is bounded.
//
// Thread safety: Call() may be used from several threads; Start/Stop/Kill
// from one.
#ifndef PIGTAIL_TESTS_SERVER_PIGTAILD_PROCESS_H_
#define PIGTAIL_TESTS_SERVER_PIGTAILD_PROCESS_H_

#include <sys/types.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/http_message.h"

namespace pigtail::testing {

class PigtaildProcess {
 public:
  explicit PigtaildProcess(std::string binary) : binary_(std::move(binary)) {}
  ~PigtaildProcess() { Kill(); }
  PigtaildProcess(const PigtaildProcess&) = delete;
  PigtaildProcess& operator=(const PigtaildProcess&) = delete;

  // Starts the binary with `args` and waits up to `limit` for its listening
  // line. FailedPrecondition (with what it printed) if none came; the
  // process is then killed.
  Status Start(const std::vector<std::string>& args,
               std::chrono::milliseconds limit = std::chrono::seconds(60));

  // SIGTERM, then waits up to 20 s; returns the exit code, or -1 if it had
  // to be killed or died by a signal.
  int Stop();
  // SIGKILL and reap. Nothing when not running.
  void Kill();

  // Later starts send the process's stderr (its log) to `path`, appended
  // (empty: inherited, the default).
  void set_stderr_path(std::string path) { stderr_path_ = std::move(path); }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The listening line.
  const std::string& line() const { return line_; }

  // One request with a 10 s timeout; a transport error becomes status 0
  // with the error text as the body.
  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "") const;

 private:
  const std::string binary_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string line_;
  std::string stderr_path_;
};

// Runs `binary` with `args` to completion (stdout and stderr captured in
// files under `dir`). If it has not exited after `limit` it is killed by its
// PID and `code` is -1; a death by signal is 128 + the signal.
struct ExitResult {
  int code = -1;
  std::string out;
  std::string err;
};
ExitResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& dir,
                     std::chrono::milliseconds limit = std::chrono::seconds(120));

// The body parsed as JSON; null when it is not JSON.
boost::json::value JsonBody(const HttpResponse& response);

// Polls `condition` every 20 ms until it holds or `limit` passes; returns
// whether it held.
template <typename F>
bool Eventually(F&& condition, std::chrono::milliseconds limit = std::chrono::seconds(20));

// The resident memory of a process, in bytes (0 if unknown).
size_t ResidentBytes(pid_t pid);

// A fresh directory under the test temp dir, removed when the test binary
// exits unless a test failed.
std::string FreshTempDir(const std::string& prefix);

// A file's whole contents ("" when it cannot be read).
std::string ReadFile(const std::string& path);

}  // namespace pigtail::testing

#include <thread>

template <typename F>
bool pigtail::testing::Eventually(F&& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

#endif  // PIGTAIL_TESTS_SERVER_PIGTAILD_PROCESS_H_

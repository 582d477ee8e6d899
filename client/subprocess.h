// Runs one command for `pigtail work`: posix_spawnp (no shell), the input
// written to its stdin, its stdout and stderr captured (bounded), and a
// StopToken that sends it SIGTERM.
#ifndef PIGTAIL_CLIENT_SUBPROCESS_H_
#define PIGTAIL_CLIENT_SUBPROCESS_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "client/worker.h"
#include "core/status.h"

namespace pigtail::client {

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  // Added to (or replacing in) the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string input;                  // written to stdin, then stdin is closed
  size_t max_stdout = 64 * 1024;      // the first bytes are kept
  size_t max_stderr_tail = 4 * 1024;  // the last bytes are kept
  // After SIGTERM, how long before SIGKILL.
  std::chrono::milliseconds kill_after{10'000};
};

struct SubprocessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool stopped = false;  // the StopToken was set and the command was sent SIGTERM
  std::string out;       // stdout, at most max_stdout bytes
  bool out_truncated = false;
  std::string err_tail;  // the end of stderr, at most max_stderr_tail bytes
};

// Spawns the command in a process group of its own (so a terminal's ^C
// reaches only pigtail, which decides when the command stops), with default
// signal dispositions and an empty signal mask. Once `stop` is set, the
// group gets SIGTERM, and SIGKILL after kill_after. Returns when the command
// has exited and been reaped. IOError when it cannot be started (a missing
// program is exit code 127, as from a shell).
// REQUIRES: SIGPIPE is ignored in the process (a command may exit without
// reading its input).
Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options, const StopToken& stop);

}  // namespace pigtail::client

#endif  // PIGTAIL_CLIENT_SUBPROCESS_H_

// For the partition harness: a real pigtaild process running inside a
// network namespace (`ip netns exec NS pigtaild ...`, which execs, so the
// PID is pigtaild's). Output goes to a log file; started means the log
// shows the "listening on" line. Stopped by its PID only. Every wait is
// bounded.
//
// Thread safety: none; use from the test's main thread.
#ifndef PIGTAIL_TESTS_CLUSTER_NODE_PROCESS_H_
#define PIGTAIL_TESTS_CLUSTER_NODE_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"

namespace pigtail::testing {

class NodeProcess {
 public:
  // `netns` empty: run in the current namespace.
  NodeProcess(std::string binary, std::string netns, std::vector<std::string> args,
              std::string log_path)
      : binary_(std::move(binary)),
        netns_(std::move(netns)),
        args_(std::move(args)),
        log_path_(std::move(log_path)) {}
  ~NodeProcess() { Kill(); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts (again) with the same arguments; FailedPrecondition with the
  // log's tail when it did not come up within `limit`.
  Status Start(std::chrono::milliseconds limit = std::chrono::seconds(30));
  // SIGTERM and wait up to `limit`; then SIGKILL. The exit code, or -1.
  int Stop(std::chrono::milliseconds limit = std::chrono::seconds(20));
  // SIGKILL and reap.
  void Kill();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The last `bytes` of the log.
  std::string LogTail(size_t bytes = 2000) const;

 private:
  const std::string binary_;
  const std::string netns_;
  const std::vector<std::string> args_;
  const std::string log_path_;
  pid_t pid_ = -1;
  size_t log_offset_ = 0;  // where this start's output begins
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CLUSTER_NODE_PROCESS_H_

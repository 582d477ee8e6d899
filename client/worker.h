// Worker: claims tasks of one queue and runs a handler on each, on N
// threads, keeping every lease it holds alive.
//
// Semantics (docs/client.md):
//  * Each of the `concurrency` threads long-polls a claim of one task, runs
//    the handler, and reports the outcome with a fenced done or fail (the
//    lease it was given), so a worker that lost its lease cannot finish a
//    task that someone else now holds.
//  * One heartbeat thread renews every held lease each
//    `heartbeat_fraction * lease_ms` (the server's lease_ms of that task).
//    When a heartbeat answers that the task was cancelled, is done
//    elsewhere, is dead, or that the lease is lost, the task's StopToken is
//    set with that reason and the task is not reported (no done, no fail)
//    whatever the handler returns.
//  * Progress: a handler that takes a TaskContext may call SetProgress; the
//    last value set goes out with the task's next heartbeat (not sooner,
//    and a value set after the last heartbeat before the done is not sent).
//  * Result: a handler returns TaskOutcome::Done(result_json) to store a
//    result with the done (GET /queue/{name}/{id} shows it). A result that is
//    not JSON or too large (kMaxResultBytes) fails the task with that error;
//    a server without results (400 "unknown field") gets a plain done.
//  * Run() blocks until Stop(). Stop() makes the threads stop claiming; Run()
//    then waits up to `grace` for the running handlers, fails the tasks whose
//    handlers are still running with the error "worker stopped" (so they are
//    retried; nothing is lost), sets their StopTokens, and returns once every
//    handler has returned. A task claimed while stopping is failed back at
//    once.
//
// Signals: Stop() locks a mutex, so it must not be called from a signal
// handler. Block SIGTERM and SIGINT in every thread before the Worker starts
// (pthread_sigmask in main) and call Stop() from a thread that waits for them
// with sigwait(); tools/pigtail.cc (`pigtail work`) does exactly that.
//
// Thread-safe: Stop() and stats() from any thread; Run() once.
#ifndef PIGTAIL_CLIENT_WORKER_H_
#define PIGTAIL_CLIENT_WORKER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "client/client.h"
#include "core/status.h"

namespace pigtail::client {

// Tells a handler to give up its task. Copies share one state.
class StopToken {
 public:
  StopToken();

  bool stop_requested() const;
  // Why: a 409 reason ("cancelled", "lease_lost", ...) or "worker stopped".
  std::string reason() const;
  // Waits up to `timeout`; true when stop was requested.
  bool WaitFor(std::chrono::milliseconds timeout) const;

  // Sets the token (the first reason wins). For the Worker, and for tests.
  void RequestStop(const std::string& reason) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// What a handler gets with its task: its StopToken, and a way to report
// progress. Copies share one state.
class TaskContext {
 public:
  TaskContext();

  const StopToken& stop() const { return stop_; }

  // Sends `progress_json` (one JSON value, at most kMaxProgressBytes as
  // compact JSON) with the task's next heartbeat, which comes every
  // heartbeat_fraction * lease_ms; a later call replaces a value not sent
  // yet. InvalidArgument, and nothing kept, when it is not JSON or too large.
  Status SetProgress(std::string_view progress_json) const;

  // The progress set and not sent yet (clearing it). For the Worker.
  std::optional<std::string> TakeProgress() const;
  // Puts back a progress whose heartbeat did not go through, unless a newer
  // one was set meanwhile. For the Worker.
  void RestoreProgress(std::string progress_json) const;

 private:
  struct State;
  StopToken stop_;
  std::shared_ptr<State> state_;
};

// What a handler returns: done (with a result, JSON text, when set), or
// fail with an error (retried per the queue's max_attempts and backoff_ms).
struct TaskOutcome {
  bool ok = true;
  std::string error;
  std::optional<std::string> result_json;

  static TaskOutcome Done() { return {}; }
  static TaskOutcome Done(std::string result_json) {
    return {true, "", std::optional<std::string>(std::move(result_json))};
  }
  static TaskOutcome Fail(std::string error) { return {false, std::move(error), std::nullopt}; }
};

using TaskHandler = std::function<TaskOutcome(const Claimed&, const StopToken&)>;
// A handler that also reports progress (TaskContext::SetProgress).
using ContextTaskHandler = std::function<TaskOutcome(const Claimed&, TaskContext&)>;

struct WorkerOptions {
  std::string queue;
  int concurrency = 1;
  // Empty: a random UUID.
  std::string worker_id;
  // A lease is renewed after this part of its lease_ms (0 < f < 1).
  double heartbeat_fraction = 1.0 / 3;
  // How long one claim waits for work (the server allows up to 60 s).
  std::chrono::milliseconds claim_wait{5'000};
  // After Stop(), how long running handlers may still finish.
  std::chrono::milliseconds grace{10'000};
  // Receives one line per event (claimed, done, failed, lost, errors).
  // Called from the worker's threads; null: quiet.
  std::function<void(const std::string&)> log;
};

struct WorkerStats {
  uint64_t claimed = 0;
  uint64_t done = 0;
  uint64_t failed = 0;          // handler failures reported
  uint64_t lost = 0;            // stopped by a heartbeat's answer, not reported
  uint64_t failed_on_stop = 0;  // failed back by Stop()
};

class Worker {
 public:
  // `client` must outlive the Worker.
  Worker(Client* client, WorkerOptions options, TaskHandler handler);
  Worker(Client* client, WorkerOptions options, ContextTaskHandler handler);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  const std::string& worker_id() const { return options_.worker_id; }

  // Runs until Stop() (see above). InvalidArgument for bad options.
  Status Run();
  // Non-blocking; may be called before Run() (then Run() returns at once).
  void Stop();

  WorkerStats stats() const;

 private:
  struct Held;
  void ClaimLoop();
  void HeartbeatLoop();
  // `claim_sent`: when the claim that returned `task` was sent.
  void RunTask(const Claimed& task, std::chrono::steady_clock::time_point claim_sent);
  void FailBack(Held& held, const std::string& error);
  void Log(const std::string& line) const;

  Client* const client_;
  WorkerOptions options_;
  const ContextTaskHandler handler_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                              // guarded by mu_
  bool handlers_done_ = false;                         // guarded by mu_: heartbeats may end
  std::map<std::string, std::shared_ptr<Held>> held_;  // guarded by mu_
  WorkerStats stats_;                                  // guarded by mu_
};

}  // namespace pigtail::client

#endif  // PIGTAIL_CLIENT_WORKER_H_

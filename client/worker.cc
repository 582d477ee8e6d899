#include "client/worker.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "core/uuid.h"

namespace pigtail::client {

using Clock = std::chrono::steady_clock;

namespace {

// The fraction of a lease after which it is renewed; at least 1 ms.
std::chrono::milliseconds HeartbeatPeriod(uint64_t lease_ms, double fraction) {
  auto ms = static_cast<int64_t>(static_cast<double>(lease_ms) * fraction);
  return std::chrono::milliseconds(std::max<int64_t>(ms, 1));
}

}  // namespace

struct StopToken::State {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool stopped = false;  // guarded by mu
  std::string reason;    // guarded by mu
};

StopToken::StopToken() : state_(std::make_shared<State>()) {}

bool StopToken::stop_requested() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->stopped;
}

std::string StopToken::reason() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->reason;
}

bool StopToken::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->stopped; });
}

void StopToken::RequestStop(const std::string& reason) const {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stopped) return;
    state_->stopped = true;
    state_->reason = reason;
  }
  state_->cv.notify_all();
}

struct TaskContext::State {
  mutable std::mutex mu;
  std::optional<std::string> progress;  // guarded by mu: set, not sent yet
  uint64_t generation = 0;              // guarded by mu: SetProgress calls
  uint64_t taken = 0;                   // guarded by mu: generation when taken
};

TaskContext::TaskContext() : state_(std::make_shared<State>()) {}

Status TaskContext::SetProgress(std::string_view progress_json) const {
  PIGTAIL_ASSIGN_OR_RETURN(std::string compact,
                           CompactJson("progress", progress_json, kMaxProgressBytes));
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->progress = std::move(compact);
  ++state_->generation;
  return Status::Ok();
}

std::optional<std::string> TaskContext::TakeProgress() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::optional<std::string> out = std::move(state_->progress);
  state_->progress.reset();
  state_->taken = state_->generation;
  return out;
}

void TaskContext::RestoreProgress(std::string progress_json) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->generation == state_->taken) state_->progress = std::move(progress_json);
}

// A task this worker holds, from its claim until it is reported (or lost).
struct Worker::Held {
  Claimed task;
  TaskContext context;
  StopToken token = context.stop();  // the context's
  Clock::time_point next_heartbeat;  // guarded by Worker::mu_
  bool reported = false;             // guarded by Worker::mu_: done or fail sent (or lost)
};

Worker::Worker(Client* client, WorkerOptions options, ContextTaskHandler handler)
    : client_(client), options_(std::move(options)), handler_(std::move(handler)) {
  if (options_.worker_id.empty()) options_.worker_id = Uuid::Random().ToString();
}

Worker::Worker(Client* client, WorkerOptions options, TaskHandler handler)
    : Worker(client, std::move(options),
             ContextTaskHandler(
                 [handler = std::move(handler)](const Claimed& task, TaskContext& context) {
                   return handler(task, context.stop());
                 })) {}

Worker::~Worker() = default;

void Worker::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Worker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

WorkerStats Worker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status Worker::Run() {
  if (options_.queue.empty()) return Status::InvalidArgument("worker: no queue");
  if (options_.concurrency < 1) return Status::InvalidArgument("worker: concurrency must be >= 1");
  if (!(options_.heartbeat_fraction > 0 && options_.heartbeat_fraction < 1)) {
    return Status::InvalidArgument("worker: heartbeat fraction must be in (0, 1)");
  }
  if (options_.claim_wait.count() < 0 || options_.claim_wait.count() > 60'000) {
    return Status::InvalidArgument("worker: claim wait must be 0 to 60000 ms");
  }
  if (!Uuid::Parse(options_.worker_id).ok()) {
    return Status::InvalidArgument("worker: worker_id must be a UUID");
  }
  Log("worker " + options_.worker_id + " on queue " + options_.queue + ", " +
      std::to_string(options_.concurrency) + " thread(s)");
  std::thread heartbeats([this] { HeartbeatLoop(); });
  std::vector<std::thread> claimers;
  for (int i = 0; i < options_.concurrency; ++i) claimers.emplace_back([this] { ClaimLoop(); });

  std::vector<std::shared_ptr<Held>> left;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stopping_; });
  }
  Log("stopping: waiting up to " + std::to_string(options_.grace.count()) +
      " ms for running tasks");
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.grace, [&] { return held_.empty(); });
    for (auto& [id, held] : held_) {
      if (!held->reported) left.push_back(held);
    }
  }
  for (const std::shared_ptr<Held>& held : left) FailBack(*held, "worker stopped");
  for (std::thread& t : claimers) t.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_done_ = true;
  }
  cv_.notify_all();
  heartbeats.join();
  Log("worker stopped");
  return Status::Ok();
}

// Sends the fail of a task still held (unless reported already) and sets
// its token.
void Worker::FailBack(Held& held, const std::string& error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (held.reported || held.token.stop_requested()) return;
    held.reported = true;
    ++stats_.failed_on_stop;
  }
  held.token.RequestStop(error);
  Result<FailResult> r =
      client_->Fail(options_.queue, held.task.id, options_.worker_id, held.task.lease, error);
  if (r.ok()) {
    Log("task " + held.task.id + " failed back (" + error + "): " + r->state);
  } else {
    Log("task " + held.task.id + " fail back: " + r.status().ToString());
  }
}

void Worker::ClaimLoop() {
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const Clock::time_point sent = Clock::now();
    Result<std::vector<Claimed>> r =
        client_->Claim(options_.queue, options_.worker_id, 1, options_.claim_wait);
    if (!r.ok()) {
      Log("claim: " + r.status().ToString());
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2'000));
      continue;
    }
    backoff = std::chrono::milliseconds(50);
    for (const Claimed& task : *r) RunTask(task, sent);
  }
}

void Worker::RunTask(const Claimed& task, Clock::time_point claim_sent) {
  auto held = std::make_shared<Held>();
  held->task = task;
  const auto period = HeartbeatPeriod(task.lease_ms, options_.heartbeat_fraction);
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.claimed;
    // The lease started after the claim was sent, however long the reply
    // took (a slow commit, a long poll): count the period from the sending,
    // so a slow reply brings the heartbeat forward instead of late.
    held->next_heartbeat = claim_sent + period;
    held_[task.id] = held;
    stopping = stopping_;
  }
  cv_.notify_all();  // the heartbeat thread sees the new lease
  Log("task " + task.id + " claimed (attempt " + std::to_string(task.attempt) + ", lease " +
      std::to_string(task.lease) + ")");

  if (stopping) {
    FailBack(*held, "worker stopped");
  } else {
    TaskOutcome outcome;
    try {
      outcome = handler_(held->task, held->context);
    } catch (const std::exception& e) {
      outcome = TaskOutcome::Fail(std::string("handler threw: ") + e.what());
    }
    bool report = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!held->reported) {
        held->reported = true;
        if (held->token.stop_requested()) {
          ++stats_.lost;
        } else {
          report = true;
        }
      }
    }
    if (!report && held->token.stop_requested() && held->token.reason() != "worker stopped") {
      Log("task " + task.id + " not reported: " + held->token.reason());
    }
    std::optional<Result<DoneResult>> done;
    if (report && outcome.ok) {
      done = client_->Done(options_.queue, task.id, options_.worker_id, task.lease,
                           outcome.result_json);
      if (!done->ok() && outcome.result_json &&
          done->status().code() == StatusCode::kInvalidArgument) {
        if (done->status().message().find("unknown field") != std::string::npos) {
          // A server older than results: the task is done all the same.
          Log("task " + task.id + " result not stored: " + done->status().message());
          done = client_->Done(options_.queue, task.id, options_.worker_id, task.lease);
        } else {
          // The result was refused (not JSON, too large): the task fails
          // with why, rather than waiting for its lease to run out.
          outcome = TaskOutcome::Fail("result not stored: " + done->status().message());
        }
      }
    }
    if (report && outcome.ok) {
      const Result<DoneResult>& d = *done;
      if (d.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.done;
      }
      Log("task " + task.id + " done" +
          (!d.ok()      ? ": " + d.status().ToString()
           : d->changed ? ""
                        : " (already: " + d->reason + ")"));
    } else if (report) {
      Result<FailResult> f =
          client_->Fail(options_.queue, task.id, options_.worker_id, task.lease, outcome.error);
      if (f.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.failed;
      }
      Log("task " + task.id + " failed: " + outcome.error +
          (f.ok() ? " (" + f->state + ")" : " (fail: " + f.status().ToString() + ")"));
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(task.id);
  }
  cv_.notify_all();
}

void Worker::HeartbeatLoop() {
  for (;;) {
    std::vector<std::shared_ptr<Held>> due;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (handlers_done_) return;
        Clock::time_point now = Clock::now();
        Clock::time_point next = now + std::chrono::seconds(1);
        for (auto& [id, held] : held_) {
          if (held->reported) continue;
          if (held->next_heartbeat <= now) {
            due.push_back(held);
          } else {
            next = std::min(next, held->next_heartbeat);
          }
        }
        if (!due.empty()) break;
        cv_.wait_until(lock, next);
      }
    }
    for (const std::shared_ptr<Held>& held : due) {
      const Claimed& task = held->task;
      const Clock::time_point sent = Clock::now();
      std::optional<std::string> progress = held->context.TakeProgress();
      Result<Claimed> r =
          client_->Heartbeat(options_.queue, task.id, options_.worker_id, task.lease, progress);
      Clock::time_point next;
      if (r.ok()) {
        next = sent + HeartbeatPeriod(r->lease_ms, options_.heartbeat_fraction);  // as above
      } else {
        std::string reason = ConflictReason(r.status());
        const bool retry = r.status().code() == StatusCode::kUnavailable ||
                           r.status().code() == StatusCode::kInternal || reason == "busy";
        if (progress && r.status().code() == StatusCode::kInvalidArgument) {
          // The progress was refused, not the lease: renew it at once
          // without the progress.
          Log("task " + task.id + " progress not sent: " + r.status().ToString());
          continue;  // next_heartbeat is unchanged: due again
        }
        if (!retry) {
          if (reason.empty()) reason = r.status().ToString();
          Log("task " + task.id + " heartbeat: " + r.status().ToString());
          held->token.RequestStop(reason);
          std::lock_guard<std::mutex> lock(mu_);
          held->next_heartbeat = Clock::time_point::max();
          continue;
        }
        if (progress) held->context.RestoreProgress(std::move(*progress));
        Log("task " + task.id + " heartbeat (retrying): " + r.status().ToString());
        next = Clock::now() +
               std::clamp(std::chrono::milliseconds(static_cast<int64_t>(task.lease_ms / 10)),
                          std::chrono::milliseconds(10), std::chrono::milliseconds(1'000));
      }
      std::lock_guard<std::mutex> lock(mu_);
      held->next_heartbeat = next;
    }
  }
}

}  // namespace pigtail::client

// The client library (client/client.h, client/worker.h) against a real
// pigtaild on 127.0.0.1, on RocksDB and on PostgreSQL (a unique schema in the
// database named by PIGTAIL_TEST_POSTGRES_URI). Every process is stopped by
// its PID; every wait is bounded.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/worker.h"
#include "core/uuid.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail::client {
namespace {

using namespace std::chrono_literals;
using pigtail::testing::Eventually;
using pigtail::testing::PigtaildProcess;

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<std::string> BackendArgs(const std::string& kind, const std::string& dir) {
  if (kind == "RocksDb") return {"--backend", "rocksdb:" + dir + "/data"};
  const char* uri = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  if (uri == nullptr || *uri == '\0') return {};
  return {"--backend", uri, "--postgres-schema", "cl_" + Uuid::Random().ToString().substr(0, 8)};
}

NewTask T(std::string name, std::string info = "null") {
  NewTask t;
  t.task_name = std::move(name);
  t.info = std::move(info);
  return t;
}

class ClientTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = pigtail::testing::FreshTempDir("client_test");
    std::vector<std::string> backend = BackendArgs(GetParam(), dir_);
    if (backend.empty()) {
      FAIL() << "PIGTAIL_TEST_POSTGRES_URI is not set; run the tests via scripts/test.sh, "
                "which starts a throwaway PostgreSQL";
    }
    std::vector<std::string> args = {"--listen", "127.0.0.1:0"};
    args.insert(args.end(), backend.begin(), backend.end());
    Status s = server_.Start(args);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ClientOptions o;
    o.urls = {server_.url()};
    client_ = std::make_unique<Client>(o);
  }
  void TearDown() override {
    client_.reset();
    server_.Stop();
    std::filesystem::remove_all(dir_);
  }

  std::string NewQueue(uint64_t timeout_ms, std::optional<uint64_t> max_attempts = {}) {
    std::string name = "q" + Uuid::Random().ToString().substr(0, 8);
    Status s = client_->CreateQueue({name, timeout_ms, max_attempts, std::nullopt});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return name;
  }

  std::string State(const std::string& queue, const std::string& id) {
    Result<Task> t = client_->GetTask(queue, id);
    return t.ok() ? t->state : t.status().ToString();
  }

  std::string dir_;
  PigtaildProcess server_{PIGTAILD_PATH};
  std::unique_ptr<Client> client_;
};

TEST_P(ClientTest, EveryCall) {
  Client& c = *client_;
  const std::string q = NewQueue(30'000);
  // Same settings again: fine; other settings: 409 queue_exists.
  EXPECT_TRUE(c.CreateQueue({q, 30'000, std::nullopt, std::nullopt}).ok());
  Status exists = c.CreateQueue({q, 1'000, std::nullopt, std::nullopt});
  EXPECT_EQ(exists.code(), StatusCode::kConflict) << exists.ToString();
  EXPECT_EQ(ConflictReason(exists), "queue_exists");

  Result<QueueList> queues = c.Queues();
  ASSERT_TRUE(queues.ok()) << queues.status().ToString();
  ASSERT_EQ(queues->queues.size(), 1u);
  EXPECT_EQ(queues->queues[0].name, q);
  EXPECT_EQ(queues->queues[0].timeout_ms, 30'000u);

  Result<std::string> a = [&] {
    NewTask t = T("a", R"({"n":1})");
    t.priority = 5;
    return c.Add(q, t);
  }();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Result<std::vector<std::string>> batch = c.AddBatch(q, {T("b", "2"), T("c", "[3]")});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->size(), 2u);

  Result<Task> task = c.GetTask(q, *a);
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  EXPECT_EQ(task->task_name, "a");
  EXPECT_EQ(task->state, "pending");
  EXPECT_EQ(task->info, R"({"n":1})");
  EXPECT_EQ(task->priority, 5);

  Result<TaskList> tasks = c.Tasks(q, "pending");
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  EXPECT_EQ(tasks->tasks.size(), 3u);

  // The highest priority first.
  const std::string worker = Uuid::Random().ToString();
  Result<std::vector<Claimed>> claimed = c.Claim(q, worker, 1, 100ms);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 1u);
  const Claimed& got = (*claimed)[0];
  EXPECT_EQ(got.id, *a);
  EXPECT_EQ(got.info, R"({"n":1})");
  EXPECT_EQ(got.lease, 0u);
  EXPECT_EQ(got.attempt, 1u);
  EXPECT_EQ(got.lease_ms, 30'000u);
  EXPECT_GT(got.expires_at_ms, 0u);

  Result<Claimed> beat = c.Heartbeat(q, *a, worker, got.lease);
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_TRUE(beat->heartbeat);
  EXPECT_EQ(beat->lease, got.lease);
  // Another worker: 409 with the reason.
  Result<Claimed> other = c.Heartbeat(q, *a, Uuid::Random().ToString(), got.lease);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kConflict);
  EXPECT_EQ(ConflictReason(other.status()), "leased_by_another_worker");
  // A stale lease: lease_lost.
  Result<DoneResult> stale = c.Done(q, *a, worker, got.lease + 7);
  EXPECT_EQ(ConflictReason(stale.status()), "lease_lost") << stale.status().ToString();

  Result<DoneResult> done = c.Done(q, *a, worker, got.lease);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->changed);
  Result<DoneResult> again = c.Done(q, *a, worker, got.lease);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->reason, "done");
  EXPECT_EQ(State(q, *a), "done");

  Result<std::vector<Claimed>> second = c.Claim(q, worker, 1, 0ms);
  ASSERT_TRUE(second.ok() && second->size() == 1u);
  Result<FailResult> failed = c.Fail(q, (*second)[0].id, worker, (*second)[0].lease, "boom");
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(failed->state, "pending");
  EXPECT_EQ(failed->attempts, 1u);
  Result<Task> after_fail = c.GetTask(q, (*second)[0].id);
  ASSERT_TRUE(after_fail.ok());
  EXPECT_EQ(after_fail->error.value_or(""), "boom");

  EXPECT_TRUE(c.Cancel(q, (*batch)[1]).ok());
  Status twice = c.Cancel(q, (*batch)[1]);
  EXPECT_EQ(ConflictReason(twice), "cancelled") << twice.ToString();

  Result<QueueStats> stats = c.Stats(q);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->done, 1u);
  EXPECT_EQ(stats->cancelled, 1u);
  EXPECT_EQ(stats->pending, 1u);

  Result<Digest> digest = c.GetDigest();
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(digest->total.size(), 32u);
  EXPECT_EQ(digest->queues.count(q), 1u);
  Result<Health> health = c.GetHealth();
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(health->status, "ok");
  Result<Nodes> nodes = c.GetNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  EXPECT_TRUE(nodes->urls.empty());

  Result<LogHeads> heads = c.GetLogHeads();
  ASSERT_TRUE(heads.ok()) << heads.status().ToString();
  ASSERT_EQ(heads->heads.size(), 1u);
  const std::string owner = heads->heads.begin()->first;
  Result<std::vector<LogEntry>> range = c.LogRange(owner, "", 3);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  ASSERT_EQ(range->size(), 3u);
  Result<std::vector<LogEntry>> next = c.LogRange(owner, (*range)[2].id, 1000);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_FALSE(next->empty());
  EXPECT_EQ(next->back().id, heads->heads.begin()->second);

  EXPECT_TRUE(c.DeleteQueue(q).ok());
  EXPECT_EQ(c.Stats(q).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.GetTask(q, Uuid::Random().ToString()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.Add("bad name", T("x")).status().code(), StatusCode::kInvalidArgument);
  // Info is one JSON value, never spliced-in fields.
  EXPECT_EQ(c.Add(q, T("x", R"(1,"priority":9)")).status().code(), StatusCode::kInvalidArgument);
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Progress and results round-trip through GET; failed attempts are listed;
// attempts, ready_at_ms and expires_at_ms follow the task's state.
TEST_P(ClientTest, ResultsProgressAndFailures) {
  Client& c = *client_;
  const std::string q = NewQueue(30'000, 3);
  Result<std::string> id = c.Add(q, T("r", R"({"n":1})"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Result<Task> fresh = c.GetTask(q, *id);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(fresh->attempts, 0u);
  EXPECT_TRUE(fresh->failures.empty());
  EXPECT_FALSE(fresh->result || fresh->progress || fresh->run_at_ms || fresh->expires_at_ms);
  EXPECT_TRUE(fresh->ready_at_ms.has_value()) << fresh->json;

  const std::string worker = Uuid::Random().ToString();
  Result<std::vector<Claimed>> first = c.Claim(q, worker, 1, 0ms);
  ASSERT_TRUE(first.ok() && first->size() == 1u);
  Result<FailResult> failed = c.Fail(q, *id, worker, (*first)[0].lease, "first try");
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();

  Result<Task> after_fail = c.GetTask(q, *id);
  ASSERT_TRUE(after_fail.ok()) << after_fail.status().ToString();
  EXPECT_EQ(after_fail->state, "pending");
  EXPECT_EQ(after_fail->attempts, 1u);
  ASSERT_EQ(after_fail->failures.size(), 1u) << after_fail->json;
  EXPECT_EQ(after_fail->failures[0].attempt, 1u);
  EXPECT_EQ(after_fail->failures[0].round, after_fail->round);
  EXPECT_EQ(after_fail->failures[0].error, "first try");
  EXPECT_EQ(after_fail->failures[0].worker, worker);
  EXPECT_GT(after_fail->failures[0].at_ms, 0u);
  EXPECT_TRUE(after_fail->ready_at_ms.has_value()) << after_fail->json;

  // The retry's backoff may hold the task a moment.
  std::vector<Claimed> second;
  ASSERT_TRUE(Eventually(
      [&] {
        Result<std::vector<Claimed>> r = c.Claim(q, worker, 1, 0ms);
        if (r.ok()) second = *r;
        return !second.empty();
      },
      20s));
  const Claimed& held = second[0];
  EXPECT_EQ(held.attempt, 2u);
  Result<Task> working = c.GetTask(q, *id);
  ASSERT_TRUE(working.ok());
  EXPECT_EQ(working->state, "working");
  EXPECT_EQ(working->attempts, 2u);
  EXPECT_TRUE(working->expires_at_ms.has_value()) << working->json;
  EXPECT_FALSE(working->ready_at_ms.has_value()) << working->json;

  // Progress: with a heartbeat; checked before it is sent.
  Result<Claimed> beat = c.Heartbeat(q, *id, worker, held.lease, R"({"pct": 50, "step":"b"})");
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_EQ(c.Heartbeat(q, *id, worker, held.lease, "{oops").status().code(),
            StatusCode::kInvalidArgument);
  const std::string big = "\"" + std::string(kMaxProgressBytes, 'x') + "\"";
  EXPECT_EQ(c.Heartbeat(q, *id, worker, held.lease, big).status().code(),
            StatusCode::kInvalidArgument);
  Result<Task> progressed = c.GetTask(q, *id);
  ASSERT_TRUE(progressed.ok());
  EXPECT_EQ(progressed->progress.value_or(""), R"({"pct":50,"step":"b"})");

  // Result: with the done; the progress stays.
  EXPECT_EQ(c.Done(q, *id, worker, held.lease, "[1,").status().code(),
            StatusCode::kInvalidArgument);
  Result<DoneResult> done = c.Done(q, *id, worker, held.lease, R"({"ok":true,"n":[1,2]})");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->changed);
  Result<Task> finished = c.GetTask(q, *id);
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(finished->state, "done");
  EXPECT_EQ(finished->result.value_or(""), R"({"ok":true,"n":[1,2]})");
  EXPECT_EQ(finished->progress.value_or(""), R"({"pct":50,"step":"b"})");
  EXPECT_FALSE(finished->expires_at_ms || finished->ready_at_ms) << finished->json;
  EXPECT_EQ(finished->failures.size(), 1u);

  // A batched done: a result per item, an item without one, an unknown id.
  Result<std::vector<std::string>> ids = c.AddBatch(q, {T("b1"), T("b2")});
  ASSERT_TRUE(ids.ok());
  Result<std::vector<Claimed>> both = c.Claim(q, worker, 2, 0ms);
  ASSERT_TRUE(both.ok() && both->size() == 2u);
  std::map<std::string, uint64_t> lease;
  for (const Claimed& t : *both) lease[t.id] = t.lease;
  const std::string unknown = Uuid::Random().ToString();
  Result<DoneBatchResult> batch = c.DoneBatch(q, worker,
                                              {{(*ids)[0], lease[(*ids)[0]], R"("first")"},
                                               {(*ids)[1], lease[(*ids)[1]], std::nullopt},
                                               {unknown, std::nullopt, "7"}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->done, 2u) << batch->json;
  ASSERT_EQ(batch->results.size(), 3u) << batch->json;
  EXPECT_TRUE(batch->results[0].done && batch->results[0].changed);
  EXPECT_TRUE(batch->results[1].done);
  EXPECT_FALSE(batch->results[2].done);
  EXPECT_EQ(batch->results[2].code, 404) << batch->json;
  Result<Task> b1 = c.GetTask(q, (*ids)[0]);
  Result<Task> b2 = c.GetTask(q, (*ids)[1]);
  ASSERT_TRUE(b1.ok() && b2.ok());
  EXPECT_EQ(b1->result.value_or(""), R"("first")");
  EXPECT_EQ(b2->state, "done");
  EXPECT_FALSE(b2->result.has_value()) << b2->json;
  EXPECT_EQ(c.DoneBatch(q, worker, {{(*ids)[0], std::nullopt, "nope"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(ClientTest, RunAtDelaysTheClaim) {
  Client& c = *client_;
  const std::string q = NewQueue(30'000);
  const auto start = std::chrono::steady_clock::now();
  NewTask t = T("later");
  t.run_at_ms = NowMs() + 2'000;
  Result<std::string> id = c.Add(q, t);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  Result<Task> pending = c.GetTask(q, *id);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->run_at_ms, t.run_at_ms);
  EXPECT_GE(pending->ready_at_ms.value_or(0), *t.run_at_ms) << pending->json;

  const std::string worker = Uuid::Random().ToString();
  Result<std::vector<Claimed>> now = c.Claim(q, worker, 1, 0ms);
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(now->empty());
  std::vector<Claimed> got;
  ASSERT_TRUE(Eventually(
      [&] {
        Result<std::vector<Claimed>> r = c.Claim(q, worker, 1, 0ms);
        if (r.ok()) got = *r;
        return !got.empty();
      },
      20s));
  EXPECT_EQ(got[0].id, *id);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1'500ms);
}

TEST_P(ClientTest, LongPollClaimOutlastsTheTimeout) {
  const std::string q = NewQueue(30'000);
  ClientOptions o;
  o.urls = {server_.url()};
  o.timeout = 300ms;  // shorter than the wait: the claim must wait longer
  Client c(o);
  auto start = std::chrono::steady_clock::now();
  Result<std::vector<Claimed>> r = c.Claim(q, Uuid::Random().ToString(), 1, 800ms);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 700ms);
}

TEST_P(ClientTest, FailOverOnConnectionErrors) {
  ClientOptions o;
  o.urls = {"http://127.0.0.1:" + std::to_string(ClosedPort()), server_.url()};
  Client c(o);
  Result<Health> h = c.GetHealth();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  // A 4xx is the answer: not retried on the first node (which is down
  // anyway), and it keeps its code.
  EXPECT_EQ(c.Stats("nope").status().code(), StatusCode::kNotFound);

  ClientOptions down;
  down.urls = {"http://127.0.0.1:" + std::to_string(ClosedPort())};
  Client d(down);
  EXPECT_EQ(d.GetHealth().status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(Client::CheckOptions({{"ftp://x"}, "", 1s}).ok());
  EXPECT_FALSE(Client::CheckOptions({{}, "", 1s}).ok());
}

// Tests of the client alone, whatever the node's backend: run on one.
class ClientOneBackendTest : public ClientTest {};

TEST_P(ClientOneBackendTest, FourHundredsAreNotRetriedElsewhere) {
  PigtaildProcess second(PIGTAILD_PATH);
  std::string dir2 = pigtail::testing::FreshTempDir("client_test2");
  ASSERT_TRUE(
      second.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir2 + "/data"}).ok());
  const std::string q = NewQueue(30'000);  // on the first node only
  ClientOptions o;
  o.urls = {second.url(), server_.url()};
  Client c(o);
  EXPECT_EQ(c.Stats(q).status().code(), StatusCode::kNotFound);
  second.Stop();
  // Now the first is down: the second answers.
  EXPECT_TRUE(c.Stats(q).ok());
  std::filesystem::remove_all(dir2);
}

WorkerOptions FastWorker(const std::string& queue, int concurrency) {
  WorkerOptions w;
  w.queue = queue;
  w.concurrency = concurrency;
  w.claim_wait = 200ms;
  w.grace = 300ms;
  return w;
}

// Leases of 2 s, tasks of 5 s: held only by heartbeats (every 667 ms), with
// room for the stalls of a busy CI machine (slow syncs, a loaded scheduler).
TEST_P(ClientTest, WorkerHeartbeatsLongTasksAndRunsEachOnce) {
  const std::string q = NewQueue(2000);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    Result<std::string> id = client_->Add(q, T("t" + std::to_string(i), std::to_string(i)));
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  std::mutex mu;
  std::map<std::string, int> runs;
  Worker w(client_.get(), FastWorker(q, 2), [&](const Claimed& t, const StopToken& stop) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++runs[t.id];
    }
    return stop.WaitFor(5s) ? TaskOutcome::Fail("stopped: " + stop.reason()) : TaskOutcome::Done();
  });
  std::thread runner([&] { EXPECT_TRUE(w.Run().ok()); });
  bool all_done = Eventually(
      [&] {
        for (const std::string& id : ids) {
          if (State(q, id) != "done") return false;
        }
        return true;
      },
      30s);
  w.Stop();
  runner.join();
  EXPECT_TRUE(all_done);
  for (const std::string& id : ids) {
    EXPECT_EQ(runs[id], 1) << id;
    EXPECT_EQ(State(q, id), "done");
  }
  WorkerStats s = w.stats();
  EXPECT_EQ(s.done, 3u);
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.claimed, 3u);
}

TEST_P(ClientTest, CancelStopsTheHandlerAndTheTaskIsNotDone) {
  const std::string q = NewQueue(600);
  Result<std::string> id = client_->Add(q, T("c"));
  ASSERT_TRUE(id.ok());
  std::atomic<bool> started{false};
  std::string reason;
  Worker w(client_.get(), FastWorker(q, 1), [&](const Claimed&, const StopToken& stop) {
    started = true;
    bool stopped = stop.WaitFor(20s);
    reason = stop.reason();
    return stopped ? TaskOutcome::Done() : TaskOutcome::Fail("not stopped");
  });
  std::thread runner([&] { EXPECT_TRUE(w.Run().ok()); });
  ASSERT_TRUE(Eventually([&] { return started.load(); }, 20s));
  EXPECT_TRUE(client_->Cancel(q, *id).ok());
  EXPECT_TRUE(Eventually([&] { return w.stats().lost == 1; }, 20s));
  w.Stop();
  runner.join();
  EXPECT_EQ(reason, "cancelled");
  EXPECT_EQ(State(q, *id), "cancelled");
  EXPECT_EQ(w.stats().done, 0u);
}

TEST_P(ClientTest, StopFailsRunningTasksBackAndAnotherWorkerFinishesThem) {
  const std::string q = NewQueue(600);
  Result<std::string> id = client_->Add(q, T("s", R"({"x":1})"));
  ASSERT_TRUE(id.ok());
  std::atomic<bool> started{false};
  std::string reason;
  Worker first(client_.get(), FastWorker(q, 1), [&](const Claimed&, const StopToken& stop) {
    started = true;
    stop.WaitFor(20s);  // gives up only when told
    reason = stop.reason();
    return TaskOutcome::Done();  // ignored: the task was failed back
  });
  std::thread runner([&] { EXPECT_TRUE(first.Run().ok()); });
  ASSERT_TRUE(Eventually([&] { return started.load(); }, 20s));
  first.Stop();
  runner.join();
  EXPECT_EQ(reason, "worker stopped");
  EXPECT_EQ(first.stats().failed_on_stop, 1u);
  EXPECT_EQ(first.stats().done, 0u);
  Result<Task> t = client_->GetTask(q, *id);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->state, "pending");
  EXPECT_EQ(t->error.value_or(""), "worker stopped");

  std::atomic<uint64_t> attempt{0};
  Worker second(client_.get(), FastWorker(q, 1), [&](const Claimed& c, const StopToken&) {
    attempt = c.attempt;
    return TaskOutcome::Done();
  });
  std::thread runner2([&] { EXPECT_TRUE(second.Run().ok()); });
  EXPECT_TRUE(Eventually([&] { return State(q, *id) == "done"; }, 20s));
  second.Stop();
  runner2.join();
  EXPECT_EQ(attempt.load(), 2u);
  EXPECT_EQ(State(q, *id), "done");
}

// A handler's progress goes out with a heartbeat and its result with the
// done; a result the server cannot take fails the task with why.
TEST_P(ClientTest, WorkerSendsProgressAndResults) {
  const std::string q = NewQueue(900, 1);  // a heartbeat every 300 ms
  Result<std::string> good = client_->Add(q, T("good"));
  Result<std::string> bad = client_->Add(q, T("bad"));
  ASSERT_TRUE(good.ok() && bad.ok());
  std::atomic<bool> progress_seen{false};
  Worker w(client_.get(), FastWorker(q, 2), [&](const Claimed& t, TaskContext& context) {
    if (t.task_name == "bad") return TaskOutcome::Done("{not json");
    EXPECT_FALSE(context.SetProgress("{oops").ok());
    EXPECT_TRUE(context.SetProgress(R"({"step":1})").ok());
    progress_seen = Eventually(
        [&] {
          Result<Task> task = client_->GetTask(q, t.id);
          return task.ok() && task->progress.value_or("") == R"({"step":1})";
        },
        10s);
    if (context.stop().stop_requested()) return TaskOutcome::Fail("stopped");
    return TaskOutcome::Done(R"({"answer": 42})");
  });
  std::thread runner([&] { EXPECT_TRUE(w.Run().ok()); });
  bool finished =
      Eventually([&] { return State(q, *good) == "done" && State(q, *bad) == "dead"; }, 20s);
  w.Stop();
  runner.join();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(progress_seen.load());
  Result<Task> g = client_->GetTask(q, *good);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->result.value_or(""), R"({"answer":42})");
  EXPECT_EQ(g->progress.value_or(""), R"({"step":1})");
  Result<Task> b = client_->GetTask(q, *bad);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->error.value_or("").rfind("result not stored: ", 0), 0u) << b->json;
  EXPECT_FALSE(b->result.has_value());
  EXPECT_EQ(w.stats().done, 1u);
  EXPECT_EQ(w.stats().failed, 1u);
}

INSTANTIATE_TEST_SUITE_P(Backend, ClientOneBackendTest, ::testing::Values("RocksDb"),
                         [](const auto& param_info) { return param_info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, ClientTest, ::testing::Values("RocksDb", "Postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace pigtail::client

// Crash test: starts backends_crash_child (crash_child.cc) on a persistent
// backend, kills it with SIGKILL at a random point (seeded; the seed is
// printed), reopens the stores and checks that
//   * every batch the child reported as committed is in the log,
//   * the checkpoint is at or past the last commit reported as synced (an
//     unsynced commit may be lost, to be caught up from the log),
//   * the state holds no partial batch: its registers equal a fresh
//     projection of exactly the log events 1..checkpoint,
//   * the stored digests equal that fresh projection's.
// Several rounds on the same stores; each round's child first catches the
// state up from the log, as a restarted node does. Bounded in rounds and
// time; the child is stopped by PID.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "core/projector.h"
#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"

namespace pigtail::testing {
namespace {

constexpr int kRounds = 20;
constexpr auto kLineTimeout = std::chrono::seconds(60);

// A running child whose stdout we read line by line.
class Child {
 public:
  Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Child() {
    Kill();
    if (fd_ >= 0) close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0 && fd_ >= 0; }

  // The next line, or nullopt on EOF or after `timeout`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, static_cast<int>(left.count()));
      if (r <= 0) continue;
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // SIGKILL by PID and reap. Returns the wait status.
  int Kill() {
    if (pid_ <= 0) return 0;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
};

struct Reported {
  uint64_t checkpoint;
  Uuid last_id;
  bool synced;
};

std::optional<Reported> ParseCommitLine(const std::string& line) {
  std::istringstream in(line);
  std::string word, id;
  int synced = 0;
  Reported r{};
  if (!(in >> word >> r.checkpoint >> id >> synced) || word != "commit") return std::nullopt;
  r.synced = synced == 1;
  Result<Uuid> parsed = Uuid::Parse(id);
  if (!parsed.ok()) return std::nullopt;
  r.last_id = *parsed;
  return r;
}

class CrashTest : public ::testing::TestWithParam<BackendKind> {};

TEST_P(CrashTest, KilledChildLosesNoCommittedBatchAndLeavesNoPartialOne) {
  TestBackend backend(GetParam());
  ASSERT_OK(backend.Prepare());
  const uint64_t seed =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::printf("CrashTest seed %llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const auto test_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);

  std::vector<Reported> reported;
  for (int round = 0; round < kRounds && std::chrono::steady_clock::now() < test_deadline;
       ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Child child({PIGTAIL_CRASH_CHILD_PATH, backend.uri(), backend.uri(),
                 backend.options().postgres_schema, std::to_string(seed + 1000 * round)});
    ASSERT_TRUE(child.started());
    std::optional<std::string> ready = child.ReadLine(kLineTimeout);
    ASSERT_TRUE(ready.has_value()) << "child produced no ready line";
    ASSERT_TRUE(ready->starts_with("ready ")) << *ready;

    const int kill_after = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < kill_after; ++i) {
      std::optional<std::string> line = child.ReadLine(kLineTimeout);
      ASSERT_TRUE(line.has_value()) << "child stopped after " << i << " commits";
      std::optional<Reported> r = ParseCommitLine(*line);
      ASSERT_TRUE(r.has_value()) << *line;
      reported.push_back(*r);
    }
    // Land the kill somewhere inside a later append or commit.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    int status = child.Kill();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    // Lines written before the kill are reported commits too.
    for (int i = 0; i < 10'000; ++i) {
      std::optional<std::string> line = child.ReadLine(std::chrono::milliseconds(100));
      if (!line) break;
      std::optional<Reported> r = ParseCommitLine(*line);
      ASSERT_TRUE(r.has_value()) << *line;
      reported.push_back(*r);
    }

    std::unique_ptr<EventStore> log = MUST(backend.OpenEvents());
    std::unique_ptr<StateStore> store = MUST(backend.OpenState());
    const uint64_t last_seq = MUST(log->LastSequence());
    const uint64_t checkpoint = MUST(store->Checkpoint());
    ASSERT_FALSE(reported.empty());
    EXPECT_LE(checkpoint, last_seq);
    EXPECT_EQ(MUST(log->Count()), last_seq);
    for (const Reported& r : reported) {
      EXPECT_TRUE(MUST(log->Contains(r.last_id))) << r.last_id.ToString();
      if (r.synced) {
        EXPECT_LE(r.checkpoint, checkpoint);
      }
    }

    // A fresh projection of exactly the events 1..checkpoint.
    State fresh;
    uint64_t next = 0;
    for (int page = 0; page < 100'000 && next < checkpoint; ++page) {
      std::vector<StoredEvent> events = MUST(log->Scan(next, 500));
      ASSERT_FALSE(events.empty());
      for (const StoredEvent& e : events) {
        if (e.seq > checkpoint) break;
        ASSERT_EQ(e.seq, next + 1);
        (void)ApplyEvent(e.event, &fresh);
        next = e.seq;
      }
    }
    ASSERT_EQ(next, checkpoint);
    State stored;
    ASSERT_OK(store->LoadInto(&stored));
    EXPECT_TRUE(stored.SameRegisters(fresh)) << "state is not the projection of 1.." << checkpoint;
    DigestSummary digests = MUST(store->Digests());
    EXPECT_EQ(digests.checkpoint, checkpoint);
    EXPECT_EQ(digests.total, fresh.total_digest());
    std::map<std::string, Digest> expected_queues;
    for (const auto& [name, slot] : fresh.queues()) {
      if (!slot.digest.IsZero()) expected_queues.emplace(name, slot.digest);
    }
    EXPECT_EQ(digests.queues, expected_queues);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GE(reported.size(), static_cast<size_t>(kRounds > 0));
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest, ::testing::ValuesIn(PersistentBackends()),
                         BackendParamName);

}  // namespace
}  // namespace pigtail::testing

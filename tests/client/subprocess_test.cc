// RunSubprocess (client/subprocess.h) and ConflictReason (client/client.h),
// without a server. Every command ends on its own or is stopped within
// seconds.
#include "client/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "client/client.h"

namespace pigtail::client {
namespace {

using namespace std::chrono_literals;

SubprocessResult Spawn(std::vector<std::string> argv, std::string input = "",
                       const StopToken& stop = StopToken()) {
  SubprocessOptions o;
  o.argv = std::move(argv);
  o.input = std::move(input);
  o.env = {{"PIGTAIL_TASK_ID", "t-1"}};
  o.max_stdout = 10;
  o.max_stderr_tail = 8;
  Result<SubprocessResult> r = RunSubprocess(o, stop);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : SubprocessResult{};
}

TEST(SubprocessTest, InputEnvironmentAndExitCode) {
  SubprocessResult r =
      Spawn({"sh", "-c", "read line; echo \"$line $PIGTAIL_TASK_ID\"; exit 3"}, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hello t-1\n");
  EXPECT_FALSE(r.out_truncated);
  EXPECT_FALSE(r.stopped);
}

TEST(SubprocessTest, OutputIsBounded) {
  SubprocessResult r =
      Spawn({"sh", "-c", "echo 0123456789abcdef; echo first-part-of-stderr >&2; echo tail >&2"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "0123456789");
  EXPECT_TRUE(r.out_truncated);
  EXPECT_EQ(r.err_tail, "rr\ntail\n");
}

TEST(SubprocessTest, ACommandThatDoesNotReadItsInput) {
  // More input than a pipe holds; the command exits without reading it.
  // pigtail ignores SIGPIPE, as RunSubprocess requires.
  signal(SIGPIPE, SIG_IGN);
  SubprocessResult r = Spawn({"true"}, std::string(1 << 20, 'x'));
  EXPECT_EQ(r.exit_code, 0);
}

TEST(SubprocessTest, AMissingProgramIs127) {
  SubprocessResult r = Spawn({"/no/such/program"});
  EXPECT_EQ(r.exit_code, 127);
}

TEST(SubprocessTest, StopSendsSigterm) {
  StopToken stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    stop.RequestStop("test");
  });
  auto start = std::chrono::steady_clock::now();
  SubprocessResult r = Spawn({"sleep", "30"}, "", stop);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.exit_code, -1);
}

TEST(ConflictReasonTest, ReadsTheReasonOfA409Only) {
  EXPECT_EQ(ConflictReason(Status::Conflict("lease_lost: HTTP 409: lease lost")), "lease_lost");
  EXPECT_EQ(ConflictReason(Status::Conflict("HTTP 409: no reason")), "");
  EXPECT_EQ(ConflictReason(Status::NotFound("lease_lost: HTTP 404: x")), "");
  EXPECT_EQ(ConflictReason(Status::Ok()), "");
}

}  // namespace
}  // namespace pigtail::client

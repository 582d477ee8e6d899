// Adaptive group commit (server/group_commit.h): when the policy asks the
// sequencer to wait for the clients it answered, and that two clients with
// one request each in flight share every append of a slow log once they
// are answered together.
#include "server/group_commit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "core/memory_store.h"
#include "server/node.h"
#include "server/sequencer.h"
#include "tests/server/fault_stores.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST(GroupCommitWindowTest, WaitsAboutOneAppendWhileAppendsAreMostOfABatch) {
  GroupCommitWindow window(2ms);
  EXPECT_EQ(window.Window(), 0ns) << "nothing measured yet";
  window.OnBatch(400us, 50us);
  EXPECT_EQ(window.Window(), 400us);
  // The moving average follows the appends: 400 + (800 - 400) / 8.
  window.OnBatch(800us, 50us);
  EXPECT_EQ(window.Window(), 450us);
}

TEST(GroupCommitWindowTest, NeverLongerThanTheLongestWait) {
  GroupCommitWindow window(2ms);
  window.OnBatch(30ms, 1ms);
  EXPECT_EQ(window.Window(), 2ms);
}

TEST(GroupCommitWindowTest, NoWaitAfterABatchWhoseRestCostHalfItsAppendOrMore) {
  GroupCommitWindow window(2ms);
  window.OnBatch(400us, 200us);
  EXPECT_EQ(window.Window(), 400us) << "exactly twice: waits";
  window.OnBatch(400us, 201us);
  for (int i = 0; i < 2 * GroupCommitWindow::kProbeEvery; ++i) {
    EXPECT_EQ(window.Window(), 0ns) << i;
  }
  // The next batch of small requests waits again, at once.
  window.OnBatch(400us, 10us);
  EXPECT_EQ(window.Window(), 400us);
}

TEST(GroupCommitWindowTest, WhileWaitsTakeLongerThanThreeQuartersOfAnAppendOnlyProbes) {
  GroupCommitWindow window(2ms);
  window.OnBatch(400us, 10us);
  window.OnWait(350us);  // the clients came back in 7/8 of an append
  int waits = 0;
  for (int i = 0; i < 4 * GroupCommitWindow::kProbeEvery; ++i) {
    if (window.Window() > 0ns) ++waits;
  }
  EXPECT_EQ(waits, 4);
  // Quicker clients: the average falls below 300 us (350 -> 300 after
  // enough short waits) and every batch waits again.
  for (int i = 0; i < 4; ++i) window.OnWait(50us);
  for (int i = 0; i < GroupCommitWindow::kProbeEvery; ++i) {
    EXPECT_EQ(window.Window(), 400us) << i;
  }
}

// Two clients, each with one request in flight (the next sent 5 ms after
// the last is answered), on a log whose appends take 50 ms. The second
// client's first request queues while the first's append is in flight.
// Without waiting, the clients then take turns: one's request is queued
// while the other waits for its reply, one request per batch (12 batches
// for 12 requests; checked with adaptive_group_commit off). Waiting for the
// client just answered puts both in each batch after the first.
TEST(GroupCommitSequencerTest, TwoClientsAnsweredTogetherShareEveryAppend) {
  auto log = std::make_unique<testing::FaultyEventStore>();
  testing::FaultyEventStore* store = log.get();
  Result<std::unique_ptr<Node>> node = Node::Open(std::move(log), NewMemoryStateStore(), {});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  SequencerOptions options;
  options.group_commit_max_wait = 10s;  // only the clients' round trips bound the waits
  Sequencer sequencer(node->get(), options);
  sequencer.Start();
  auto write = [&](const std::string& data) {
    auto promise = std::make_shared<std::promise<WriteResult>>();
    std::future<WriteResult> answer = promise->get_future();
    sequencer.Submit(LocalRequest{{data}, {}},
                     [promise](WriteResult r) { promise->set_value(std::move(r)); });
    if (answer.wait_for(30s) != std::future_status::ready) return Status::Internal("no answer");
    return answer.get().status;
  };
  store->DelayAppends(50ms);
  ASSERT_TRUE(write(R"({"Create":{"name":"q","timeout_ms":1000}})").ok());
  constexpr int kPerClient = 6;
  const std::string add = R"({"Add":{"queue_name":"q","task_name":"t","info":{}}})";
  // A client takes 5 ms (its round trip) to send the next request: longer
  // than the sequencer takes to start its next batch, far shorter than an
  // append.
  auto client = [&] {
    for (int i = 0; i < kPerClient; ++i) {
      Status written = write(add);
      if (!written.ok()) return written;
      std::this_thread::sleep_for(5ms);
    }
    return Status::Ok();
  };
  const uint64_t batches = (*node)->counters().batches;
  store->Hold();
  std::future<Status> first = std::async(std::launch::async, client);
  ASSERT_TRUE(store->WaitUntilHeld(10s));
  std::future<Status> second = std::async(std::launch::async, client);
  // The second client's request is queued (or about to be) behind the
  // first's append.
  std::this_thread::sleep_for(20ms);
  store->Release();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  // {first}, then five of {second, first}, then {second}.
  EXPECT_LE((*node)->counters().batches - batches, 8u);
  EXPECT_EQ((*node)->counters().batch_requests.load(), 1u + 2 * kPerClient);
  sequencer.Stop();
}

}  // namespace
}  // namespace pigtail

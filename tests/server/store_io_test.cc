// Routes that wait on a store (the log's reads, the node's own records) run
// on the Api's store thread, not on the HTTP I/O thread that hands them in:
// while one waits inside the store, Api::Handle has returned and the other
// requests are answered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "tests/core/forwarding_event_store.h"
#include "tests/server/api_fixture.h"

namespace pigtail::testing {
namespace {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

// Heads() waits while the gate is shut (at most 10 s, so a failing test
// still ends).
class GatedHeadsStore final : public ForwardingEventStore {
 public:
  void Shut() {
    std::lock_guard lock(mu_);
    shut_ = true;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      shut_ = false;
    }
    cv_.notify_all();
  }
  // Waits up to `timeout` until a read waits at the shut gate.
  bool WaitUntilWaiting(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ > 0; });
  }

  Result<std::map<Uuid, Uuid>> Heads() override {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait_for(lock, 10s, [&] { return !shut_; });
      --waiting_;
    }
    return ForwardingEventStore::Heads();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool shut_ = false;  // guarded by mu_
  int waiting_ = 0;    // guarded by mu_
};

class StoreIoTest : public ApiFixture {};

TEST_F(StoreIoTest, ALogReadWaitingInTheStoreHoldsNoOtherRequest) {
  auto store = std::make_unique<GatedHeadsStore>();
  GatedHeadsStore* gate = store.get();
  Open(ApiOptions(), Ticking(), std::move(store));
  CreateQueue("q");

  gate->Shut();
  auto heads = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> heads_answer = heads->get_future();
  std::atomic<bool> handed_in{false};
  std::thread io_thread([&] {
    api()->Handle(HttpRequest{"GET", "/log", {}, ""},
                  [heads](HttpResponse r) { heads->set_value(std::move(r)); });
    handed_in = true;
  });
  ASSERT_TRUE(gate->WaitUntilWaiting(5000ms));
  for (int i = 0; i < 500 && !handed_in; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(handed_in) << "GET /log held the thread that handed it in";
  // Writes and other reads are answered while the read waits.
  EXPECT_FALSE(AddTask("q").empty());
  EXPECT_EQ(Call("GET", "/health").status, 200);
  EXPECT_EQ(heads_answer.wait_for(0ms), std::future_status::timeout);

  gate->Open();
  ASSERT_EQ(heads_answer.wait_for(10s), std::future_status::ready);
  HttpResponse r = heads_answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Body(r).as_object().contains(node()->id().ToString())) << r.body;
  io_thread.join();
}

}  // namespace
}  // namespace pigtail::testing

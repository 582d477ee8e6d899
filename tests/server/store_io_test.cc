// Routes that may wait on a store (a peer's page of log entries; on a remote
// log, every read of the log) run on the Api's store thread, not on the
// HTTP I/O thread that hands them in: while one waits inside the store,
// Api::Handle has returned and the other requests are answered.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
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

// Heads() and ScanOwnerRaw() wait while the gate is shut (at most 10 s, so
// a failing test still ends). Remote or local as constructed.
class GatedReadsStore final : public ForwardingEventStore {
 public:
  explicit GatedReadsStore(bool remote) : remote_(remote) {}

  bool IsRemote() const override { return remote_; }

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
    PassGate();
    return ForwardingEventStore::Heads();
  }
  Result<std::vector<RawRecord>> ScanOwnerRaw(const Uuid& owner, const std::optional<Hlc>& after,
                                              size_t limit) override {
    PassGate();
    return ForwardingEventStore::ScanOwnerRaw(owner, after, limit);
  }

 private:
  void PassGate() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(lock, 10s, [&] { return !shut_; });
    --waiting_;
  }

  const bool remote_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool shut_ = false;  // guarded by mu_
  int waiting_ = 0;    // guarded by mu_
};

class StoreIoTest : public ApiFixture {
 protected:
  // Opens the node on a gated log, shuts the gate, hands GET `target_of`()
  // in from another thread, and checks that the handing thread is free and that a
  // write and another read are answered while the read waits; then opens
  // the gate and returns the read's answer.
  HttpResponse HeldRead(bool remote, const std::function<std::string()>& target_of) {
    auto store = std::make_unique<GatedReadsStore>(remote);
    GatedReadsStore* gate = store.get();
    Open(ApiOptions(), Ticking(), std::move(store));
    CreateQueue("q");
    const std::string target = target_of();

    gate->Shut();
    auto answer = std::make_shared<std::promise<HttpResponse>>();
    std::future<HttpResponse> answered = answer->get_future();
    std::atomic<bool> handed_in{false};
    std::thread io_thread([&] {
      api()->Handle(HttpRequest{"GET", target, {}, ""},
                    [answer](HttpResponse r) { answer->set_value(std::move(r)); });
      handed_in = true;
    });
    EXPECT_TRUE(gate->WaitUntilWaiting(5000ms)) << target << " never reached the store";
    for (int i = 0; i < 500 && !handed_in; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(handed_in) << target << " held the thread that handed it in";
    EXPECT_FALSE(AddTask("q").empty());
    EXPECT_EQ(Call("GET", "/health").status, 200);
    EXPECT_EQ(answered.wait_for(0ms), std::future_status::timeout);

    gate->Open();
    io_thread.join();
    if (answered.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << target << ": no answer";
      return HttpResponse{599, {}, ""};
    }
    return answered.get();
  }
};

TEST_F(StoreIoTest, AReadOfARemoteLogHoldsNoOtherRequest) {
  HttpResponse r = HeldRead(/*remote=*/true, [] { return std::string("/log"); });
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Body(r).as_object().contains(node()->id().ToString())) << r.body;
}

TEST_F(StoreIoTest, APeersPageOfALocalLogHoldsNoOtherRequest) {
  HttpResponse r =
      HeldRead(/*remote=*/false, [this] { return "/log/range?owner=" + node()->id().ToString(); });
  EXPECT_EQ(r.status, 200) << r.body;
  // The queue's Create and the task's Add, in the node's chain.
  EXPECT_EQ(Body(r).as_array().size(), 2u) << r.body;
}

}  // namespace
}  // namespace pigtail::testing

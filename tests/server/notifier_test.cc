// The notifier against a receiver served in-process on 127.0.0.1, with a
// poll interval far longer than the test: what arrives was woken by the
// registration or by EntriesAppended.
#include "server/notifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/memory_store.h"
#include "server/http_server.h"
#include "server/sequencer.h"

namespace pigtail {
namespace {

using namespace std::chrono_literals;

class Receiver {
 public:
  Receiver() {
    HttpServerOptions options;
    options.port = 0;
    options.threads = 1;
    auto started = HttpServer::Start(options, [this](HttpRequest req, HttpResponder respond) {
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(req.body);
      }
      respond(HttpResponse{204, {}, ""});
    });
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (started.ok()) server_ = std::move(started).value();
  }
  ~Receiver() {
    if (server_) server_->Shutdown(100ms);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/e"; }
  // Waits up to 10 s for `n` deliveries.
  bool WaitFor(size_t n) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mu_);
        if (bodies_.size() >= n) return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::unique_ptr<HttpServer> server_;
};

TEST(NotifierTest, NewEntriesWakeItAndARegistrationAfterADeregistrationStartsOver) {
  auto node = Node::Open(NewMemoryEventStore(), NewMemoryStateStore(), NodeOptions());
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  NotifierOptions options;
  options.poll = 60s;  // longer than the test: only wake-ups deliver
  Notifier notifier(node->get(), options);
  Sequencer sequencer(node->get(), SequencerOptions());
  sequencer.set_on_applied([&notifier] { notifier.EntriesAppended(); });
  sequencer.Start();
  notifier.Start();
  auto append = [&](const std::string& data) {
    std::promise<WriteResult> done;
    LocalRequest req;
    req.data = {data};
    sequencer.Submit(std::move(req), [&done](WriteResult r) { done.set_value(std::move(r)); });
    WriteResult r = done.get_future().get();
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  };

  // Appended while nothing is registered: no one to deliver to.
  ASSERT_NO_FATAL_FAILURE(append(R"({"n":1})"));
  std::this_thread::sleep_for(100ms);

  Receiver receiver;
  ASSERT_TRUE(node->get()->AddToSet(kRegistrationsKey, receiver.url()).ok());
  notifier.RetryNow(receiver.url());  // what POST /log/register does
  ASSERT_TRUE(receiver.WaitFor(1));

  ASSERT_NO_FATAL_FAILURE(append(R"({"n":2})"));
  ASSERT_TRUE(receiver.WaitFor(2)) << "a new entry did not wake the notifier";
  std::vector<std::string> bodies = receiver.bodies();
  EXPECT_NE(bodies[0].find(R"("n":1)"), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[1].find(R"("n":2)"), std::string::npos) << bodies[1];

  // Deregistered and registered again (a receiver that lost its data):
  // delivery starts over from the first entry.
  ASSERT_TRUE(node->get()->RemoveFromSet(kRegistrationsKey, receiver.url()).ok());
  notifier.Deregistered(receiver.url());  // what POST /log/deregister does
  ASSERT_TRUE(node->get()->AddToSet(kRegistrationsKey, receiver.url()).ok());
  notifier.RetryNow(receiver.url());
  ASSERT_TRUE(receiver.WaitFor(4));
  bodies = receiver.bodies();
  EXPECT_NE(bodies[2].find(R"("n":1)"), std::string::npos) << bodies[2];
  EXPECT_NE(bodies[3].find(R"("n":2)"), std::string::npos) << bodies[3];
  notifier.Stop();
  sequencer.Stop();
}

}  // namespace
}  // namespace pigtail

// For handler tests: a Server (server/server.h) on memory stores with a fake
// physical clock, without notifier or replicator (nothing leaves the
// process), whose Api is driven by Call() without a socket. Open() starts
// it (tests call it from SetUp, or again after Close() with other options);
// TearDown stops it.
#ifndef PIGTAIL_TESTS_SERVER_API_FIXTURE_H_
#define PIGTAIL_TESTS_SERVER_API_FIXTURE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/event_store.h"
#include "core/state_store.h"
#include "server/api.h"
#include "server/http_message.h"
#include "server/server.h"

namespace pigtail::testing {

class ApiFixture : public ::testing::Test {
 protected:
  void TearDown() override { Close(); }

  // Opens the node on `log` and `state_` (fresh memory stores when null).
  // The sequencer ticks every 10 ms unless `sequencer` says.
  void Open(const ApiOptions& options = ApiOptions(), SequencerOptions sequencer = Ticking(),
            std::unique_ptr<EventStore> log = nullptr);
  void Close();
  static SequencerOptions Ticking();

  // One request through the Api; 599 (and a test failure) when no answer
  // comes within 10 s.
  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    HttpHeaders headers = {});
  // The body parsed as JSON (a test failure when it is not).
  static boost::json::value Body(const HttpResponse& r);

  // POST /create of `name` with timeout_ms 1000 and `extra` members
  // (",\"max_attempts\":2"); expects 201.
  void CreateQueue(const std::string& name, const std::string& extra = "");
  // POST /queue/QUEUE; expects 201 and returns the id ("" on failure).
  std::string AddTask(const std::string& queue,
                      const std::string& body = R"({"task_name":"t","info":{"x":1}})");
  std::string Digest() { return Call("GET", "/digest").body; }
  uint64_t Events() { return node()->log()->Count().value(); }

  Node* node() { return server_->node(); }
  Api* api() { return server_->api(); }

  std::atomic<uint64_t> now_ns_{1'800'000'000'000'000'000ull};
  bool drop_finished_ = true;          // NodeOptions::drop_finished of the next Open()
  std::unique_ptr<StateStore> state_;  // the next Open()'s state store; memory when null
  std::unique_ptr<Server> server_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_SERVER_API_FIXTURE_H_

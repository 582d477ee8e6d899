// For handler tests (no sockets): a node on memory stores with a fake
// physical clock, its sequencer, and the Api, driven by Call(). Open()
// starts them (tests call it from SetUp, or again after Close() with other
// options); TearDown stops them.
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
#include "server/api.h"
#include "server/http_message.h"

namespace pigtail::testing {

class ApiFixture : public ::testing::Test {
 protected:
  void TearDown() override { Close(); }

  // Opens the node on `log` (a fresh memory store when null) and a memory
  // state store. The sequencer ticks every 10 ms unless `sequencer` says.
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
  uint64_t Events() { return node_->log()->Count().value(); }

  std::atomic<uint64_t> now_ns_{1'800'000'000'000'000'000ull};
  Metrics metrics_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<Api> api_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_SERVER_API_FIXTURE_H_

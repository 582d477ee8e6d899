// For the in-process replication tests: a whole node (memory stores,
// sequencer, notifier, API, HTTP server on 127.0.0.1 with a free port,
// and optionally a replicator) in the test process.
#ifndef PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_
#define PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/memory_store.h"
#include "server/api.h"
#include "server/http_client.h"
#include "server/http_server.h"
#include "server/replicator.h"

namespace pigtail::testing {

class TestNode {
 public:
  // REQUIRES: the stores open (memory ones always do).
  // `potboiler_only`: answer 404 on GET /log/range, POST /log/batch,
  // /health and /replication, as a Potboiler node does.
  // `api` sets the tokens (a replicator gets api.peer_token).
  // `max_body_bytes`: the largest request body the HTTP server takes.
  // `log`: the node's event store; a memory one when null.
  explicit TestNode(const ReplicatorOptions* replication = nullptr, bool potboiler_only = false,
                    const ApiOptions& api = ApiOptions(), size_t max_body_bytes = 16 << 20,
                    std::unique_ptr<EventStore> log = nullptr);
  ~TestNode();

  Node* node() { return node_.get(); }
  Sequencer* sequencer() { return sequencer_.get(); }
  Replicator* replicator() { return replicator_.get(); }
  const std::string& url() const { return url_; }

  // One request to this node over HTTP; a transport error is status 0.
  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {});
  // The total digest (GET /digest "total").
  std::string Digest();

 private:
  std::unique_ptr<Node> node_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<Notifier> notifier_;
  Metrics metrics_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<HttpServer> server_;
  std::string url_;
};

// Polls `condition` every 20 ms until it holds (true) or `limit` has passed
// (false).
template <typename F>
bool Eventually(F&& condition, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (int i = 0; i < 100'000; ++i) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_

// For the in-process replication tests: a whole node (a Server,
// server/server.h, on memory stores unless told, listening on 127.0.0.1 with a free
// port, optionally with a replicator) in the test process.
#ifndef PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_
#define PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_

#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "server/api.h"
#include "server/http_client.h"
#include "server/replicator.h"
#include "server/server.h"

namespace pigtail::testing {

class TestNode {
 public:
  // REQUIRES: the stores open (memory ones always do).
  // `potboiler_only`: answer 404 on GET /log/range, POST /log/batch,
  // /health and /replication, as a Potboiler node does.
  // `api` sets the tokens (a replicator gets api.peer_token).
  // `max_body_bytes`: the largest request body the HTTP server takes.
  // `log_uri` and `backend`: the node's event store (its state store is
  // in memory).
  explicit TestNode(const ReplicatorOptions* replication = nullptr, bool potboiler_only = false,
                    const ApiOptions& api = ApiOptions(), size_t max_body_bytes = 16 << 20,
                    const std::string& log_uri = "memory:",
                    const BackendOptions& backend = BackendOptions());

  Node* node() { return server_->node(); }
  Sequencer* sequencer() { return server_->sequencer(); }
  Replicator* replicator() { return server_->replicator(); }
  const std::string& url() const { return url_; }

  // One request to this node over HTTP; a transport error is status 0.
  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {});
  // The total digest (GET /digest "total").
  std::string Digest();

 private:
  std::unique_ptr<Server> server_;
  std::string url_;
};

// The body of `r` as JSON; a test failure, and null, when it is not.
boost::json::value Json(const HttpResponse& r);

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

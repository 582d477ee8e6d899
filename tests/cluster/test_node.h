// For the in-process replication tests: a whole node (a Server,
// server/server.h, on memory stores, listening on 127.0.0.1 with a free
// port, optionally with a replicator) in the test process.
#ifndef PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_
#define PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_

#include <memory>
#include <string>

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
  explicit TestNode(const ReplicatorOptions* replication = nullptr, bool potboiler_only = false,
                    const ApiOptions& api = ApiOptions(), size_t max_body_bytes = 16 << 20);

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

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CLUSTER_TEST_NODE_H_

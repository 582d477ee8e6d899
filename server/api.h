// The HTTP API of a node: the Potboiler log API, the Pigtail queue API and
// the extensions (docs/http_api.md). A function from HttpRequest to
// HttpResponse over a Node, its Sequencer and Notifier; no sockets, so it is
// unit-tested directly.
//
// Reads take the Node's shared lock; writes are submitted to the sequencer
// and answered when it completes them (so Handle may respond later, on the
// sequencer thread). Every response body is JSON except GET /metrics.
// Nothing a client sends makes Handle throw.
//
// Thread safety: Handle may be called concurrently.
#ifndef PIGTAIL_SERVER_API_H_
#define PIGTAIL_SERVER_API_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "server/claim_router.h"
#include "server/http_message.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/node.h"
#include "server/notifier.h"
#include "server/replicator.h"
#include "server/sequencer.h"
#include "server/serial_executor.h"

namespace pigtail {

struct ApiOptions {
  // When not empty, every endpoint but GET /health and GET /ready requires
  // "Authorization: Bearer <client_token>", except the peer endpoints.
  std::string client_token;
  // When not empty, POST /log/other, POST /event, /nodes, GET /log/range,
  // POST /log/batch and GET /replication require
  // "Authorization: Bearer <peer_token>"; GET /log, /log/first and
  // /log/{id} then accept it as well as the client token.
  std::string peer_token;
  // Shown by GET /health.
  std::string log_uri;
  std::string state_uri;
  // Limits of the extensions.
  size_t max_batch_tasks = 10'000;
  size_t max_claim = 1'000;
  uint64_t max_wait_ms = 60'000;
  // GET /log/range stops a page before its entries exceed this many bytes
  // (it always holds one entry) and says so with "Pigtail-Truncated: true".
  size_t max_range_bytes = 4 << 20;
  // With a replicator: claim-next requests go through a ClaimRouter
  // (server/claim_router.h), so each task is claimed by its home node.
  bool claim_routing = true;
  std::chrono::milliseconds forward_timeout{1'000};
};

class Api {
 public:
  // `notifier` may be null (no notifications).
  Api(Node* node, Sequencer* sequencer, Notifier* notifier, Metrics* metrics,
      const ApiOptions& options);

  void Handle(HttpRequest request, HttpResponder respond);

  // Answers the store reads still queued and stops taking requests. Call
  // after the HTTP server stopped dispatching (HttpServer::Shutdown) and
  // before it is destroyed: the answers go to its connections.
  void Stop();

  // Serves GET /replication and the per-peer metrics from `replicator`, and
  // tells it when /nodes changes. May stay unset (no replication). Call
  // before the first Handle.
  void set_replicator(Replicator* replicator);

 private:
  struct Call;  // one request being handled
  using Responder = HttpResponder;

  void Route(Call& call);
  // api_log.cc
  void LogHeads(Call& call, bool firsts);
  void LogGet(Call& call, const std::string& id);
  void LogPost(Call& call);
  void LogOther(Call& call, bool pigtail_event);
  void LogRegister(Call& call, bool add);
  void NodesGet(Call& call);
  void NodesChange(Call& call, bool add);
  // api_replication.cc
  void LogRange(Call& call);
  void LogBatch(Call& call);
  void ReplicationStatus(Call& call);
  // api_queue.cc
  void QueueCreate(Call& call);
  void QueueChange(Call& call, const std::string& name);
  void QueueList(Call& call);
  void QueueGet(Call& call, const std::string& name);
  void QueueAdd(Call& call, const std::string& name, bool batch);
  void QueueDelete(Call& call, const std::string& name);
  void QueueStats(Call& call, const std::string& name);
  // api_claim.cc
  void QueueClaim(Call& call, const std::string& name);
  void QueueDoneBatch(Call& call, const std::string& name);
  void TaskGet(Call& call, const std::string& name, const std::string& id);
  void TaskPut(Call& call, const std::string& name, const std::string& id);
  void TaskDelete(Call& call, const std::string& name, const std::string& id);
  void TaskFail(Call& call, const std::string& name, const std::string& id);
  void TaskCancel(Call& call, const std::string& name, const std::string& id);
  void TaskRetry(Call& call, const std::string& name, const std::string& id);
  void QueuePause(Call& call, const std::string& name, bool paused);
  void QueuePurge(Call& call, const std::string& name);
  void Digests(Call& call);
  void Health(Call& call);
  // api_health.cc: GET /ready, and the readiness gauges of /metrics.
  void Ready(Call& call);
  std::string ReadinessMetrics() const;
  void MetricsText(Call& call);
  // api_ui.cc: the dashboard's file `name` (GET /ui, /ui/{file}), and the
  // redirect of GET / to it.
  void UiFile(Call& call, const std::string& name);
  void UiRedirect(Call& call);

  Node* const node_;
  Sequencer* const sequencer_;
  Notifier* const notifier_;
  Metrics* const metrics_;
  const ApiOptions options_;
  Replicator* replicator_ = nullptr;
  std::unique_ptr<ClaimRouter> claim_router_;  // with a replicator and claim_routing
  // Runs what waits on a store off the HTTP I/O threads: the reads that need
  // the state store (a finished task by id, a listing of finished tasks),
  // a peer's page of the log, and on a remote log the other reads of the
  // log and the changes of the node's own records (Route()). Null after
  // Stop().
  std::unique_ptr<SerialExecutor> store_io_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_API_H_

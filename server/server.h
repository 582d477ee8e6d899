// One Pigtail node in a process: the HTTP server, the stores and the Node,
// the ingest sequencer (with its state committer), the notifier, the
// replicator (with its peer watches), the Api and, in attached mode, the
// external Potboiler log. pigtaild (tools/pigtaild.cc) runs one; tests that
// need a whole node in their process run one the same way.
//
// Start order (Server::Start):
//   1. listen; until step 5 every request but /health gets 503 "loading"
//      (server/startup_handler.h);
//   2. open the log and the state store, load the Node (catch up the log);
//   3. attached mode: open the external log;
//   4. start the sequencer and the notifier (if any);
//   5. serve the Api;
//   6. attached mode: register this node's /event URL with the external log;
//   7. start the replicator.
// Stop order (Server::Stop):
//   1. the sequencer refuses new writes (503), and the HTTP server drains
//      the requests in flight for up to `drain`, then closes every connection;
//   2. stop the replicator (no more peer entries);
//   3. stop the sequencer (its last batch and the final state commit);
//   4. stop the notifier;
//   5. close the stores.
//
// Thread safety: Start and Stop from one thread; the accessors are safe
// while the server runs.
#ifndef PIGTAIL_SERVER_SERVER_H_
#define PIGTAIL_SERVER_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "backends/registry.h"
#include "core/status.h"
#include "server/api.h"
#include "server/config.h"
#include "server/external_log.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/node.h"
#include "server/notifier.h"
#include "server/replicator.h"
#include "server/sequencer.h"
#include "server/startup_handler.h"

namespace pigtail {

struct ServerOptions {
  HttpServerOptions http;
  // The stores, opened through backends/registry.h.
  std::string log_uri = "memory:";
  std::string state_uri = "memory:";
  BackendOptions backend;
  // Stores opened by the caller, used instead of opening log_uri /
  // state_uri when set (tests: a store that injects faults, or one filled
  // beforehand). The server owns them from Start on.
  std::unique_ptr<EventStore> log;
  std::unique_ptr<StateStore> state;
  NodeOptions node;
  // external_write is set by the server in attached mode.
  SequencerOptions sequencer;
  // Delivery to the URLs of /log/register; none: no notifier (URLs are
  // stored, nothing is delivered).
  std::optional<NotifierOptions> notifier = NotifierOptions();
  // log_uri and state_uri are set by the server.
  ApiOptions api;
  // Replication with the peers of /nodes; none: no replicator. Its
  // peer_token is api.peer_token. An empty advertise_url is, with
  // advertise_bound_address, http://<http.host>:<the port bound>.
  std::optional<ReplicatorOptions> replication;
  bool advertise_bound_address = false;
  // Attached mode (server/external_log.h) when potboiler_url is set: the
  // /event URL registered there is advertise_url (or
  // http://<http.host>:<the port bound>) followed by "/event".
  std::string potboiler_url;
  ExternalLogOptions external;
  std::string advertise_url;
  std::chrono::milliseconds potboiler_wait{30'000};
  // How long Stop() waits for the requests in flight.
  std::chrono::milliseconds drain{10'000};
  // For tests: sees every request before the Api and returns true when it
  // answered it.
  std::function<bool(const HttpRequest&, const HttpResponder&)> intercept;
};

// The options pigtaild's flags describe.
ServerOptions ServerOptionsFromConfig(const ServerConfig& config);

class Server {
 public:
  // Starts the node in the order above. On an error, whatever started is
  // stopped again (without draining) and the error returned: IOError or
  // InvalidArgument when it cannot listen, the stores' errors (a locked
  // store says so), the external log's.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops the node in the order above and destroys its parts (the
  // accessors below return null afterwards). Idempotent.
  void Stop();

  // The port bound (the one asked for, or the one picked for port 0).
  uint16_t port() const;
  Node* node() { return node_.get(); }
  Sequencer* sequencer() { return sequencer_.get(); }
  Notifier* notifier() { return notifier_.get(); }        // null without notifier
  Replicator* replicator() { return replicator_.get(); }  // null without replication
  Api* api() { return api_.get(); }
  Metrics* metrics() { return &metrics_; }
  ExternalLog* external_log() { return external_.get(); }  // null unless attached
  // Attached mode: the /event URL registered with the external log.
  const std::string& event_url() const { return event_url_; }

 private:
  explicit Server(ServerOptions options);
  Status Listen();
  Status Load();
  Status Serve();
  void Stop(std::chrono::milliseconds drain);

  ServerOptions options_;
  StartupHandler startup_;
  Metrics metrics_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<ExternalLog> external_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<Api> api_;
  std::string event_url_;
  // Last: its threads call into the members above until Stop.
  std::unique_ptr<HttpServer> http_;
  bool stopped_ = false;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_SERVER_H_

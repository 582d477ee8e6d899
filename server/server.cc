#include "server/server.h"

#include <utility>

#include "server/log.h"

namespace pigtail {

ServerOptions ServerOptionsFromConfig(const ServerConfig& config) {
  ServerOptions o;
  o.http.host = config.host;
  o.http.port = config.port;
  o.http.threads = config.threads;
  o.http.max_body_bytes = config.max_body_bytes;
  o.http.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  o.log_uri = config.EffectiveLogUri();
  o.state_uri = config.EffectiveStateUri();
  o.backend.postgres_schema = config.postgres_schema;
  o.backend.rocksdb_memory_bytes = config.rocksdb_memory_mb << 20;
  o.backend.on_created = [](const std::string& where) {
    log::Info("created a new store at " + where);
  };
  o.node.max_clock_offset_ms = config.max_clock_offset_ms;
  o.node.drop_finished = config.finished_tasks == "store";
  o.sequencer.sync = config.sync == "none" ? SyncMode::kNone : SyncMode::kBatch;
  o.sequencer.adaptive_group_commit = config.group_commit == "adaptive";
  o.sequencer.max_batch = config.max_batch;
  o.sequencer.batch_ops = config.batch_ops == "on";
  o.api.client_token = config.client_token;
  o.api.peer_token = config.peer_token;
  o.api.claim_routing = config.claim_routing == "home";
  // Peers are told this node's URL: --advertise-url, else http://<listen>
  // when the port is fixed and the host is not a wildcard.
  ReplicatorOptions& replication = o.replication.emplace();
  replication.advertise_url = config.advertise_url;
  o.advertise_bound_address = config.port != 0 && config.host != "0.0.0.0" && config.host != "::";
  replication.anti_entropy = std::chrono::milliseconds(config.anti_entropy_ms);
  replication.request_timeout = std::chrono::milliseconds(config.replication_timeout_ms);
  replication.max_backoff = std::chrono::milliseconds(config.replication_max_backoff_ms);
  replication.batch = config.replication_batch;
  o.potboiler_url = config.potboiler_url;
  o.external.token = config.potboiler_token;
  o.advertise_url = config.advertise_url;
  o.potboiler_wait = std::chrono::milliseconds(config.potboiler_wait_ms);
  o.drain = std::chrono::milliseconds(config.drain_ms);
  return o;
}

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  std::unique_ptr<Server> server(new Server(std::move(options)));
  Status started = server->Listen();
  if (started.ok()) started = server->Load();
  if (started.ok()) started = server->Serve();
  if (!started.ok()) {
    server->Stop(std::chrono::milliseconds(0));
    return started;
  }
  return server;
}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return options_.http.port; }

// Step 1.
Status Server::Listen() {
  PIGTAIL_ASSIGN_OR_RETURN(
      http_, HttpServer::Start(options_.http, [this](HttpRequest req, HttpResponder respond) {
        if (options_.intercept && options_.intercept(req, respond)) return;
        startup_.Handle(std::move(req), std::move(respond));
      }));
  options_.http.port = http_->port();
  return Status::Ok();
}

// Steps 2 to 4.
Status Server::Load() {
  auto opening = [](const Status& s, const char* what) {
    if (!IsStoreLocked(s)) return s.WithContext(what);
    return Status::Unavailable(s.message() + "; is another pigtaild running on it?")
        .WithContext(what);
  };
  if (!options_.log) {
    // A syncing node syncs every append before it writes the next, which a
    // log written over zeros needs (backends/registry.h).
    BackendOptions backend = options_.backend;
    backend.rocksdb_log_wal_zero_fill = options_.sequencer.sync == SyncMode::kBatch;
    Result<std::unique_ptr<EventStore>> log = OpenEventStore(options_.log_uri, backend);
    if (!log.ok()) return opening(log.status(), "opening the log");
    options_.log = std::move(log).value();
  }
  if (!options_.state) {
    // The node catches its state up from the log at start, so its commits
    // need not also go through RocksDB's write-ahead log.
    BackendOptions backend = options_.backend;
    backend.rocksdb_state_commits_skip_wal = true;
    Result<std::unique_ptr<StateStore>> state = OpenStateStore(options_.state_uri, backend);
    if (!state.ok()) return opening(state.status(), "opening the state store");
    options_.state = std::move(state).value();
  }
  PIGTAIL_ASSIGN_OR_RETURN(
      node_, Node::Open(std::move(options_.log), std::move(options_.state), options_.node));

  SequencerOptions sequencer = options_.sequencer;
  if (!options_.potboiler_url.empty()) {
    Result<std::unique_ptr<ExternalLog>> opened =
        ExternalLog::Open(options_.potboiler_url, options_.external);
    if (!opened.ok()) return opened.status().WithContext("--potboiler-url");
    external_ = std::move(opened).value();
    sequencer.external_write = [log = external_.get()](const std::string& data,
                                                       const std::vector<Uuid>& deps) {
      return log->Write(data, deps);
    };
  }
  sequencer_ = std::make_unique<Sequencer>(node_.get(), sequencer);
  if (options_.notifier) notifier_ = std::make_unique<Notifier>(node_.get(), *options_.notifier);
  if (options_.replication) {
    ReplicatorOptions replication = *options_.replication;
    if (replication.advertise_url.empty() && options_.advertise_bound_address) {
      replication.advertise_url =
          "http://" + options_.http.host + ":" + std::to_string(options_.http.port);
    }
    while (replication.advertise_url.ends_with("/")) replication.advertise_url.pop_back();
    replication.peer_token = options_.api.peer_token;
    replicator_ = std::make_unique<Replicator>(node_.get(), sequencer_.get(), replication);
  }
  sequencer_->set_on_applied([notifier = notifier_.get(), replicator = replicator_.get()] {
    if (notifier != nullptr) notifier->EntriesAppended();
    if (replicator != nullptr) replicator->Wake();
  });
  ApiOptions api = options_.api;
  api.log_uri = options_.log_uri;
  api.state_uri = options_.state_uri;
  api_ = std::make_unique<Api>(node_.get(), sequencer_.get(), notifier_.get(), &metrics_, api);
  if (replicator_) api_->set_replicator(replicator_.get());
  sequencer_->Start();
  if (notifier_) notifier_->Start();
  return Status::Ok();
}

// Steps 5 to 7.
Status Server::Serve() {
  startup_.set_api(api_.get());
  if (external_ != nullptr) {
    // Registered once the Api serves, so the log can deliver at once; a
    // repeat (a restart) is a 201 too, and delivery resumes from the log's
    // cursor. A node with an empty log (new, or its data lost) starts the
    // log's delivery from the beginning instead of from a cursor of an
    // earlier life at the same URL.
    event_url_ = AttachedEventUrl(options_.advertise_url, options_.http.host, options_.http.port);
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, node_->log()->LastSequence());
    PIGTAIL_RETURN_IF_ERROR(external_->Register(event_url_, options_.potboiler_wait));
    if (last == 0) {
      PIGTAIL_RETURN_IF_ERROR(external_->Deregister(event_url_));
      PIGTAIL_RETURN_IF_ERROR(external_->Register(event_url_, options_.potboiler_wait));
    }
  }
  if (replicator_) replicator_->Start();
  return Status::Ok();
}

void Server::Stop() { Stop(options_.drain); }

void Server::Stop(std::chrono::milliseconds drain) {
  if (stopped_) return;
  stopped_ = true;
  if (sequencer_) sequencer_->BeginShutdown();
  if (http_) http_->Shutdown(drain);
  if (replicator_) replicator_->Stop();
  if (sequencer_) sequencer_->Stop();
  if (notifier_) notifier_->Stop();
  if (api_) api_->Stop();
  http_.reset();
  api_.reset();
  replicator_.reset();
  notifier_.reset();
  sequencer_.reset();
  node_.reset();  // closes the stores
  external_.reset();
}

}  // namespace pigtail

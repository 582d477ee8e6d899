// pigtaild: serves the Potboiler log API and the Pigtail queue API over
// HTTP (see docs/http_api.md and `pigtaild --help`).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/redact.h"
#include "core/version.h"
#include "server/api.h"
#include "server/config.h"
#include "server/config_log.h"
#include "server/external_log.h"
#include "server/http_server.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/node.h"
#include "server/notifier.h"
#include "server/replicator.h"
#include "server/sequencer.h"
#include "server/startup_handler.h"

namespace {

int Fail(const pigtail::Status& status) {
  std::fprintf(stderr, "pigtaild: %s\n", pigtail::RedactSecrets(status.ToString()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pigtail;
  std::vector<std::string> args(argv, argv + argc);
  bool help = false;
  bool version = false;
  Result<ServerConfig> parsed = ParseServerConfig(
      args, [](const char* name) { return std::getenv(name); }, &help, &version);
  if (!parsed.ok()) {
    std::fprintf(stderr, "pigtaild: %s\n(run `pigtaild --help` for usage)\n",
                 RedactSecrets(parsed.status().message()).c_str());
    return 2;  // a usage error
  }
  if (help) {
    std::fputs(ServerConfigHelp().c_str(), stdout);
    return 0;
  }
  if (version) {
    std::printf("pigtaild %s\n", std::string(PigtailVersion()).c_str());
    return 0;
  }
  const ServerConfig& config = *parsed;
  if (Status logging = log::Init(config.log_level, config.log_format, config.access_log);
      !logging.ok()) {
    return Fail(logging);
  }

  // Block the stop signals before any thread starts; main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Listen at once: while the node loads, /health answers 200 and /ready
  // (and every other request) 503 "loading" (server/startup_handler.h).
  StartupHandler startup;
  HttpServerOptions http_options;
  http_options.host = config.host;
  http_options.port = config.port;
  http_options.threads = config.threads;
  http_options.max_body_bytes = config.max_body_bytes;
  http_options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(http_options, [&startup](HttpRequest req, HttpResponder respond) {
        startup.Handle(std::move(req), std::move(respond));
      });
  if (!server.ok()) return Fail(server.status());
  // Stops listening, then fails: for errors before the node serves.
  auto fail_listening = [&server](const Status& status) {
    (*server)->Shutdown(std::chrono::milliseconds(0));
    return Fail(status);
  };

  BackendOptions backend_options;
  backend_options.postgres_schema = config.postgres_schema;
  backend_options.on_created = [](const std::string& where) {
    log::Info("created a new store at " + where);
  };
  auto opening = [](const Status& s, const char* what) {
    if (!IsStoreLocked(s)) return s.WithContext(what);
    return Status::Unavailable(s.message() + "; is another pigtaild running on it?")
        .WithContext(what);
  };
  Result<std::unique_ptr<EventStore>> log =
      OpenEventStore(config.EffectiveLogUri(), backend_options);
  if (!log.ok()) return fail_listening(opening(log.status(), "opening the log"));
  Result<std::unique_ptr<StateStore>> state =
      OpenStateStore(config.EffectiveStateUri(), backend_options);
  if (!state.ok()) return fail_listening(opening(state.status(), "opening the state store"));

  NodeOptions node_options;
  node_options.max_clock_offset_ms = config.max_clock_offset_ms;
  Result<std::unique_ptr<Node>> node =
      Node::Open(std::move(log).value(), std::move(state).value(), node_options);
  if (!node.ok()) return fail_listening(node.status());

  SequencerOptions seq_options;
  seq_options.sync = config.sync == "none" ? SyncMode::kNone : SyncMode::kBatch;
  seq_options.max_batch = config.max_batch;
  seq_options.batch_ops = config.batch_ops == "on";
  std::unique_ptr<ExternalLog> external;
  if (!config.potboiler_url.empty()) {
    ExternalLogOptions external_options;
    external_options.token = config.potboiler_token;
    Result<std::unique_ptr<ExternalLog>> opened =
        ExternalLog::Open(config.potboiler_url, external_options);
    if (!opened.ok()) return fail_listening(opened.status().WithContext("--potboiler-url"));
    external = std::move(opened).value();
    seq_options.external_write = [log = external.get()](const std::string& data,
                                                        const std::vector<Uuid>& deps) {
      return log->Write(data, deps);
    };
  }
  Sequencer sequencer(node->get(), seq_options);
  Notifier notifier(node->get(), NotifierOptions());
  // Replication with the peers of /nodes. Peers are told this node's URL:
  // --advertise-url, else http://<listen> when the port is fixed.
  ReplicatorOptions repl_options;
  repl_options.advertise_url = config.advertise_url;
  if (repl_options.advertise_url.empty() && config.port != 0 && config.host != "0.0.0.0" &&
      config.host != "::") {
    repl_options.advertise_url = "http://" + config.host + ":" + std::to_string(config.port);
  }
  while (repl_options.advertise_url.ends_with("/")) repl_options.advertise_url.pop_back();
  repl_options.peer_token = config.peer_token;
  repl_options.anti_entropy = std::chrono::milliseconds(config.anti_entropy_ms);
  repl_options.request_timeout = std::chrono::milliseconds(config.replication_timeout_ms);
  repl_options.max_backoff = std::chrono::milliseconds(config.replication_max_backoff_ms);
  repl_options.batch = config.replication_batch;
  Replicator replicator(node->get(), &sequencer, repl_options);
  sequencer.set_on_applied([&notifier, &replicator] {
    notifier.EntriesAppended();
    replicator.Wake();
  });
  Metrics metrics;
  ApiOptions api_options;
  api_options.client_token = config.client_token;
  api_options.peer_token = config.peer_token;
  api_options.log_uri = config.EffectiveLogUri();
  api_options.state_uri = config.EffectiveStateUri();
  Api api(node->get(), &sequencer, &notifier, &metrics, api_options);
  api.set_replicator(&replicator);

  sequencer.Start();
  notifier.Start();
  startup.set_api(&api);
  std::string attached;
  if (external != nullptr) {
    // Registered once we listen, so the log can deliver at once; a repeat
    // (a restart) is a 201 too, and delivery resumes from the log's cursor.
    // A node with an empty log (new, or its data lost) starts the log's
    // delivery from the beginning instead of from a cursor of an earlier
    // life at the same URL.
    std::string event_url = AttachedEventUrl(config, (*server)->port());
    Result<uint64_t> last = (*node)->log()->LastSequence();
    Status registered = last.status();
    if (registered.ok()) {
      registered =
          external->Register(event_url, std::chrono::milliseconds(config.potboiler_wait_ms));
    }
    if (registered.ok() && *last == 0) {
      registered = external->Deregister(event_url);
      if (registered.ok()) {
        registered =
            external->Register(event_url, std::chrono::milliseconds(config.potboiler_wait_ms));
      }
    }
    if (!registered.ok()) {
      (*server)->Shutdown(std::chrono::milliseconds(0));
      sequencer.Stop();
      notifier.Stop();
      return Fail(registered);
    }
    attached = ", attached to the Potboiler log " + external->base_url() + " as " + event_url;
  }
  replicator.Start();
  std::string where = config.host + ":" + std::to_string((*server)->port());
  std::printf("pigtaild listening on http://%s (node %s, log %s, state %s, sync %s%s)\n",
              where.c_str(), (*node)->id().ToString().c_str(),
              RedactSecrets(config.EffectiveLogUri()).c_str(),
              RedactSecrets(config.EffectiveStateUri()).c_str(), config.sync.c_str(),
              RedactSecrets(attached).c_str());
  std::fflush(stdout);
  LogEffectiveConfig(config, where, (*node)->id().ToString());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("stopping: draining requests",
            {{"signal", signal_number}, {"drain_ms", config.drain_ms}});
  sequencer.BeginShutdown();
  (*server)->Shutdown(std::chrono::milliseconds(config.drain_ms));
  replicator.Stop();
  sequencer.Stop();
  notifier.Stop();
  server->reset();
  node->reset();  // closes the stores
  log::Info("stopped cleanly");
  log::Flush();
  return 0;
}

// pigtaild: serves the Potboiler log API and the Pigtail queue API over
// HTTP (see docs/http_api.md and `pigtaild --help`).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "server/api.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/node.h"
#include "server/notifier.h"
#include "server/sequencer.h"

namespace {

int Fail(const pigtail::Status& status) {
  std::fprintf(stderr, "pigtaild: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pigtail;
  std::vector<std::string> args(argv, argv + argc);
  bool help = false;
  Result<ServerConfig> parsed = ParseServerConfig(
      args, [](const char* name) { return std::getenv(name); }, &help);
  if (help) {
    std::fputs(ServerConfigHelp().c_str(), stdout);
    return 0;
  }
  if (!parsed.ok()) return Fail(parsed.status());
  const ServerConfig& config = *parsed;

  // Block the stop signals before any thread starts; main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  BackendOptions backend_options;
  backend_options.postgres_schema = config.postgres_schema;
  Result<std::unique_ptr<EventStore>> log =
      OpenEventStore(config.EffectiveLogUri(), backend_options);
  if (!log.ok()) return Fail(log.status().WithContext("opening the log: "));
  Result<std::unique_ptr<StateStore>> state =
      OpenStateStore(config.EffectiveStateUri(), backend_options);
  if (!state.ok()) return Fail(state.status().WithContext("opening the state store: "));

  NodeOptions node_options;
  node_options.max_clock_offset_ms = config.max_clock_offset_ms;
  Result<std::unique_ptr<Node>> node =
      Node::Open(std::move(log).value(), std::move(state).value(), node_options);
  if (!node.ok()) return Fail(node.status());

  SequencerOptions seq_options;
  seq_options.sync = config.sync == "none" ? SyncMode::kNone : SyncMode::kBatch;
  seq_options.max_batch = config.max_batch;
  Sequencer sequencer(node->get(), seq_options);
  Notifier notifier(node->get(), NotifierOptions());
  sequencer.set_on_applied([&notifier] { notifier.Wake(); });
  Metrics metrics;
  ApiOptions api_options;
  api_options.client_token = config.client_token;
  api_options.peer_token = config.peer_token;
  api_options.log_uri = config.EffectiveLogUri();
  api_options.state_uri = config.EffectiveStateUri();
  Api api(node->get(), &sequencer, &notifier, &metrics, api_options);

  sequencer.Start();
  notifier.Start();
  HttpServerOptions http_options;
  http_options.host = config.host;
  http_options.port = config.port;
  http_options.threads = config.threads;
  http_options.max_body_bytes = config.max_body_bytes;
  http_options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(http_options, [&api](HttpRequest req, HttpResponder respond) {
        api.Handle(std::move(req), std::move(respond));
      });
  if (!server.ok()) {
    sequencer.Stop();
    notifier.Stop();
    return Fail(server.status());
  }
  std::string where = config.host + ":" + std::to_string((*server)->port());
  std::printf("pigtaild listening on http://%s (node %s, log %s, state %s, sync %s)\n",
              where.c_str(), (*node)->id().ToString().c_str(), config.EffectiveLogUri().c_str(),
              config.EffectiveStateUri().c_str(), config.sync.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "pigtaild: signal %d, draining\n", signal_number);
  sequencer.BeginShutdown();
  (*server)->Shutdown(std::chrono::milliseconds(config.drain_ms));
  sequencer.Stop();
  notifier.Stop();
  server->reset();
  node->reset();  // closes the stores
  std::fprintf(stderr, "pigtaild: stopped cleanly\n");
  return 0;
}

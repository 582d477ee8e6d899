// pigtaild: serves the Potboiler log API and the Pigtail queue API over
// HTTP (see docs/http_api.md and `pigtaild --help`). A thin main: parse the
// flags, start a Server (server/server.h), wait for SIGTERM or SIGINT, stop.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/exit_code.h"
#include "core/redact.h"
#include "core/version.h"
#include "server/config.h"
#include "server/config_log.h"
#include "server/log.h"
#include "server/server.h"

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
    return cli::kExitUsage;
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
  // Block the stop signals before any thread starts (log::Init starts
  // spdlog's flusher with --access-log); main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (Status logging = log::Init(config.log_level, config.log_format, config.access_log);
      !logging.ok()) {
    return Fail(logging);
  }

  Result<std::unique_ptr<Server>> server = Server::Start(ServerOptionsFromConfig(config));
  if (!server.ok()) return Fail(server.status());
  std::string attached;
  if (ExternalLog* external = (*server)->external_log(); external != nullptr) {
    attached =
        ", attached to the Potboiler log " + external->base_url() + " as " + (*server)->event_url();
  }
  std::string where = config.host + ":" + std::to_string((*server)->port());
  std::string node_id = (*server)->node()->id().ToString();
  std::printf("pigtaild listening on http://%s (node %s, log %s, state %s, sync %s%s)\n",
              where.c_str(), node_id.c_str(), RedactSecrets(config.EffectiveLogUri()).c_str(),
              RedactSecrets(config.EffectiveStateUri()).c_str(), config.sync.c_str(),
              RedactSecrets(attached).c_str());
  std::fflush(stdout);
  LogEffectiveConfig(config, where, node_id);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("stopping: draining requests",
            {{"signal", signal_number}, {"drain_ms", config.drain_ms}});
  (*server)->Stop();
  log::Info("stopped cleanly");
  log::Flush();
  return 0;
}

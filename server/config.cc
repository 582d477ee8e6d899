#include "server/config.h"

#include <charconv>
#include <thread>

#include "backends/registry.h"
#include "cli/flags.h"
#include "core/redact.h"
#include "server/http_client.h"

namespace pigtail {

int DefaultHttpThreads() { return std::thread::hardware_concurrency() <= 2 ? 1 : 2; }

namespace {

namespace po = boost::program_options;

constexpr char kUsage[] =
    "pigtaild: a Potboiler-compatible log node with the Pigtail queue API\n\n"
    "usage: pigtaild [--flag value | --flag=value]...\n";

// Every flag of pigtaild, bound to the fields of *c. The defaults are those
// of ServerConfig's members.
po::options_description Describe(ServerConfig* c) {
  const ServerConfig d;
  po::options_description flags("pigtaild");
  auto text = [](std::string* field, const char* name) {
    return po::value(field)->value_name(name);
  };
  // clang-format off
  flags.add_options()
      ("config", po::value<std::string>()->value_name("FILE"),
       "read `flag = value` lines (# comments) from FILE")
      ("listen", text(&c->listen, "HOST:PORT")->default_value(d.listen),
       "address to listen on; HOST is an IP address or a name (resolved); port 0 picks one")
      ("backend", text(&c->backend, "URI")->default_value(d.backend),
       "URI of the log and state backends: rocksdb:PATH, postgresql://..., memory:")
      ("log", text(&c->log_uri, "URI"),
       "URI of the log (event store) backend; overrides --backend")
      ("state", text(&c->state_uri, "URI"),
       "URI of the state store backend; overrides --backend")
      ("postgres-schema", text(&c->postgres_schema, "NAME")->default_value(d.postgres_schema),
       "PostgreSQL schema for Pigtail's tables")
      ("threads", po::value(&c->threads)->value_name("N")->default_value(d.threads),
       "HTTP I/O threads (the routes that wait on a store run on a thread of their own)")
      ("sync", text(&c->sync, "MODE")->default_value(d.sync),
       "durability: batch (each write batch is synced before replies) or none")
      ("group-commit", text(&c->group_commit, "adaptive|off")->default_value(d.group_commit),
       "with --sync batch: adaptive: while syncs are most of a write batch's cost, a batch "
       "waits (at most one sync's time) for the clients the previous batch answered, so more "
       "requests share a sync; off: a batch takes what has queued and goes")
      ("batch-ops", text(&c->batch_ops, "on|off")->default_value(d.batch_ops),
       "on: the claims of one claim-next, or the dones of one batched done, are one Batch log "
       "entry; off: one entry per op, as the original Pigtail writes them (attached mode always "
       "writes one per op)")
      ("claim-routing", text(&c->claim_routing, "home|local")->default_value(d.claim_routing),
       "home: with replication peers, a task is claimed by its home node while that node is "
       "reachable, and claims on other nodes ask it (no duplicate runs in a healthy cluster); "
       "local: every node hands out every task it knows (docs/replication.md)")
      ("finished-tasks", text(&c->finished_tasks, "store|memory")->default_value(d.finished_tasks),
       "store: a finished task (done, dead, cancelled, purged) leaves memory once the state "
       "store holds it, so memory holds the live tasks; memory: every task stays in memory")
      ("rocksdb-memory-mb",
       po::value(&c->rocksdb_memory_mb)->value_name("MB")->default_value(d.rocksdb_memory_mb),
       "RocksDB's memory for the log and the state together: a block cache with the memtables "
       "charged to it (they take at most half)")
      ("max-clock-offset-ms",
       po::value(&c->max_clock_offset_ms)->value_name("MS")->default_value(d.max_clock_offset_ms),
       "defer (do not store now; fetch again later) peer entries stamped further ahead of our "
       "clock than this")
      ("client-token", text(&c->client_token, "TOKEN"),
       "bearer token required on the client API (default: none)")
      ("peer-token", text(&c->peer_token, "TOKEN"),
       "bearer token required on POST /log/other, POST /event and /nodes (default: none)")
      ("max-body-bytes",
       po::value(&c->max_body_bytes)->value_name("N")->default_value(d.max_body_bytes),
       "largest accepted request body; larger gets 413")
      ("read-timeout-ms",
       po::value(&c->read_timeout_ms)->value_name("MS")->default_value(d.read_timeout_ms),
       "a connection must deliver a whole request within this, and idle keep-alive connections "
       "close after it")
      ("max-batch", po::value(&c->max_batch)->value_name("N")->default_value(d.max_batch),
       "most write requests per group commit")
      ("drain-ms", po::value(&c->drain_ms)->value_name("MS")->default_value(d.drain_ms),
       "on SIGTERM/SIGINT, how long to wait for in-flight requests")
      ("potboiler-url", text(&c->potboiler_url, "URL"),
       "run the queue API attached to the external Potboiler log at this http:// URL: register "
       "this node's /event URL there and write every queue op to it (default: none; this node "
       "is its own log)")
      ("advertise-url", text(&c->advertise_url, "URL"),
       "the http:// URL under which others reach this node: replication peers are told it "
       "(POST /nodes), and with --potboiler-url the external log gets it with /event appended "
       "(default http://<listen>, with the port actually bound)")
      ("anti-entropy-ms",
       po::value(&c->anti_entropy_ms)->value_name("MS")->default_value(d.anti_entropy_ms),
       "replication: compare heads with each peer and fetch what is missing this often")
      ("replication-timeout-ms",
       po::value(&c->replication_timeout_ms)->value_name("MS")
           ->default_value(d.replication_timeout_ms),
       "replication: timeout of one request to a peer")
      ("replication-max-backoff-ms",
       po::value(&c->replication_max_backoff_ms)->value_name("MS")
           ->default_value(d.replication_max_backoff_ms),
       "replication: longest wait between retries to an unreachable peer")
      ("replication-batch",
       po::value(&c->replication_batch)->value_name("N")->default_value(d.replication_batch),
       "replication: entries per push batch and per range page")
      ("potboiler-token", text(&c->potboiler_token, "TOKEN"),
       "with --potboiler-url: bearer token sent to the external log (default: none)")
      ("potboiler-wait-ms",
       po::value(&c->potboiler_wait_ms)->value_name("MS")->default_value(d.potboiler_wait_ms),
       "with --potboiler-url: how long to keep trying to register with the external log at "
       "start before giving up")
      ("log-level", text(&c->log_level, "LEVEL")->default_value(d.log_level),
       "log lines on stderr from this level up: debug, info, warn, error, off")
      ("log-format", text(&c->log_format, "FORMAT")->default_value(d.log_format),
       "log line format: text, or json (one JSON object per line)")
      ("access-log", text(&c->access_log, "FILE"),
       "append one line per HTTP request to this file (default: none)")
      ("help,h", po::bool_switch(), "print this text")
      ("version", po::bool_switch(), "print the version and the commit it was built from");
  // clang-format on
  return flags;
}

template <typename T>
Status ParseNumber(const std::string& text, const char* name, T* out) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument(std::string("--") + name + ": not a number: \"" + text + "\"");
  }
  *out = value;
  return Status::Ok();
}

Status Finish(ServerConfig* c) {
  size_t colon = c->listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--listen must be HOST:PORT, got \"" + c->listen + "\"");
  }
  c->host = c->listen.substr(0, colon);
  if (c->host.size() > 2 && c->host.front() == '[' && c->host.back() == ']') {
    c->host = c->host.substr(1, c->host.size() - 2);
  }
  PIGTAIL_RETURN_IF_ERROR(ParseNumber(c->listen.substr(colon + 1), "listen", &c->port));
  if (c->sync != "batch" && c->sync != "none") {
    return Status::InvalidArgument("--sync must be batch or none, got \"" + c->sync + "\"");
  }
  if (c->group_commit != "adaptive" && c->group_commit != "off") {
    return Status::InvalidArgument("--group-commit must be adaptive or off, got \"" +
                                   c->group_commit + "\"");
  }
  if (c->finished_tasks != "store" && c->finished_tasks != "memory") {
    return Status::InvalidArgument("--finished-tasks must be store or memory, got \"" +
                                   c->finished_tasks + "\"");
  }
  if (c->batch_ops != "on" && c->batch_ops != "off") {
    return Status::InvalidArgument("--batch-ops must be on or off, got \"" + c->batch_ops + "\"");
  }
  if (c->claim_routing != "home" && c->claim_routing != "local") {
    return Status::InvalidArgument("--claim-routing must be home or local, got \"" +
                                   c->claim_routing + "\"");
  }
  if (c->threads < 1 || c->threads > 256) {
    return Status::InvalidArgument("--threads must be 1 to 256");
  }
  if (c->max_batch < 1) return Status::InvalidArgument("--max-batch must be at least 1");
  if (c->rocksdb_memory_mb < kMinRocksDbMemoryMb || c->rocksdb_memory_mb > kMaxRocksDbMemoryMb) {
    return Status::InvalidArgument(
        "--rocksdb-memory-mb must be " + std::to_string(kMinRocksDbMemoryMb) + " to " +
        std::to_string(kMaxRocksDbMemoryMb) + ", got " + std::to_string(c->rocksdb_memory_mb));
  }
  if (c->anti_entropy_ms < 10) return Status::InvalidArgument("--anti-entropy-ms must be >= 10");
  if (c->replication_timeout_ms < 10) {
    return Status::InvalidArgument("--replication-timeout-ms must be >= 10");
  }
  if (c->replication_batch < 1 || c->replication_batch > 10'000) {
    return Status::InvalidArgument("--replication-batch must be 1 to 10000");
  }
  for (const std::string* url : {&c->potboiler_url, &c->advertise_url}) {
    if (url->empty()) continue;
    Status valid = ParseHttpUrl(*url).status();
    if (!valid.ok()) {
      return Status::InvalidArgument(
          std::string(url == &c->potboiler_url ? "--potboiler-url" : "--advertise-url") + ": " +
          valid.message());
    }
  }
  if (c->max_body_bytes < 1024) return Status::InvalidArgument("--max-body-bytes must be >= 1024");
  if (c->log_level != "debug" && c->log_level != "info" && c->log_level != "warn" &&
      c->log_level != "error" && c->log_level != "off") {
    return Status::InvalidArgument("--log-level must be debug, info, warn, error or off, got \"" +
                                   c->log_level + "\"");
  }
  if (c->log_format != "text" && c->log_format != "json") {
    return Status::InvalidArgument("--log-format must be text or json, got \"" + c->log_format +
                                   "\"");
  }
  return Status::Ok();
}

Result<ServerConfig> ParseUnmasked(const std::vector<std::string>& args, const GetEnv& env,
                                   bool* help, bool* version) {
  ServerConfig config;
  po::options_description flags = Describe(&config);
  po::variables_map vm;
  PIGTAIL_RETURN_IF_ERROR(
      cli::ParseFlags(std::vector<std::string>(args.begin() + (args.empty() ? 0 : 1), args.end()),
                      flags, nullptr, cli::FlagSources{"PIGTAIL_", env}, &vm));
  *help = vm["help"].as<bool>();
  if (version != nullptr) *version = vm["version"].as<bool>();
  if (*help || (version != nullptr && *version)) return ServerConfig();
  PIGTAIL_RETURN_IF_ERROR(Finish(&config));
  return config;
}

}  // namespace

Result<ServerConfig> ParseServerConfig(const std::vector<std::string>& args, const GetEnv& env,
                                       bool* help, bool* version) {
  *help = false;
  if (version != nullptr) *version = false;
  Result<ServerConfig> config = ParseUnmasked(args, env, help, version);
  // Errors quote the values they reject, which may be URIs with passwords.
  if (!config.ok()) return Status(config.status().code(), RedactSecrets(config.status().message()));
  return config;
}

std::string AttachedEventUrl(const ServerConfig& config, uint16_t bound_port) {
  return AttachedEventUrl(config.advertise_url, config.host, bound_port);
}

std::string AttachedEventUrl(std::string_view advertise_url, const std::string& host,
                             uint16_t bound_port) {
  std::string base(advertise_url);
  if (base.empty()) {
    bool v6 = host.find(':') != std::string::npos;
    base = "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(bound_port);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/event";
}

std::string ServerConfigHelp() {
  ServerConfig scratch;
  // In case a default ever holds a secret.
  return RedactSecrets(cli::FlagsHelp(kUsage, Describe(&scratch), "PIGTAIL_"));
}

}  // namespace pigtail

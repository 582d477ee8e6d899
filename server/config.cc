#include "server/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "core/redact.h"
#include "server/http_client.h"

namespace pigtail {
namespace {

struct Flag {
  const char* name;  // flag without "--"; env is PIGTAIL_<NAME> (upper, '-' -> '_')
  const char* help;
  std::function<Status(ServerConfig*, const std::string&)> set;
};

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

template <typename T>
std::function<Status(ServerConfig*, const std::string&)> Number(T ServerConfig::*field,
                                                                const char* name) {
  return [field, name](ServerConfig* c, const std::string& v) {
    return ParseNumber(v, name, &(c->*field));
  };
}

std::function<Status(ServerConfig*, const std::string&)> Text(std::string ServerConfig::*field) {
  return [field](ServerConfig* c, const std::string& v) {
    c->*field = v;
    return Status::Ok();
  };
}

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = {
      {"listen", "HOST:PORT to listen on (default 127.0.0.1:8000; port 0 picks one)",
       Text(&ServerConfig::listen)},
      {"backend",
       "URI of the log and state backends: rocksdb:PATH (default rocksdb:./data), "
       "postgresql://..., memory:",
       Text(&ServerConfig::backend)},
      {"log", "URI of the log (event store) backend; overrides --backend",
       Text(&ServerConfig::log_uri)},
      {"state", "URI of the state store backend; overrides --backend",
       Text(&ServerConfig::state_uri)},
      {"postgres-schema", "PostgreSQL schema for Pigtail's tables (default pigtail)",
       Text(&ServerConfig::postgres_schema)},
      {"threads", "HTTP I/O threads (default 2)", Number(&ServerConfig::threads, "threads")},
      {"sync", "durability: batch (default; each write batch is synced before replies) or none",
       Text(&ServerConfig::sync)},
      {"batch-ops",
       "on (default): the claims of one claim-next, or the dones of one batched done, are "
       "one Batch log entry; off: one entry per op, as the original Pigtail writes them "
       "(attached mode always writes one per op)",
       Text(&ServerConfig::batch_ops)},
      {"max-clock-offset-ms",
       "defer (do not store now; fetch again later) peer entries stamped further ahead of our "
       "clock than this (default 60000)",
       Number(&ServerConfig::max_clock_offset_ms, "max-clock-offset-ms")},
      {"client-token", "bearer token required on the client API (default: none)",
       Text(&ServerConfig::client_token)},
      {"peer-token",
       "bearer token required on POST /log/other, POST /event and /nodes (default: none)",
       Text(&ServerConfig::peer_token)},
      {"max-body-bytes", "largest accepted request body; larger gets 413 (default 16777216)",
       Number(&ServerConfig::max_body_bytes, "max-body-bytes")},
      {"read-timeout-ms",
       "a connection must deliver a whole request within this, and idle keep-alive "
       "connections close after it (default 30000)",
       Number(&ServerConfig::read_timeout_ms, "read-timeout-ms")},
      {"max-batch", "most write requests per group commit (default 4096)",
       Number(&ServerConfig::max_batch, "max-batch")},
      {"drain-ms", "on SIGTERM/SIGINT, how long to wait for in-flight requests (default 10000)",
       Number(&ServerConfig::drain_ms, "drain-ms")},
      {"potboiler-url",
       "run the queue API attached to the external Potboiler log at this http:// URL: "
       "register this node's /event URL there and write every queue op to it "
       "(default: none; this node is its own log)",
       Text(&ServerConfig::potboiler_url)},
      {"advertise-url",
       "the http:// URL under which others reach this node: replication peers are told it "
       "(POST /nodes), and with --potboiler-url the external log gets it with /event appended "
       "(default http://<listen>, with the port actually bound)",
       Text(&ServerConfig::advertise_url)},
      {"anti-entropy-ms",
       "replication: compare heads with each peer and fetch what is missing this often "
       "(default 1000)",
       Number(&ServerConfig::anti_entropy_ms, "anti-entropy-ms")},
      {"replication-timeout-ms", "replication: timeout of one request to a peer (default 2000)",
       Number(&ServerConfig::replication_timeout_ms, "replication-timeout-ms")},
      {"replication-max-backoff-ms",
       "replication: longest wait between retries to an unreachable peer (default 5000)",
       Number(&ServerConfig::replication_max_backoff_ms, "replication-max-backoff-ms")},
      {"replication-batch", "replication: entries per push batch and per range page (default 1000)",
       Number(&ServerConfig::replication_batch, "replication-batch")},
      {"potboiler-token",
       "with --potboiler-url: bearer token sent to the external log (default: none)",
       Text(&ServerConfig::potboiler_token)},
      {"potboiler-wait-ms",
       "with --potboiler-url: how long to keep trying to register with the external log at "
       "start before giving up (default 30000)",
       Number(&ServerConfig::potboiler_wait_ms, "potboiler-wait-ms")},
      {"log-level",
       "log lines on stderr from this level up: debug, info (default), warn, error, off",
       Text(&ServerConfig::log_level)},
      {"log-format", "log line format: text (default) or json (one JSON object per line)",
       Text(&ServerConfig::log_format)},
      {"access-log", "append one line per HTTP request to this file (default: none)",
       Text(&ServerConfig::access_log)},
  };
  return flags;
}

std::string EnvName(const char* flag) {
  std::string out = "PIGTAIL_";
  for (const char* p = flag; *p != '\0'; ++p) {
    out.push_back(*p == '-' ? '_'
                            : static_cast<char>(std::toupper(static_cast<unsigned char>(*p))));
  }
  return out;
}

Status Set(ServerConfig* c, const std::string& name, const std::string& value,
           const std::string& where) {
  for (const Flag& f : Flags()) {
    if (name == f.name) return where.empty() ? f.set(c, value) : f.set(c, value).WithContext(where);
  }
  return Status::InvalidArgument((where.empty() ? "" : where + ": ") + "unknown option \"" + name +
                                 "\"; see --help");
}

Status LoadConfigFile(const std::string& path, ServerConfig* c) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t eq = line.find('=');
    std::string where = path + ":" + std::to_string(number);
    if (eq == std::string::npos) return Status::InvalidArgument(where + ": expected key=value");
    auto trim = [](std::string s) {
      size_t b = s.find_first_not_of(" \t\r");
      size_t e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    PIGTAIL_RETURN_IF_ERROR(Set(c, trim(line.substr(0, eq)), trim(line.substr(eq + 1)), where));
  }
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
  if (c->batch_ops != "on" && c->batch_ops != "off") {
    return Status::InvalidArgument("--batch-ops must be on or off, got \"" + c->batch_ops + "\"");
  }
  if (c->threads < 1 || c->threads > 256) {
    return Status::InvalidArgument("--threads must be 1 to 256");
  }
  if (c->max_batch < 1) return Status::InvalidArgument("--max-batch must be at least 1");
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
                                   bool* help) {
  *help = false;
  ServerConfig config;
  // Split "--name=value" and "--name value".
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      *help = true;
      return config;
    }
    if (!a.starts_with("--")) return Status::InvalidArgument("unexpected argument \"" + a + "\"");
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      flags.emplace_back(a.substr(2, eq - 2), a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      flags.emplace_back(a.substr(2), args[++i]);
    } else {
      return Status::InvalidArgument("flag " + a + " needs a value");
    }
  }
  std::string config_file;
  if (const char* v = env("PIGTAIL_CONFIG")) config_file = v;
  for (const auto& [name, value] : flags) {
    if (name == "config") config_file = value;
  }
  if (!config_file.empty()) PIGTAIL_RETURN_IF_ERROR(LoadConfigFile(config_file, &config));
  for (const Flag& f : Flags()) {
    std::string name = EnvName(f.name);
    if (const char* v = env(name.c_str())) {
      PIGTAIL_RETURN_IF_ERROR(f.set(&config, v).WithContext(name));
    }
  }
  for (const auto& [name, value] : flags) {
    if (name == "config") continue;
    PIGTAIL_RETURN_IF_ERROR(Set(&config, name, value, ""));
  }
  PIGTAIL_RETURN_IF_ERROR(Finish(&config));
  return config;
}

}  // namespace

Result<ServerConfig> ParseServerConfig(const std::vector<std::string>& args, const GetEnv& env,
                                       bool* help) {
  Result<ServerConfig> config = ParseUnmasked(args, env, help);
  // Errors quote the values they reject, which may be URIs with passwords.
  if (!config.ok()) return Status(config.status().code(), RedactSecrets(config.status().message()));
  return config;
}

std::string AttachedEventUrl(const ServerConfig& config, uint16_t bound_port) {
  std::string base = config.advertise_url;
  if (base.empty()) {
    bool v6 = config.host.find(':') != std::string::npos;
    base =
        "http://" + (v6 ? "[" + config.host + "]" : config.host) + ":" + std::to_string(bound_port);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/event";
}

std::string ServerConfigHelp() {
  std::ostringstream out;
  out << "pigtaild: a Potboiler-compatible log node with the Pigtail queue API\n\n"
         "usage: pigtaild [--flag value | --flag=value]...\n\n"
         "Every flag can also be set by the environment variable PIGTAIL_<FLAG> (upper case,\n"
         "'-' as '_') or by a line flag=value in the file named by --config (or\n"
         "PIGTAIL_CONFIG). Flags win over the environment, the environment over the file.\n\n"
         "  --config FILE\n      read key=value lines (# comments) from FILE\n";
  for (const Flag& f : Flags()) {
    out << "  --" << f.name << " VALUE   [" << EnvName(f.name) << "]\n      " << f.help << "\n";
  }
  out << "  --help\n      print this text\n"
         "  --version\n      print the version and the commit it was built from\n";
  return RedactSecrets(out.str());  // in case a default ever holds one
}

}  // namespace pigtail

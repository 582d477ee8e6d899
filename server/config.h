// pigtaild's configuration: command-line flags, PIGTAIL_* environment
// variables and an optional --config file of `flag = value` lines, parsed
// by cli/flags.h. Precedence: command line > environment > config file >
// the defaults below (each written once, here; --help shows them).
#ifndef PIGTAIL_SERVER_CONFIG_H_
#define PIGTAIL_SERVER_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pigtail {

// The default of --threads: one HTTP I/O thread on a machine of one or two
// cores, where a second one cost a sixth more of the node's CPU per single
// add for no more throughput (benchmarks/README.md, "One HTTP I/O thread on
// two cores"); two on bigger machines, as before.
int DefaultHttpThreads();

struct ServerConfig {
  std::string listen = "127.0.0.1:8000";   // HOST:PORT; port 0 picks a free one
  std::string backend = "rocksdb:./data";  // log and state unless overridden
  std::string log_uri;                     // default: backend
  std::string state_uri;                   // default: backend
  std::string postgres_schema = "pigtail";
  int threads = DefaultHttpThreads();  // HTTP I/O threads
  std::string sync = "batch";          // "batch" or "none"
  // "adaptive" or "off": SequencerOptions::adaptive_group_commit
  std::string group_commit = "adaptive";
  std::string batch_ops = "on";          // "on" or "off": SequencerOptions::batch_ops
  std::string finished_tasks = "store";  // "store" or "memory": NodeOptions::drop_finished
  std::string claim_routing = "home";    // "home" or "local": ApiOptions::claim_routing
  size_t rocksdb_memory_mb = 512;        // BackendOptions::rocksdb_memory_bytes
  uint64_t max_clock_offset_ms = 60'000;
  std::string client_token;
  std::string peer_token;
  size_t max_body_bytes = 16 << 20;
  uint64_t read_timeout_ms = 30'000;
  size_t max_batch = 4096;  // sequencer group-commit size
  uint64_t drain_ms = 10'000;
  // Attached mode (server/external_log.h): the external Potboiler log's
  // base URL, the URL under which it (and replication peers) reach this
  // node (default http://<listen>), and a bearer token to send it.
  std::string potboiler_url;
  std::string advertise_url;
  std::string potboiler_token;
  // Replication (server/replicator.h) with the peers listed by /nodes.
  uint64_t anti_entropy_ms = 1'000;
  uint64_t replication_timeout_ms = 2'000;
  uint64_t replication_max_backoff_ms = 5'000;
  // Entries per push and per range page. A page is one sequencer batch, so
  // this also bounds how long a catch-up holds the sequencer at a time
  // (benchmarks/README.md, "Range pages of 4,096 entries instead of 1,000").
  size_t replication_batch = 4'096;
  uint64_t potboiler_wait_ms = 30'000;  // keep trying to register at start this long
  // Logging (server/log.h): lines on stderr.
  std::string log_level = "info";   // debug, info, warn, error, off
  std::string log_format = "text";  // text or json
  std::string access_log;           // file for one line per HTTP request; empty: none

  // Derived by ParseServerConfig.
  std::string host;
  uint16_t port = 0;
  std::string EffectiveLogUri() const { return log_uri.empty() ? backend : log_uri; }
  std::string EffectiveStateUri() const { return state_uri.empty() ? backend : state_uri; }
};

using GetEnv = std::function<const char*(const char*)>;

// Parses argv (argv[0] is the program). Sets *help (and *version, when
// not null) and returns the defaults when --help (--version) is given.
// InvalidArgument names the bad flag: a usage error (pigtaild exits 2).
Result<ServerConfig> ParseServerConfig(const std::vector<std::string>& args, const GetEnv& env,
                                       bool* help, bool* version = nullptr);

// The --help text.
std::string ServerConfigHelp();

// Attached mode: the URL the external log pushes entries to, i.e.
// advertise_url (or http://HOST:PORT from --listen, with `bound_port`, the
// port actually bound) followed by "/event".
std::string AttachedEventUrl(const ServerConfig& config, uint16_t bound_port);
// The same from the parts: `advertise_url`, else http://HOST:PORT.
std::string AttachedEventUrl(std::string_view advertise_url, const std::string& host,
                             uint16_t bound_port);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_CONFIG_H_

// pigtaild's configuration: command-line flags, PIGTAIL_* environment
// variables and an optional --config file of key=value lines.
// Precedence: built-in defaults < config file < environment < flags.
#ifndef PIGTAIL_SERVER_CONFIG_H_
#define PIGTAIL_SERVER_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace pigtail {

struct ServerConfig {
  std::string listen = "127.0.0.1:8000";   // HOST:PORT; port 0 picks a free one
  std::string backend = "rocksdb:./data";  // log and state unless overridden
  std::string log_uri;                     // default: backend
  std::string state_uri;                   // default: backend
  std::string postgres_schema = "pigtail";
  int threads = 2;             // HTTP I/O threads
  std::string sync = "batch";  // "batch" or "none"
  uint64_t max_clock_offset_ms = 60'000;
  std::string client_token;
  std::string peer_token;
  size_t max_body_bytes = 16 << 20;
  uint64_t read_timeout_ms = 30'000;
  size_t max_batch = 4096;  // sequencer group-commit size
  uint64_t drain_ms = 10'000;

  // Derived by ParseServerConfig.
  std::string host;
  uint16_t port = 0;
  std::string EffectiveLogUri() const { return log_uri.empty() ? backend : log_uri; }
  std::string EffectiveStateUri() const { return state_uri.empty() ? backend : state_uri; }
};

using GetEnv = std::function<const char*(const char*)>;

// Parses argv (argv[0] is the program). Sets *help and returns the
// defaults when --help is given. InvalidArgument names the bad flag.
Result<ServerConfig> ParseServerConfig(const std::vector<std::string>& args, const GetEnv& env,
                                       bool* help);

// The --help text.
std::string ServerConfigHelp();

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_CONFIG_H_

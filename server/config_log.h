// The start line of pigtaild's log: the effective configuration, with
// secrets masked (tokens as "set"/"none", backend URIs without passwords).
#ifndef PIGTAIL_SERVER_CONFIG_LOG_H_
#define PIGTAIL_SERVER_CONFIG_LOG_H_

#include <string>

#include "server/config.h"

namespace pigtail {

// Logs "pigtaild started" at info with `listening` (HOST:PORT bound) and
// the node id.
void LogEffectiveConfig(const ServerConfig& config, const std::string& listening,
                        const std::string& node_id);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_CONFIG_LOG_H_

#include "server/config_log.h"

#include "core/redact.h"
#include "core/version.h"
#include "server/log.h"

namespace pigtail {

void LogEffectiveConfig(const ServerConfig& config, const std::string& listening,
                        const std::string& node_id) {
  auto secret = [](const std::string& token) { return token.empty() ? "none" : "set"; };
  log::Info("pigtaild started",
            {{"version", std::string(PigtailVersion())},
             {"listen", listening},
             {"node", node_id},
             {"log", RedactSecrets(config.EffectiveLogUri())},
             {"state", RedactSecrets(config.EffectiveStateUri())},
             {"postgres_schema", config.postgres_schema},
             {"sync", config.sync},
             {"batch_ops", config.batch_ops},
             {"threads", config.threads},
             {"max_batch", config.max_batch},
             {"max_body_bytes", config.max_body_bytes},
             {"max_clock_offset_ms", config.max_clock_offset_ms},
             {"client_token", secret(config.client_token)},
             {"peer_token", secret(config.peer_token)},
             {"advertise_url", config.advertise_url},
             {"potboiler_url", RedactSecrets(config.potboiler_url)},
             {"potboiler_token", secret(config.potboiler_token)},
             {"anti_entropy_ms", config.anti_entropy_ms},
             {"log_level", config.log_level},
             {"log_format", config.log_format},
             {"access_log", config.access_log.empty() ? "none" : config.access_log}});
}

}  // namespace pigtail

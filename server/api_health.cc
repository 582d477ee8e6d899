// GET /ready (readiness) and the readiness gauges of GET /metrics.
#include <boost/json.hpp>

#include "core/redact.h"
#include "server/api.h"
#include "server/api_call.h"
#include "server/log.h"

namespace pigtail {

void WriteAccessLine(const std::string& access, int status, uint64_t latency_ns) {
  size_t space = access.find(' ');
  log::Access(
      std::string_view(access).substr(0, space),
      space == std::string::npos ? std::string_view() : std::string_view(access).substr(space + 1),
      status, latency_ns);
}

void Api::Ready(Call& call) {
  const BackendHealth& health = sequencer_->health();
  boost::json::array reasons;
  if (!health.up(BackendHealth::kLog)) {
    reasons.emplace_back("the log backend is unavailable: " + health.error(BackendHealth::kLog));
  }
  if (!health.up(BackendHealth::kState)) {
    reasons.emplace_back("the state backend is unavailable: " +
                         health.error(BackendHealth::kState));
  } else if (!sequencer_->state_commits_ok()) {
    reasons.emplace_back("state store commits are failing (retrying): " +
                         sequencer_->state_commit_error());
  }
  boost::json::object out;
  out["ready"] = reasons.empty();
  out["node_id"] = node_->id().ToString();
  // GET /ready needs no token: no password of a backend URI in the errors.
  for (boost::json::value& r : reasons) r = RedactSecrets(r.as_string());
  if (!reasons.empty()) {
    out["reason"] = reasons.front();
    out["reasons"] = std::move(reasons);
  }
  call.reply(api::Json(out["ready"].as_bool() ? 200 : 503, boost::json::serialize(out)));
}

std::string Api::ReadinessMetrics() const {
  const BackendHealth& health = sequencer_->health();
  const bool log_up = health.up(BackendHealth::kLog);
  const bool state_up = health.up(BackendHealth::kState) && sequencer_->state_commits_ok();
  std::string text =
      "# HELP pigtail_ready 1 when GET /ready answers 200 (the stores answer and state commits "
      "succeed).\n# TYPE pigtail_ready gauge\n";
  text += std::string("pigtail_ready ") + (log_up && state_up ? "1" : "0") + "\n";
  text +=
      "# HELP pigtail_backend_up 1 while the store answers (appends, commits, probes).\n"
      "# TYPE pigtail_backend_up gauge\n";
  text += std::string("pigtail_backend_up{store=\"log\"} ") + (log_up ? "1" : "0") + "\n";
  text += std::string("pigtail_backend_up{store=\"state\"} ") + (state_up ? "1" : "0") + "\n";
  return text;
}

}  // namespace pigtail

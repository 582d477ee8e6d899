#include "server/peer_watch.h"

#include "server/log.h"

namespace pigtail {

PeerWatch::Transition PeerWatch::Success(std::string_view node_id, Clock::time_point now) {
  Transition t = Transition::kNone;
  if (down_) {
    int64_t down_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - first_failure_).count();
    log::Info("peer up again",
              {{"peer", url_}, {"node", node_id}, {"down_ms", down_ms}, {"failures", failures_}});
    t = Transition::kUp;
  } else if (!contacted_) {
    log::Info("peer reachable", {{"peer", url_}, {"node", node_id}});
    t = Transition::kReachable;
  }
  contacted_ = true;
  down_ = false;
  failures_ = 0;
  return t;
}

PeerWatch::Transition PeerWatch::Failure(const Status& error, Clock::time_point now) {
  if (failures_ == 0) first_failure_ = now;
  ++failures_;
  if (down_ || failures_ < down_after_) return Transition::kNone;
  down_ = true;
  log::Warn("peer down", {{"peer", url_}, {"failures", failures_}, {"error", error.ToString()}});
  return Transition::kDown;
}

}  // namespace pigtail

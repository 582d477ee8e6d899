// Turns the outcomes of a replication peer's exchanges into log lines at
// its transitions only: "peer reachable" at the first contact, "peer down"
// once `down_after` exchanges in a row failed (with the last error), and
// "peer up again" with how long it was down — not a line per retry.
//
// Not thread-safe: the peer's worker thread owns it.
#ifndef PIGTAIL_SERVER_PEER_WATCH_H_
#define PIGTAIL_SERVER_PEER_WATCH_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pigtail {

class PeerWatch {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PeerWatch(std::string url, uint64_t down_after = 3)
      : url_(std::move(url)), down_after_(down_after) {}

  enum class Transition { kNone, kReachable, kDown, kUp };
  // Each returns the transition it logged.
  Transition Success(std::string_view node_id, Clock::time_point now = Clock::now());
  Transition Failure(const Status& error, Clock::time_point now = Clock::now());

  bool down() const { return down_; }

 private:
  const std::string url_;
  const uint64_t down_after_;
  bool contacted_ = false;
  bool down_ = false;
  uint64_t failures_ = 0;  // in a row
  Clock::time_point first_failure_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_PEER_WATCH_H_

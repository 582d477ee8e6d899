// Whether the log and the state store answer, for GET /ready and /metrics:
// the latest outcome of a real operation (an append, a state commit) or of
// a probe (a cheap read every probe interval, from a thread of its own, so
// an idle node notices an outage and a recovery too). A store goes down
// and comes back with one log line each, not one per failure.
//
// Thread safety: every public method may be called from any thread.
#ifndef PIGTAIL_SERVER_BACKEND_HEALTH_H_
#define PIGTAIL_SERVER_BACKEND_HEALTH_H_

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/event_store.h"
#include "core/state_store.h"
#include "core/status.h"

namespace pigtail {

class BackendHealth {
 public:
  enum Store { kLog = 0, kState = 1 };
  static const char* Name(Store store) { return store == kLog ? "log" : "state"; }

  BackendHealth() = default;
  ~BackendHealth();  // StopProbing()
  BackendHealth(const BackendHealth&) = delete;
  BackendHealth& operator=(const BackendHealth&) = delete;

  // The outcome of an operation on `store`. Unavailable and IOError mean
  // the store is down; other errors (a bad request) and Ok mean it answers.
  // A good `probe` (a read) brings back only a store that was Unavailable
  // (unreachable): one whose writes failed with IOError waits for a write.
  void Report(Store store, const Status& outcome, bool probe = false);

  bool up(Store store) const;
  // The last error that took `store` down; empty while up.
  std::string error(Store store) const;

  // Probes both stores every `interval` until StopProbing().
  void StartProbing(EventStore* log, StateStore* state, std::chrono::milliseconds interval);
  void StopProbing();

 private:
  struct Entry {
    bool up = true;
    std::string error;
    StatusCode code = StatusCode::kOk;  // of `error`
    std::chrono::steady_clock::time_point down_since;
    uint64_t failures = 0;  // in the current outage
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::array<Entry, 2> entries_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  std::thread prober_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_BACKEND_HEALTH_H_

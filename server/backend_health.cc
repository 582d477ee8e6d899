#include "server/backend_health.h"

#include "server/log.h"
#include "server/thread_name.h"

namespace pigtail {

BackendHealth::~BackendHealth() { StopProbing(); }

void BackendHealth::Report(Store store, const Status& outcome, bool probe) {
  const bool down =
      outcome.code() == StatusCode::kUnavailable || outcome.code() == StatusCode::kIOError;
  const auto now = std::chrono::steady_clock::now();
  bool went_down = false;
  bool came_up = false;
  uint64_t failures = 0;
  int64_t down_ms = 0;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[store];
    if (down) {
      ++e.failures;
      e.error = outcome.ToString();
      e.code = outcome.code();
      if (e.up) {
        e.up = false;
        e.down_since = now;
        went_down = true;
      }
    } else if (!e.up && (!probe || e.code == StatusCode::kUnavailable)) {
      e.up = true;
      e.error.clear();
      came_up = true;
      failures = e.failures;
      e.failures = 0;
      down_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.down_since).count();
    }
  }
  if (went_down) {
    log::Error("backend down", {{"store", Name(store)}, {"error", outcome.ToString()}});
  }
  if (came_up) {
    log::Info("backend up again",
              {{"store", Name(store)}, {"down_ms", down_ms}, {"failures", failures}});
  }
}

bool BackendHealth::up(Store store) const {
  std::lock_guard lock(mu_);
  return entries_[store].up;
}

std::string BackendHealth::error(Store store) const {
  std::lock_guard lock(mu_);
  return entries_[store].error;
}

void BackendHealth::StartProbing(EventStore* log, StateStore* state,
                                 std::chrono::milliseconds interval) {
  if (prober_.joinable()) return;
  prober_ = std::thread([this, log, state, interval] {
    SetThreadName("probe");
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, interval, [&] { return stopping_; })) return;
      }
      Report(kLog, log->LastSequence().status(), /*probe=*/true);
      Report(kState, state->Checkpoint().status(), /*probe=*/true);
    }
  });
}

void BackendHealth::StopProbing() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (prober_.joinable()) prober_.join();
}

}  // namespace pigtail

#include "server/state_committer.h"

#include <utility>

namespace pigtail {

StateCommitter::StateCommitter(StateStore* store, std::function<void(const Status&)> on_failure)
    : store_(store), on_failure_(std::move(on_failure)), executor_("state-commit") {}

bool StateCommitter::ready() const {
  std::lock_guard lock(mu_);
  return !busy_ && !broken_;
}

bool StateCommitter::Offer(StateBatch* batch) {
  {
    std::lock_guard lock(mu_);
    if (busy_ || broken_) return false;
    busy_ = true;
  }
  executor_.Post([this, batch = std::move(*batch)] {
    Status committed = store_->Commit(batch, /*sync=*/false);
    if (!committed.ok() && !broken_.exchange(true)) on_failure_(committed);
    std::lock_guard lock(mu_);
    busy_ = false;
    cv_.notify_all();
  });
  return true;
}

void StateCommitter::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
}

}  // namespace pigtail

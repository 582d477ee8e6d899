#include "server/state_committer.h"

#include <utility>

#include "server/thread_name.h"

namespace pigtail {

StateCommitter::StateCommitter(StateStore* store, std::function<void(const Status&)> on_failure)
    : store_(store), on_failure_(std::move(on_failure)), thread_([this] {
        SetThreadName("state-commit");
        Run();
      }) {}

StateCommitter::~StateCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool StateCommitter::ready() const {
  std::lock_guard lock(mu_);
  return !busy_ && !broken_;
}

bool StateCommitter::Offer(StateBatch* batch) {
  {
    std::lock_guard lock(mu_);
    if (busy_ || broken_) return false;
    pending_ = std::move(*batch);
    busy_ = true;
  }
  cv_.notify_all();
  return true;
}

void StateCommitter::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !busy_; });
}

void StateCommitter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return pending_.has_value() || stopping_; });
    if (!pending_) return;  // stopping with nothing left
    StateBatch batch = std::move(*pending_);
    pending_.reset();
    lock.unlock();
    Status committed = store_->Commit(batch, /*sync=*/false);
    if (!committed.ok() && !broken_.exchange(true)) on_failure_(committed);
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace pigtail

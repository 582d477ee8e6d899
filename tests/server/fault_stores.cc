#include "tests/server/fault_stores.h"

#include <thread>

#include "core/memory_store.h"

namespace pigtail::testing {

FaultyEventStore::FaultyEventStore() = default;

void FaultyEventStore::FailAppends(int n) {
  std::lock_guard lock(mu_);
  fail_ = n;
}

void FaultyEventStore::DelayAppends(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

void FaultyEventStore::Hold() {
  std::lock_guard lock(mu_);
  hold_ = true;
}

void FaultyEventStore::Release() {
  {
    std::lock_guard lock(mu_);
    hold_ = false;
  }
  cv_.notify_all();
}

bool FaultyEventStore::WaitUntilHeld(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return waiting_ > 0; });
}

bool FaultyEventStore::Enter() {
  std::unique_lock lock(mu_);
  const bool fail = fail_ > 0;
  if (fail) --fail_;
  ++waiting_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !hold_; });
  --waiting_;
  const std::chrono::milliseconds delay = delay_;
  lock.unlock();
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  return fail;
}

Result<std::vector<uint64_t>> FaultyEventStore::Append(std::span<const Event> events, bool sync) {
  if (Enter()) return Status::Unavailable("injected append failure");
  return ForwardingEventStore::Append(events, sync);
}

Result<std::vector<uint64_t>> FaultyEventStore::AppendNew(std::span<const Event> events,
                                                          bool sync) {
  if (Enter()) return Status::Unavailable("injected append failure");
  return ForwardingEventStore::AppendNew(events, sync);
}

}  // namespace pigtail::testing

// Stores for the sequencer's failure paths: a memory store underneath,
// with appends (or commits) that fail on demand, appends that can be held
// until released, so a test can queue several requests into one sequencer
// batch, and appends slowed down like a slow disk's syncs.
#ifndef PIGTAIL_TESTS_SERVER_FAULT_STORES_H_
#define PIGTAIL_TESTS_SERVER_FAULT_STORES_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/event_store.h"
#include "core/state_store.h"
#include "tests/core/forwarding_event_store.h"

namespace pigtail::testing {

class FaultyEventStore final : public ForwardingEventStore {
 public:
  FaultyEventStore();

  // The next `n` appends (Append or AppendNew) to start fail with
  // Unavailable and store nothing (an append already waiting in Hold() is
  // not among them).
  void FailAppends(int n);
  // From now on every append takes `delay` longer (a slow sync).
  void DelayAppends(std::chrono::milliseconds delay);
  // From now on an append waits, before it stores or fails, until Release().
  void Hold();
  void Release();
  // Waits up to `timeout` until an append is waiting in Hold(); false if none.
  bool WaitUntilHeld(std::chrono::milliseconds timeout);

  Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool sync) override;
  Result<std::vector<uint64_t>> AppendNew(std::span<const Event> events, bool sync) override;

 private:
  // Whether this append is to fail; returns once not held, and after the
  // delay of DelayAppends().
  bool Enter();

  std::mutex mu_;
  std::condition_variable cv_;
  int fail_ = 0;                        // guarded by mu_
  bool hold_ = false;                   // guarded by mu_
  int waiting_ = 0;                     // guarded by mu_
  std::chrono::milliseconds delay_{0};  // guarded by mu_
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_SERVER_FAULT_STORES_H_

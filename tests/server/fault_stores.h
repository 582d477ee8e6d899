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

namespace pigtail::testing {

class FaultyEventStore final : public EventStore {
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
  Result<std::optional<StoredEvent>> Get(const Uuid& id) override { return base_->Get(id); }
  Result<bool> Contains(const Uuid& id) override { return base_->Contains(id); }
  Result<std::map<Uuid, Uuid>> Heads() override { return base_->Heads(); }
  Result<std::map<Uuid, Uuid>> Firsts() override { return base_->Firsts(); }
  Result<std::vector<StoredEvent>> ScanOwner(const Uuid& owner, const std::optional<Hlc>& after,
                                             size_t limit) override {
    return base_->ScanOwner(owner, after, limit);
  }
  Result<std::vector<Uuid>> Holes(const Uuid& owner) override { return base_->Holes(owner); }
  Result<std::vector<StoredEvent>> Scan(uint64_t after_seq, size_t limit) override {
    return base_->Scan(after_seq, limit);
  }
  Result<uint64_t> LastSequence() override { return base_->LastSequence(); }
  Result<uint64_t> Count() override { return base_->Count(); }
  Result<std::vector<Uuid>> WaitingOn(const Uuid& dependency) override {
    return base_->WaitingOn(dependency);
  }
  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    return base_->GetMeta(key);
  }
  Status PutMeta(std::string_view key, std::string_view value) override {
    return base_->PutMeta(key, value);
  }
  Status DeleteMeta(std::string_view key) override { return base_->DeleteMeta(key); }

 private:
  // Whether this append is to fail; returns once not held, and after the
  // delay of DelayAppends().
  bool Enter();

  std::unique_ptr<EventStore> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  int fail_ = 0;                        // guarded by mu_
  bool hold_ = false;                   // guarded by mu_
  int waiting_ = 0;                     // guarded by mu_
  std::chrono::milliseconds delay_{0};  // guarded by mu_
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_SERVER_FAULT_STORES_H_

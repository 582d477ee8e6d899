// ForwardingEventStore: an EventStore for tests that passes every call to a
// memory EventStore underneath. A test store derives from it and overrides
// the calls it watches or changes.
#ifndef PIGTAIL_TESTS_CORE_FORWARDING_EVENT_STORE_H_
#define PIGTAIL_TESTS_CORE_FORWARDING_EVENT_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_store.h"
#include "core/memory_store.h"

namespace pigtail::testing {

class ForwardingEventStore : public EventStore {
 public:
  ForwardingEventStore() : base_(NewMemoryEventStore()) {}

  Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool sync) override {
    return base_->Append(events, sync);
  }
  Result<std::vector<uint64_t>> AppendNew(std::span<const Event> events, bool sync) override {
    return base_->AppendNew(events, sync);
  }
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
  std::unique_ptr<EventStore> base_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CORE_FORWARDING_EVENT_STORE_H_

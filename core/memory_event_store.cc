#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/memory_store.h"

namespace pigtail {
namespace {

class MemoryEventStore final : public EventStore {
 public:
  Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool /*sync*/) override {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> seqs;
    seqs.reserve(events.size());
    for (const Event& e : events) {
      if (by_id_.contains(e.id)) {
        seqs.push_back(0);
        continue;
      }
      uint64_t seq = ++last_seq_;
      by_id_.emplace(e.id, Entry{seq, e});
      by_seq_.emplace(seq, e.id);
      owners_[e.owner].emplace(OwnerKey{e.when, e.id});
      if (e.prev) next_of_[*e.prev] = e.id;
      waiting_.erase(e.id);
      for (const Uuid& dep : e.dependencies) {
        if (!by_id_.contains(dep)) waiting_[dep].insert(e.id);
      }
      seqs.push_back(seq);
    }
    return seqs;
  }

  Result<std::optional<StoredEvent>> Get(const Uuid& id) override {
    std::lock_guard lock(mu_);
    return Lookup(id);
  }

  Result<bool> Contains(const Uuid& id) override {
    std::lock_guard lock(mu_);
    return by_id_.contains(id);
  }

  Result<std::map<Uuid, Uuid>> Heads() override {
    std::lock_guard lock(mu_);
    std::map<Uuid, Uuid> heads;
    for (const auto& [owner, entries] : owners_) heads[owner] = entries.rbegin()->id;
    return heads;
  }

  Result<std::map<Uuid, Uuid>> Firsts() override {
    std::lock_guard lock(mu_);
    std::map<Uuid, Uuid> firsts;
    for (const auto& [owner, entries] : owners_) {
      for (const OwnerKey& k : entries) {
        if (!by_id_.at(k.id).event.prev) {
          firsts[owner] = k.id;
          break;
        }
      }
    }
    return firsts;
  }

  Result<std::vector<StoredEvent>> ScanOwner(const Uuid& owner, const std::optional<Hlc>& after,
                                             size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<StoredEvent> out;
    auto it = owners_.find(owner);
    if (it == owners_.end()) return out;
    auto pos = after ? it->second.upper_bound(OwnerKey{*after, MaxUuid()}) : it->second.begin();
    for (; pos != it->second.end() && out.size() < limit; ++pos) out.push_back(*Lookup(pos->id));
    return out;
  }

  Result<std::vector<Uuid>> Holes(const Uuid& owner) override {
    std::lock_guard lock(mu_);
    std::vector<Uuid> holes;
    auto it = owners_.find(owner);
    if (it == owners_.end()) return holes;
    for (const OwnerKey& k : it->second) {
      const std::optional<Uuid>& prev = by_id_.at(k.id).event.prev;
      if (prev && !by_id_.contains(*prev)) holes.push_back(*prev);
    }
    return holes;
  }

  Result<std::vector<StoredEvent>> Scan(uint64_t after_seq, size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<StoredEvent> out;
    for (auto it = by_seq_.upper_bound(after_seq); it != by_seq_.end() && out.size() < limit;
         ++it) {
      out.push_back(*Lookup(it->second));
    }
    return out;
  }

  Result<uint64_t> LastSequence() override {
    std::lock_guard lock(mu_);
    return last_seq_;
  }

  Result<uint64_t> Count() override {
    std::lock_guard lock(mu_);
    return static_cast<uint64_t>(by_id_.size());
  }

  Result<std::vector<Uuid>> WaitingOn(const Uuid& dependency) override {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(dependency);
    if (it == waiting_.end()) return std::vector<Uuid>{};
    return std::vector<Uuid>(it->second.begin(), it->second.end());
  }

  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = meta_.find(key);
    if (it == meta_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    meta_[std::string(key)] = std::string(value);
    return Status::Ok();
  }

  Status DeleteMeta(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = meta_.find(key);
    if (it != meta_.end()) meta_.erase(it);
    return Status::Ok();
  }

 private:
  struct Entry {
    uint64_t seq;
    Event event;
  };
  struct OwnerKey {
    Hlc when;
    Uuid id;
    auto operator<=>(const OwnerKey&) const = default;
  };

  static Uuid MaxUuid() {
    std::array<uint8_t, Uuid::kSize> ff;
    ff.fill(0xff);
    return Uuid(ff);
  }

  // REQUIRES: mu_ held.
  std::optional<StoredEvent> Lookup(const Uuid& id) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    StoredEvent out{it->second.seq, it->second.event, std::nullopt};
    if (auto n = next_of_.find(id); n != next_of_.end()) out.next = n->second;
    return out;
  }

  std::mutex mu_;
  uint64_t last_seq_ = 0;
  std::unordered_map<Uuid, Entry> by_id_;
  std::map<uint64_t, Uuid> by_seq_;
  std::map<Uuid, std::set<OwnerKey>> owners_;
  std::unordered_map<Uuid, Uuid> next_of_;
  std::map<Uuid, std::set<Uuid>> waiting_;
  std::map<std::string, std::string, std::less<>> meta_;
};

}  // namespace

std::unique_ptr<EventStore> NewMemoryEventStore() { return std::make_unique<MemoryEventStore>(); }

}  // namespace pigtail

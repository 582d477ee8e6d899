// Tests of the EventSource over an EventStore: batches within their limits,
// every event read from the store once, and positions that resume.
#include "replay/store_source.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/memory_store.h"
#include "replay/corruption.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {

// A memory EventStore that counts the events its scans return.
class ScanCountingStore final : public EventStore {
 public:
  ScanCountingStore() : base_(NewMemoryEventStore()) {}

  uint64_t scanned() const { return scanned_; }

  Result<std::vector<uint64_t>> Append(std::span<const Event> events, bool sync) override {
    return base_->Append(events, sync);
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
    Result<std::vector<StoredEvent>> r = base_->Scan(after_seq, limit);
    if (r.ok()) scanned_ += r->size();
    return r;
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
  uint64_t scanned_ = 0;
};

// Batches cut by bytes long before the event limit: each event is handed out
// once, in sequence order, each batch within its limits, and the store
// scanned each event once (a scan that held more than the batch took used to
// be thrown away and read again).
TEST(StoreSourceTest, EveryEventIsScannedOnceAndBatchesKeepTheirLimits) {
  std::vector<Event> events = testing::GenerateLog({.events = 3000, .seed = 5});
  ScanCountingStore store;
  ASSERT_TRUE(store.Append(events, false).ok());
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  std::unique_ptr<EventSource> source = NewStoreSource(&store, &reporter);

  BatchLimits limits;
  limits.max_events = 1000;
  limits.max_bytes = 8 * 1024;
  uint64_t expected_seq = 1;
  size_t batches = 0;
  std::vector<SourcedEvent> batch;
  for (int guard = 0; guard < 10'000; ++guard) {
    ASSERT_TRUE(source->Next(limits, &batch).ok());
    if (batch.empty()) break;
    ++batches;
    ASSERT_LE(batch.size(), limits.max_events);
    size_t bytes = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      EXPECT_LT(bytes, limits.max_bytes) << "batch " << batches << " went on past its bytes";
      bytes += batch[i].event.raw.size();
      ASSERT_EQ(batch[i].position, expected_seq++);
    }
    EXPECT_EQ(source->position(), expected_seq - 1);
  }
  EXPECT_EQ(expected_seq - 1, events.size());
  EXPECT_GT(batches, 10u);
  EXPECT_EQ(store.scanned(), events.size());

  // Seeking back starts over after that position.
  ASSERT_TRUE(source->SeekAfter(2990).ok());
  ASSERT_TRUE(source->Next(limits, &batch).ok());
  ASSERT_FALSE(batch.empty());
  EXPECT_EQ(batch.front().position, 2991u);
}

}  // namespace
}  // namespace pigtail::replay

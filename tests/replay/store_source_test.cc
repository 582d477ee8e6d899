// Tests of the EventSource over an EventStore: batches within their limits,
// every event read from the store once, and positions that resume.
#include "replay/store_source.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/memory_store.h"
#include "replay/corruption.h"
#include "tests/core/forwarding_event_store.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {

// A memory EventStore that counts the events its scans return.
class ScanCountingStore final : public pigtail::testing::ForwardingEventStore {
 public:
  uint64_t scanned() const { return scanned_; }

  Result<std::vector<StoredEvent>> Scan(uint64_t after_seq, size_t limit) override {
    Result<std::vector<StoredEvent>> r = ForwardingEventStore::Scan(after_seq, limit);
    if (r.ok()) scanned_ += r->size();
    return r;
  }

 private:
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

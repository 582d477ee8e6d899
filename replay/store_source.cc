#include "replay/store_source.h"

#include <utility>

namespace pigtail::replay {
namespace {

class StoreSource final : public EventSource {
 public:
  StoreSource(EventStore* store, std::unique_ptr<EventStore> owned, CorruptionReporter* reporter)
      : store_(store), owned_(std::move(owned)), reporter_(reporter) {}

  std::string_view PositionName() const override { return "seq"; }

  Status SeekAfter(uint64_t position) override {
    after_ = position;
    return Status::Ok();
  }

  Status Next(const BatchLimits& limits, std::vector<SourcedEvent>* out) override {
    out->clear();
    if (!last_known_) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, store_->LastSequence());
      last_known_ = last;
    }
    while (out->empty()) {
      Result<std::vector<StoredEvent>> scanned = store_->Scan(after_, limits.max_events);
      if (!scanned.ok()) {
        if (scanned.status().code() != StatusCode::kCorruption) return scanned.status();
        // Narrow the damage to one record: sequence numbers are consecutive,
        // so when a scan of one fails the bad record is the next one.
        Result<std::vector<StoredEvent>> one = store_->Scan(after_, 1);
        if (one.ok()) {
          scanned = std::move(one);
        } else if (one.status().code() != StatusCode::kCorruption) {
          return one.status();
        } else {
          ++after_;
          PIGTAIL_RETURN_IF_ERROR(reporter_->Report("seq", after_, one.status().message()));
          continue;
        }
      }
      if (scanned->empty()) return Status::Ok();
      size_t bytes = 0;
      for (StoredEvent& e : *scanned) {
        if (!out->empty() && bytes >= limits.max_bytes) break;
        bytes += e.event.raw.size();
        after_ = e.seq;
        out->push_back(SourcedEvent{e.seq, std::move(e.event)});
      }
    }
    return Status::Ok();
  }

  uint64_t position() const override { return after_; }

  SourceProgress Progress() const override { return {after_, last_known_, "events"}; }

 private:
  EventStore* store_;
  std::unique_ptr<EventStore> owned_;
  CorruptionReporter* reporter_;
  uint64_t after_ = 0;
  std::optional<uint64_t> last_known_;
};

}  // namespace

std::unique_ptr<EventSource> NewStoreSource(EventStore* store, CorruptionReporter* reporter) {
  return std::make_unique<StoreSource>(store, nullptr, reporter);
}

std::unique_ptr<EventSource> NewOwningStoreSource(std::unique_ptr<EventStore> store,
                                                  CorruptionReporter* reporter) {
  EventStore* raw = store.get();
  return std::make_unique<StoreSource>(raw, std::move(store), reporter);
}

}  // namespace pigtail::replay

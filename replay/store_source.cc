#include "replay/store_source.h"

#include <algorithm>
#include <utility>

namespace pigtail::replay {
namespace {

// Scans in runs sized to what the batch still has room for (by the mean size
// of the events scanned so far), and keeps what a batch could not take for
// the next one: each event is read and parsed once, and a scan holds about
// one batch's bytes.
class StoreSource final : public EventSource {
 public:
  StoreSource(EventStore* store, std::unique_ptr<EventStore> owned, CorruptionReporter* reporter)
      : store_(store), owned_(std::move(owned)), reporter_(reporter) {}

  std::string_view PositionName() const override { return "seq"; }

  Status SeekAfter(uint64_t position) override {
    after_ = position;
    scanned_after_ = position;
    scanned_.clear();
    next_ = 0;
    return Status::Ok();
  }

  Status Next(const BatchLimits& limits, std::vector<SourcedEvent>* out) override {
    out->clear();
    if (!last_known_) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, store_->LastSequence());
      last_known_ = last;
    }
    size_t bytes = 0;
    while (out->size() < limits.max_events && (out->empty() || bytes < limits.max_bytes)) {
      if (next_ == scanned_.size()) {
        // The loop's condition keeps bytes below max_bytes and out below
        // max_events (or out empty, bytes 0).
        PIGTAIL_RETURN_IF_ERROR(
            ScanMore(ScanLimit(limits.max_bytes - bytes, limits.max_events - out->size())));
        if (scanned_.empty()) break;  // the end of the log
      }
      StoredEvent& e = scanned_[next_++];
      bytes += e.event.raw.size();
      after_ = e.seq;
      out->push_back(SourcedEvent{e.seq, std::move(e.event)});
    }
    return Status::Ok();
  }

  uint64_t position() const override { return after_; }

  SourceProgress Progress() const override { return {after_, last_known_, "events"}; }

 private:
  // How many events to scan for `room` bytes: by the mean size so far (a
  // few, to learn it, at first), at least 1 and at most `max_events` (>= 1).
  size_t ScanLimit(size_t room, size_t max_events) const {
    constexpr size_t kFirstScan = 16;
    const size_t fit = scanned_events_ == 0
                           ? kFirstScan
                           : room / std::max<uint64_t>(1, scanned_bytes_ / scanned_events_) + 1;
    return std::clamp<size_t>(fit, 1, max_events);
  }

  // Replaces scanned_ with up to `limit` events after scanned_after_; empty
  // at the end of the log. A corrupt record is narrowed to its sequence
  // number, reported and skipped.
  Status ScanMore(size_t limit) {
    scanned_.clear();
    next_ = 0;
    while (true) {
      Result<std::vector<StoredEvent>> scanned = store_->Scan(scanned_after_, limit);
      if (!scanned.ok()) {
        if (scanned.status().code() != StatusCode::kCorruption) return scanned.status();
        // Narrow the damage to one record: sequence numbers are consecutive,
        // so when a scan of one fails the bad record is the next one.
        Result<std::vector<StoredEvent>> one = store_->Scan(scanned_after_, 1);
        if (one.ok()) {
          scanned = std::move(one);
        } else if (one.status().code() != StatusCode::kCorruption) {
          return one.status();
        } else {
          // Everything before it was handed out: the position passes it too.
          after_ = ++scanned_after_;
          PIGTAIL_RETURN_IF_ERROR(reporter_->Report("seq", scanned_after_, one.status().message()));
          continue;
        }
      }
      scanned_ = std::move(*scanned);
      for (const StoredEvent& e : scanned_) scanned_bytes_ += e.event.raw.size();
      scanned_events_ += scanned_.size();
      if (!scanned_.empty()) scanned_after_ = scanned_.back().seq;
      return Status::Ok();
    }
  }

  EventStore* store_;
  std::unique_ptr<EventStore> owned_;
  CorruptionReporter* reporter_;
  uint64_t after_ = 0;          // the last event handed out
  uint64_t scanned_after_ = 0;  // the last event scanned (or skipped as corrupt)
  std::vector<StoredEvent> scanned_;
  size_t next_ = 0;  // the first event of scanned_ not handed out yet
  uint64_t scanned_bytes_ = 0;
  uint64_t scanned_events_ = 0;
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

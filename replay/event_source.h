// EventSource: a stream of parsed events in bounded batches, each with its
// position in the source. Implementations read an EventStore
// (store_source.h), a JSONL dump (jsonl_source.h) or a live node over HTTP
// (http_source.h); OpenEventSource picks one from a spec string.
//
// Positions are positive and strictly increasing along a source, so the
// position of the last event applied is a checkpoint: a new source opened
// on the same input and told SeekAfter(checkpoint) yields exactly the events
// that follow it.
//
// Not thread-safe: one reader at a time. Non-copyable.
#ifndef PIGTAIL_REPLAY_EVENT_SOURCE_H_
#define PIGTAIL_REPLAY_EVENT_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "replay/corruption.h"

namespace pigtail {
struct BackendOptions;
}

namespace pigtail::replay {

struct SourcedEvent {
  uint64_t position = 0;  // sequence number, line number or walk ordinal
  Event event;
};

// Bounds on one batch. A batch holds at least one event unless the source
// is exhausted, even when that event alone exceeds max_bytes.
struct BatchLimits {
  size_t max_events = 10'000;
  size_t max_bytes = 16 << 20;  // of raw event text
};

// How far a source has got, in the unit it can count cheaply.
struct SourceProgress {
  uint64_t done = 0;
  std::optional<uint64_t> total;  // unknown for some sources
  std::string_view unit;          // "events" or "bytes"
};

class EventSource {
 public:
  EventSource() = default;
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;
  virtual ~EventSource() = default;

  // What the positions count: "seq", "line" or "ordinal".
  virtual std::string_view PositionName() const = 0;

  // Makes the next batch start after `position`. REQUIRES: called before the
  // first Next. Skipped records are not checked for corruption.
  virtual Status SeekAfter(uint64_t position) = 0;

  // Replaces `*out` with the next batch; an empty batch means the end.
  // Unreadable records go to the reporter given at construction: under
  // kStop the error is returned (with the position), under kSkipAndCount
  // they are counted and left out. I/O errors are always returned.
  virtual Status Next(const BatchLimits& limits, std::vector<SourcedEvent>* out) = 0;

  // The position of the last record consumed (applied or skipped), or the
  // SeekAfter position; 0 before anything. This is the checkpoint to store
  // after the events returned so far have been applied.
  virtual uint64_t position() const = 0;

  virtual SourceProgress Progress() const = 0;
};

// Opens a source from a spec:
//   jsonl:FILE         a JSONL dump, one raw event per line (FILE "-" = stdin)
//   http://HOST:PORT   a live node, walked with GET /log/first and /log/{id}
//   anything else      an EventStore URI for OpenEventStore (rocksdb:PATH,
//                      postgresql://..., memory:)
// `reporter` must outlive the source.
Result<std::unique_ptr<EventSource>> OpenEventSource(std::string_view spec,
                                                     const BackendOptions& backend,
                                                     CorruptionReporter* reporter);

// True for specs OpenEventSource reads as a JSONL file.
bool IsJsonlSpec(std::string_view spec);
// True for http:// specs.
bool IsHttpSpec(std::string_view spec);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_EVENT_SOURCE_H_

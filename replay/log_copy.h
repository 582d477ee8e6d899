// Copying events from a source into an EventStore, and the log-level
// operations built on it: import (one JSONL dump into a store), merge (the
// union of several logs), export (a store as a JSONL dump that holds every
// entry's bytes exactly).
#ifndef PIGTAIL_REPLAY_LOG_COPY_H_
#define PIGTAIL_REPLAY_LOG_COPY_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/event_store.h"
#include "core/uuid.h"
#include "replay/event_source.h"
#include "replay/progress.h"

namespace pigtail::replay {

struct CopyReport {
  uint64_t read = 0;        // events read from the source
  uint64_t added = 0;       // new in the target
  uint64_t duplicates = 0;  // already there (or repeated in the source)
};

// Appends every event of `source` to `target` in batches bounded by
// `limits`, in source order; events already stored are no-ops. The last
// batch is synced. `progress` may be null.
Result<CopyReport> CopyEvents(EventSource* source, EventStore* target, const BatchLimits& limits,
                              ProgressSink* progress, std::string_view phase = "import");

struct OwnerReport {
  Uuid owner;
  uint64_t events = 0;      // the owner's entries in the target
  std::vector<Uuid> holes;  // ids named as prev but not stored
};

// Per owner (in owner id order): its entry count and the holes in its chain.
Result<std::vector<OwnerReport>> ReportOwners(EventStore* store, size_t page = 10'000);

// Writes every event of `store`, in sequence order, as one line of the
// dump format (replay/dump_line.h): its stored bytes, verbatim or, when they
// hold a line break, as a JSON string. Reads the stored records without
// parsing them. Returns the count.
Result<uint64_t> ExportJsonl(EventStore* store, std::FILE* out, const BatchLimits& limits,
                             ProgressSink* progress);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_LOG_COPY_H_

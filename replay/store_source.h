// An EventSource over an EventStore, in ingest sequence order (Scan).
// Positions are the store's sequence numbers.
#ifndef PIGTAIL_REPLAY_STORE_SOURCE_H_
#define PIGTAIL_REPLAY_STORE_SOURCE_H_

#include <memory>

#include "core/event_store.h"
#include "replay/event_source.h"

namespace pigtail::replay {

// Reads `store`, which must outlive the source. When a Scan fails with
// Corruption, the source narrows it to one sequence number and hands that
// to the reporter.
std::unique_ptr<EventSource> NewStoreSource(EventStore* store, CorruptionReporter* reporter);

// Same, owning the store.
std::unique_ptr<EventSource> NewOwningStoreSource(std::unique_ptr<EventStore> store,
                                                  CorruptionReporter* reporter);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_STORE_SOURCE_H_

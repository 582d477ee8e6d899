// An EventSource over a live node's Potboiler log API, walked the way
// Potboiler nodes walk each other: GET /log/first (owner -> first entry id),
// then GET /log/{id} for each entry, following its "next" until null. Owners
// are walked one after another in id order, so the walk order is the same
// each time while the log does not change, and the position (the 1-based
// ordinal in the walk) can serve as a checkpoint. Resuming re-fetches the
// skipped entries (it has to follow their "next"), without applying them.
//
// The events carry the node's served JSON (with "next" filled in), not the
// bytes as first received; projection does not depend on them.
#ifndef PIGTAIL_REPLAY_HTTP_SOURCE_H_
#define PIGTAIL_REPLAY_HTTP_SOURCE_H_

#include <memory>
#include <string>

#include "replay/event_source.h"

namespace pigtail::replay {

// `base_url` is "http://HOST:PORT" (a trailing path is ignored).
// InvalidArgument for a malformed URL; the first request happens on Next.
Result<std::unique_ptr<EventSource>> OpenHttpSource(const std::string& base_url,
                                                    CorruptionReporter* reporter);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_HTTP_SOURCE_H_

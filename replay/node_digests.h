// Reading a live node's digests over HTTP, for `compare`.
#ifndef PIGTAIL_REPLAY_NODE_DIGESTS_H_
#define PIGTAIL_REPLAY_NODE_DIGESTS_H_

#include <string>

#include "core/state_store.h"
#include "core/status.h"

namespace pigtail::replay {

// Reads a node's GET /digest: {"total":"<hex>","queues":{"<name>":"<hex>",...}}
// plus members it ignores (pigtaild adds "tasks"); a "checkpoint":N is read
// when present, else it is 0. `base_url` is "http://HOST:PORT" (a path is
// ignored). Tested against real pigtaild nodes by replay_live_node_test.
// Unavailable when the node cannot be reached or answers with an error
// status; Corruption when the body is not of that shape.
Result<DigestSummary> FetchNodeDigests(const std::string& base_url);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_NODE_DIGESTS_H_

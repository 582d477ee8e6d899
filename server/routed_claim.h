// One claim-next of a worker on this node under claim routing
// (server/claim_router.h). Decided by the sequencer for the tasks this node
// may claim; when that finds tasks of other homes and leaves room, those
// homes are asked in turn, and the entries they answer with are stored here
// before the worker sees their tasks. When every home asked had nothing and
// the request's wait is not over, it is decided again, waiting in the
// sequencer as any claim-next does; homes that just answered empty are not
// asked again for kQuietHomes. While the router settles (a peer's id is not
// known yet), the decision waits for it, within the request's wait.
#ifndef PIGTAIL_SERVER_ROUTED_CLAIM_H_
#define PIGTAIL_SERVER_ROUTED_CLAIM_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/write_request.h"
#include "server/claim_router.h"
#include "server/sequencer.h"

namespace pigtail {

inline constexpr std::chrono::milliseconds kQuietHomes{100};

struct RoutedClaimOptions {
  Sequencer* sequencer = nullptr;
  ClaimRouter* router = nullptr;
  std::function<uint64_t()> now_ns;  // the clock decisions read (Node::NowNanos)
  // A task claimed here, as JSON text (the form the homes answer with).
  std::function<std::string(const ClaimedTask&)> render;
};

// `done` gets the claimed tasks as JSON objects, and a status that is not
// Ok (with the decision's reason) only when nothing was claimed because the
// local decision failed (e.g. NotFound: no such queue). Runs on the
// sequencer's or the router's threads.
using RoutedClaimDone = std::function<void(WriteResult status, std::vector<std::string> tasks)>;

void StartRoutedClaim(const RoutedClaimOptions& options, ClaimNextRequest request,
                      RoutedClaimDone done);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_ROUTED_CLAIM_H_

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
#include "server/http_message.h"
#include "server/sequencer.h"

namespace pigtail {

inline constexpr std::chrono::milliseconds kQuietHomes{100};

struct RoutedClaimOptions {
  Sequencer* sequencer = nullptr;
  ClaimRouter* router = nullptr;
  std::function<uint64_t()> now_ns;  // the clock decisions read (Node::NowNanos)
  // A task claimed here, as JSON text (the form the homes answer with);
  // StartRoutedClaim only.
  std::function<std::string(const ClaimedTask&)> render;
};

// `done` gets the claimed tasks as JSON objects, and a status that is not
// Ok (with the decision's reason) only when nothing was claimed because the
// local decision failed (e.g. NotFound: no such queue). Runs on the
// sequencer's or the router's threads.
using RoutedClaimDone = std::function<void(WriteResult status, std::vector<std::string> tasks)>;

void StartRoutedClaim(const RoutedClaimOptions& options, ClaimNextRequest request,
                      RoutedClaimDone done);

// A claim of one named task (PUT /queue/{name}/{id}, not a heartbeat) whose
// home is another reachable node: `request` goes to the home as it is.
// Its answer goes to `reply`: a 200 without its "entries", which are stored
// here first; any other status as the home gave it. A home that does not
// answer leaves the claim to `decide_here` (it is unreachable now).
void ForwardClaimOne(const RoutedClaimOptions& options, const Uuid& home,
                     const HttpRequest& request, std::function<void(HttpResponse)> reply,
                     std::function<void()> decide_here);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_ROUTED_CLAIM_H_

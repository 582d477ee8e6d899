// Which node decides the claims of a task: its home. A healthy cluster
// hands each task out once because only the home claims it; the others ask
// the home for work (server/claim_router.h). docs/replication.md, "Claim
// routing".
//
// The home is the member with the highest rendezvous score for the task id,
// so every node that knows the same members picks the same home, and a
// member joining or leaving moves only the tasks it gains or held. Members
// this node cannot reach decide nothing: their tasks are homed among the
// members it can reach, by the same rule, so every side of a partition
// keeps handing out all the work it knows, and the nodes of one side, seeing
// the same members gone, still hand each task out once.
#ifndef PIGTAIL_CORE_CLAIM_ROUTE_H_
#define PIGTAIL_CORE_CLAIM_ROUTE_H_

#include <optional>
#include <span>
#include <vector>

#include "core/uuid.h"

namespace pigtail {

struct ClaimRoute {
  Uuid self;
  std::vector<Uuid> members;      // sorted, unique, holding `self`
  std::vector<Uuid> unreachable;  // sorted members whose tasks `self` claims itself
};

// The member of `members` that is `task`'s home. REQUIRES: members is not
// empty. Depends on the set only, not on its order.
Uuid HomeOf(const Uuid& task, std::span<const Uuid> members);

// The home that must decide `task`'s claims instead of route.self: the
// task's home among the reachable members (route.members but
// route.unreachable), or none when that is route.self.
std::optional<Uuid> RemoteHome(const ClaimRoute& route, const Uuid& task);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_CLAIM_ROUTE_H_

// Claim routing (docs/replication.md, "Claim routing"): a node's claim-next
// requests claim the tasks whose home (core/claim_route.h) is this node or
// a member it cannot reach, and ask the other homes for their tasks.
//
// The members are this node and the replication peers whose node ids are
// known. A home is unreachable while the replication worker's last exchange
// with it failed, or a claim forwarded to it failed since the worker's last
// successful exchange.
//
// A forwarded claim is POST /queue/{name}/claim on the home, with the
// header "Pigtail-Forwarded-Claim: true", wait_ms 0, the peer token, and
// "candidates": the home's claimable tasks this node knows (it holds their
// Adds, so its worker can finish them), of which the home claims those
// still claimable and homed there; the home answers with the tasks it claimed and the entries it
// wrote, which this node stores before its worker sees the tasks, so the worker's heartbeats and
// dones are decided here against the home's lease.
//
// Thread safety: all public methods may be called from any thread.
#ifndef PIGTAIL_SERVER_CLAIM_ROUTER_H_
#define PIGTAIL_SERVER_CLAIM_ROUTER_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/claim_route.h"
#include "core/status.h"
#include "core/uuid.h"
#include "server/http_message.h"
#include "server/replicator.h"

namespace pigtail {

inline constexpr std::string_view kForwardedClaimHeader = "Pigtail-Forwarded-Claim";

struct ClaimRouterOptions {
  std::string peer_token;  // sent as a bearer token when not empty
  // How long a forwarded claim may take before the home counts as
  // unreachable and this node claims its tasks itself.
  std::chrono::milliseconds forward_timeout{1'000};
  // How long a route is reused before the peers are read again.
  std::chrono::milliseconds refresh{100};
  size_t threads = 4;  // forwarded claims in flight at once
  std::chrono::milliseconds settle{1'000};
};

// What a home answered a forwarded claim.
struct ForwardedClaim {
  std::vector<std::string> tasks;    // the claimed tasks, JSON objects as the home wrote them
  std::vector<std::string> entries;  // the entries it wrote, as stored
};

class ClaimRouter {
 public:
  using PeerList = std::function<std::vector<PeerStatus>()>;
  ClaimRouter(const Uuid& self, PeerList peers, const ClaimRouterOptions& options);
  ~ClaimRouter();  // Stop()
  ClaimRouter(const ClaimRouter&) = delete;
  ClaimRouter& operator=(const ClaimRouter&) = delete;

  // The route for a claim decided now; null while no peer is known (every
  // task is this node's).
  std::shared_ptr<const ClaimRoute> Route();
  // True for up to options.settle after the router starts while a peer's
  // first exchange is still under way: its id, so its tasks, are not known
  // yet, and a claim decided now could take them.
  bool Settling();

  using ForwardDone = std::function<void(Result<ForwardedClaim>)>;
  // Asks `home` to claim up to `max` of `candidates` (tasks of `queue`
  // this node knows) for `worker`, through Exchange; an answer other than
  // 200 is an error too.
  void Forward(const Uuid& home, const std::string& queue, const Uuid& worker, size_t max,
               std::vector<Uuid> candidates, ForwardDone done);

  using ExchangeDone = std::function<void(Result<HttpResponse>)>;
  // Sends METHOD `target` (path and query) with `body` to `home` as a
  // forwarded claim (the header, the peer token), on a router thread;
  // `done` runs there with the answer, whatever its status. A home that
  // does not answer is an error and counts as unreachable from then on,
  // until replication reaches it again.
  void Exchange(const Uuid& home, std::string method, std::string target, std::string body,
                ExchangeDone done);

  // Runs `work` on a router thread after `delay`.
  void After(std::chrono::milliseconds delay, std::function<void()> work);

  // Runs what is queued at once (forwards fail with Unavailable without
  // being sent) and joins the threads. Idempotent.
  void Stop();

  uint64_t forwarded() const;         // forwarded claims sent
  uint64_t forward_failures() const;  // of them, failed

 private:
  void Run();
  Result<HttpResponse> Send(const std::string& url, const std::string& method,
                            const std::string& target, const std::string& body);
  void MarkFailed(const Uuid& home);

  const Uuid self_;
  const PeerList peers_;
  const ClaimRouterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // guarded by mu_: work by the time it is due
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> jobs_;
  bool stopping_ = false;                           // guarded by mu_
  std::shared_ptr<const ClaimRoute> route_;         // guarded by mu_
  std::chrono::steady_clock::time_point route_at_;  // guarded by mu_
  bool settling_ = true;                            // guarded by mu_: as of route_at_
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::map<Uuid, std::string> urls_;   // guarded by mu_: home -> peer URL
  std::map<Uuid, int64_t> failed_ms_;  // guarded by mu_: Unix ms of the last failure
  uint64_t forwarded_ = 0;             // guarded by mu_
  uint64_t forward_failures_ = 0;      // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_CLAIM_ROUTER_H_

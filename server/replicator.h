// Replication between pigtaild nodes (docs/replication.md).
//
// For every peer URL in the persisted peer set (POST /nodes, metadata key
// kNodesKey) one worker thread:
//  * pushes: sends every entry of the local log (its own and those learned
//    from others) after a durable per-peer cursor (a log sequence number in
//    the log's metadata), in batches, with POST /log/batch; a peer that
//    answers 404 there (a Potboiler node) gets POST /log/other one entry at
//    a time. While the peer is unreachable it backs off exponentially.
//  * pulls (anti-entropy) every anti_entropy interval and at once when the
//    peer comes back after a failure: compares the peer's GET /log heads
//    with the local ones, and for every owner whose head is not stored here
//    fetches the entries after the local head of that owner, in pages, with
//    GET /log/range; from a peer without it (404) it walks GET /log/{id}
//    along `next`, from the local head or GET /log/first.
//  * fills holes: ids named as `prev` by a stored entry but not stored are
//    fetched with GET /log/{id}, walking `prev` backwards.
//  * gossips membership: adds the peer's GET /nodes to the local set, and
//    tells the peer about this node (POST /nodes with advertise_url) when
//    the peer does not list it.
// The walk and hole filling ask for GET /log/{id}?raw=true, the stored bytes
// exactly; only a peer without it (a Potboiler node) yields the Potboiler
// form, the owner's bytes with "next" filled in. Pushes and range pages
// carry stored bytes read unparsed (EventStore::ScanRaw, ScanOwnerRaw).
// Every arriving entry goes through the sequencer (ExternalRequest), so it is
// stored verbatim, projected, and handed to the notifier like any other.
//
// Thread safety: all public methods may be called from any thread.
#ifndef PIGTAIL_SERVER_REPLICATOR_H_
#define PIGTAIL_SERVER_REPLICATOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "server/http_client.h"
#include "server/node.h"
#include "server/sequencer.h"

namespace pigtail {

// The metadata key holding the peer URLs managed by /nodes.
inline constexpr std::string_view kNodesKey = "nodes";
// The metadata key holding the push cursor (a log sequence number) of a peer.
std::string PushCursorKey(std::string_view peer_url);

struct ReplicatorOptions {
  // This node's URL as peers reach it; empty: peers are not told about us.
  std::string advertise_url;
  // Sent as "Authorization: Bearer <peer_token>" when not empty.
  std::string peer_token;
  std::chrono::milliseconds anti_entropy{1'000};
  std::chrono::milliseconds request_timeout{2'000};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
  // How often the peer set is re-read.
  std::chrono::milliseconds membership_poll{500};
  size_t batch = 4'096;  // entries per push and per range page (ServerConfig's)
  // Most bytes of entries per POST /log/batch (below the peers'
  // --max-body-bytes); a larger page goes as several requests, and an entry
  // larger than this alone.
  size_t max_push_bytes = 4 << 20;
  // Entries handed to the sequencer per submit while pulling.
  size_t submit_chunk = 1'000;
  // Most hole ids fetched per round and owner.
  size_t max_hole_fetches = 10'000;
};

// What one peer worker knows, for /replication and /metrics.
struct PeerStatus {
  std::string url;
  std::string node_id;  // from the peer's GET /health; empty until known
  bool up = false;
  bool potboiler_only = false;  // no /log/batch or /log/range: one-at-a-time API
  uint64_t push_cursor = 0;     // last local sequence number the peer acknowledged
  uint64_t push_lag = 0;        // local entries not yet pushed
  uint64_t pushed = 0;          // entries sent since start
  uint64_t pulled = 0;          // new entries fetched since start
  uint64_t holes_filled = 0;
  uint64_t pull_rounds = 0;
  uint64_t last_pull_missing = 0;  // new entries found by the last pull round
  uint64_t failures = 0;
  int64_t last_contact_ms = 0;  // Unix ms of the last successful exchange; 0: never
  std::string last_error;
  // The peer's total digest (GET /digest) after the last pull round, and
  // when it was read; empty when the peer does not serve digests to us.
  std::string digest;
  int64_t digest_ms = 0;
};

// Pulls from one peer: a library function the worker, the tests and the
// benchmark use. Not thread-safe (one keep-alive connection).
class PeerClient {
 public:
  PeerClient(Node* node, Sequencer* sequencer, std::string url, const ReplicatorOptions& options);
  ~PeerClient();

  const std::string& url() const { return url_; }

  // GET /log on the peer: its head per owner.
  Result<std::map<Uuid, Uuid>> Heads();
  // One anti-entropy round: fetches everything the peer has that is missing
  // here (entries after the local heads, then holes). Returns the number of
  // new entries stored. `force_walk` uses the Potboiler walk even if the
  // peer has GET /log/range (for comparisons).
  Result<uint64_t> PullMissing(bool force_walk = false, uint64_t* holes_filled = nullptr);
  // Pushes up to `max_batches` batches of local entries after *cursor, moving
  // *cursor forward as the peer acknowledges them. Returns entries sent.
  Result<uint64_t> Push(uint64_t* cursor, size_t max_batches);
  // GET /health: the peer's node id.
  Result<std::string> PeerNodeId();
  // GET /digest: the peer's total digest; empty from a peer that has none
  // (a Potboiler node) or does not let us read it.
  Result<std::string> PeerDigest();
  // Membership gossip: learns the peer's peers and tells the peer about
  // `advertise_url` when it does not list it. Returns URLs newly learned.
  Result<size_t> Gossip();

  bool potboiler_only() const { return no_range_ || no_batch_; }
  // Long exchanges check `*stop` between requests and give up when set.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }
  // Push leaves out the peer's own entries once its node id is known.
  void set_peer_id(const Uuid& id) { peer_id_ = id; }
  // PullMissing skips the hole search (it scans each owner's chain).
  void set_skip_holes(bool skip) { skip_holes_ = skip; }
  // Entries fetched but deferred by the sequencer (stamped beyond the
  // clock's bounds, docs/registers.md) since the last call; they are holes
  // or heads to fetch again.
  uint64_t TakeDeferred() { return std::exchange(deferred_, 0); }

 private:
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body = {});
  // Stores `events` through the sequencer; returns how many were new.
  Result<uint64_t> Store(std::vector<Event> events);
  // The same in two steps, so that the next fetch overlaps the store.
  std::future<WriteResult> StoreAsync(std::vector<Event> events);
  Result<uint64_t> Stored(std::future<WriteResult> pending);
  Result<uint64_t> PullRange(const Uuid& owner, std::optional<Hlc> after);
  Result<uint64_t> WalkFrom(const Uuid& start);
  Result<uint64_t> FillHoles(const Uuid& owner);
  Result<std::optional<Event>> Fetch(const Uuid& id, std::optional<Uuid>* next);

  Node* const node_;
  Sequencer* const sequencer_;
  const std::string url_;
  const ReplicatorOptions options_;
  HttpUrl parsed_;
  std::unique_ptr<HttpConnection> conn_;
  bool no_range_ = false;
  bool no_batch_ = false;
  bool serves_raw_ = false;  // the peer answered GET /log/{id}?raw=true with its stored bytes
  bool skip_holes_ = false;
  std::optional<Uuid> peer_id_;
  const std::atomic<bool>* stop_ = nullptr;
  uint64_t deferred_ = 0;
};

class Replicator {
 public:
  Replicator(Node* node, Sequencer* sequencer, const ReplicatorOptions& options);
  ~Replicator();  // Stop()
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  void Start();
  // Stops every worker (an exchange in flight ends within request_timeout)
  // and joins the threads. Idempotent.
  void Stop();
  // New local entries: push now.
  void Wake();
  // The peer set changed: re-read it now.
  void PeersChanged();

  std::vector<PeerStatus> Peers() const;
  // {"node_id":..., "advertise_url":..., "peers":[{...}]}
  std::string StatusJson() const;
  // Prometheus text for the per-peer gauges.
  std::string MetricsText() const;

 private:
  class Worker;
  void Run();
  void SyncPeers();

  Node* const node_;
  Sequencer* const sequencer_;
  const ReplicatorOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                   // guarded by mu_
  bool peers_changed_ = false;                              // guarded by mu_
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_REPLICATOR_H_

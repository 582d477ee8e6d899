// Client: typed calls to the Pigtail HTTP API (docs/http_api.md), one per
// endpoint a producer, a worker or an operator uses.
//
// Nodes: `urls` lists one or more nodes of a cluster. A call goes to the node
// that answered last; on a connection error or a 503 it tries the next one,
// each node once per call. Any other reply (2xx, 4xx, other 5xx) is the
// answer and is never retried elsewhere. A write whose connection broke after
// it was sent may have been applied by the node that lost it: adds are
// at-least-once across fail-over, as they are for any HTTP client.
//
// Errors: a transport failure on every node is Unavailable; an HTTP error is
// a Status whose code follows the status (400/405/413/431 InvalidArgument,
// 401 FailedPrecondition, 404 NotFound, 409 Conflict, 503 Unavailable, other
// Internal) and whose message is "HTTP <code>: <the server's error>". A 409's
// message starts with the server's `reason` ("lease_lost: HTTP 409: ...");
// ConflictReason() reads it back.
//
// Thread-safe: one Client may serve many threads (it keeps a small pool of
// keep-alive connections per node). No Boost in this header.
#ifndef PIGTAIL_CLIENT_CLIENT_H_
#define PIGTAIL_CLIENT_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pigtail {
class HttpConnection;
}  // namespace pigtail

namespace pigtail::client {

struct ClientOptions {
  // Nodes to try in order; each "http://HOST[:PORT]". At least one.
  std::vector<std::string> urls = {"http://127.0.0.1:8000"};
  // Sent as "Authorization: Bearer <token>" when not empty.
  std::string token;
  // Per request; a long-poll claim waits wait_ms on top of it.
  std::chrono::milliseconds timeout{10'000};
};

// The `reason` of a 409 from the server ("lease_lost", "cancelled", ...), or
// "" when `status` is not a Conflict carrying one.
std::string ConflictReason(const Status& status);

struct QueueSettings {
  std::string name;
  uint64_t timeout_ms = 0;
  std::optional<uint64_t> max_attempts;
  std::optional<uint64_t> backoff_ms;
};

struct QueueList {
  std::vector<QueueSettings> queues;
  std::string json;  // the server's reply
};

struct QueueStats {
  uint64_t pending = 0, working = 0, done = 0, dead = 0, cancelled = 0, claimable = 0;
  std::string json;
};

// One row of GET /queue/{name}.
struct TaskSummary {
  std::string id;
  std::string task_name;
  std::string state;
};
struct TaskList {
  std::vector<TaskSummary> tasks;  // in the server's order
  std::string json;
};

struct NewTask {
  std::string task_name;
  std::string info = "null";  // JSON text (one value; else Add is InvalidArgument)
  std::optional<int64_t> priority;
  std::optional<uint64_t> delay_ms;
  std::optional<uint64_t> max_attempts;
  std::optional<uint64_t> timeout_ms;
  // Not claimable before this time (ms since the Unix epoch); with delay_ms
  // too, the later of the two.
  std::optional<uint64_t> run_at_ms;
};

// The largest progress (Heartbeat) and result (Done) the server takes: the
// size of the value as compact JSON.
inline constexpr size_t kMaxProgressBytes = 4096;
inline constexpr size_t kMaxResultBytes = 65536;

// `text` (one JSON value) as compact JSON, at most `max` bytes: what the
// server measures. InvalidArgument, naming `what`, otherwise.
Result<std::string> CompactJson(std::string_view what, std::string_view text, size_t max);

// One failed attempt of a task, as GET /queue/{name}/{id} lists it.
struct TaskFailure {
  uint64_t round = 0;
  uint64_t attempt = 0;
  std::string error;
  std::string worker;
  uint64_t at_ms = 0;
};

// GET /queue/{name}/{id}. The optional fields are those the server sends
// only when they apply.
struct Task {
  std::string id;
  std::string task_name;
  std::string state;  // pending, working, done, dead or cancelled
  std::string info;   // JSON text
  std::string worker;
  uint64_t lease = 0;
  int64_t priority = 0;
  std::optional<std::string> error;
  uint64_t round = 0;                     // 0 until the task is retried
  uint64_t attempts = 0;                  // attempts started in the current round
  std::vector<TaskFailure> failures;      // the last failed attempts, oldest first
  std::optional<std::string> result;      // JSON text: the done's result
  std::optional<std::string> progress;    // JSON text: the last progress reported
  std::optional<uint64_t> run_at_ms;      // when the add gave one
  std::optional<uint64_t> ready_at_ms;    // pending only: claimable from (may be past)
  std::optional<uint64_t> expires_at_ms;  // working only: the lease's end
  std::string json;
};

// A task this worker holds: from a claim or a heartbeat.
struct Claimed {
  std::string id;
  std::string task_name;
  std::string info;  // JSON text
  std::string worker;
  uint64_t lease = 0;          // the fencing token to send back
  uint64_t lease_ms = 0;       // heartbeat well within this
  uint64_t expires_at_ms = 0;  // HLC time; do not compare with a local clock
  uint64_t attempt = 0;        // lease + 1
  bool heartbeat = false;      // PUT only: true when an existing lease was renewed
};

// DELETE /queue/{name}/{id}: changed false with reason "done" or
// "done_by_another_worker" when the task was already done.
struct DoneResult {
  bool changed = false;
  std::string reason;
};

// One item of DoneBatch: the task, its lease (fenced when set) and its
// result (JSON text) when set.
struct DoneItem {
  std::string id;
  std::optional<uint64_t> lease;
  std::optional<std::string> result_json;
};

// The answer for one DoneItem: done (changed false with reason "done" or
// "done_by_another_worker" when already done), or an error with its HTTP
// code (404, 409 with a reason).
struct DoneItemResult {
  bool done = false;
  bool changed = false;
  std::string reason;
  int code = 0;  // when not done
  std::string error;
};

struct DoneBatchResult {
  uint64_t done = 0;                    // items answered done, changed or not
  std::vector<DoneItemResult> results;  // in input order
  std::string json;
};

// POST /queue/{name}/purge. Empty state: the server's default, "finished"
// (done, dead and cancelled); or "done", "dead", "cancelled". Unset max:
// the server's default, 10000 (1 to 100000).
struct PurgeOptions {
  std::string state;
  std::optional<uint64_t> finished_before_ms;  // ms since the Unix epoch
  std::optional<uint64_t> max;
};

// `more`: matching tasks remain (call again).
struct PurgeResult {
  uint64_t purged = 0;
  bool more = false;
};

struct FailResult {
  std::string state;  // "pending" (retried) or "dead"
  uint64_t retry_in_ms = 0;
  uint64_t attempts = 0;
};

struct Digest {
  std::string total;
  std::map<std::string, std::string> queues;
  uint64_t tasks = 0;
  std::string json;
};

struct Health {
  std::string status;
  std::string node_id;
  std::string json;
};

struct Nodes {
  std::vector<std::string> urls;
  std::string json;
};

// GET /log: the head entry of every owner.
struct LogHeads {
  std::map<std::string, std::string> heads;  // owner -> entry id
  std::string json;
};

// One entry of GET /log/range, as stored.
struct LogEntry {
  std::string id;
  std::string owner;
  std::string data;  // the entry's op, JSON
  std::string json;  // the whole entry
};

class Client {
 public:
  // A node whose URL does not parse answers every call with InvalidArgument;
  // CheckOptions says so up front.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // InvalidArgument when `urls` is empty or one does not parse, or the
  // timeout is not positive.
  static Status CheckOptions(const ClientOptions& options);

  const ClientOptions& options() const { return options_; }

  // Queues.
  Status CreateQueue(const QueueSettings& settings);
  Result<QueueList> Queues();
  Result<QueueStats> Stats(std::string_view queue);
  // One page of the queue's tasks in claim order (GET /queue/{name}): those
  // in `state` (empty: the server's default, pending and working), after the
  // task `after` (empty: from the first), at most `limit` (0: the server's
  // default page, 1000). A page shorter than asked for is the last.
  Result<TaskList> Tasks(std::string_view queue, std::string_view state = {},
                         std::string_view after = {}, size_t limit = 0);
  Status DeleteQueue(std::string_view queue);
  // Pauses (`paused`) or resumes the claims of a queue.
  Status Pause(std::string_view queue, bool paused);

  // Producers. Add returns the task's id; AddBatch the ids in input order.
  Result<std::string> Add(std::string_view queue, const NewTask& task);
  Result<std::vector<std::string>> AddBatch(std::string_view queue,
                                            const std::vector<NewTask>& tasks);
  Result<Task> GetTask(std::string_view queue, std::string_view id);
  Status Cancel(std::string_view queue, std::string_view id);
  // A dead task runs again, in its next round (which is returned).
  Result<uint32_t> Retry(std::string_view queue, std::string_view id);
  // Deletes up to options.max finished tasks of the queue for good (one
  // call; while `more`, call again). NotFound when the queue does not exist.
  Result<PurgeResult> Purge(std::string_view queue, const PurgeOptions& options = {});

  // Workers. Claim takes up to `max` tasks, waiting up to `wait_ms` for one
  // (an empty vector when none came). Heartbeat renews the lease `lease`;
  // Done, DoneBatch and Fail are fenced by it.
  //
  // Heartbeat's `progress_json` and Done's `result_json` are one JSON value
  // each (any: an object, a number, ...), at most kMaxProgressBytes and
  // kMaxResultBytes as compact JSON; they are checked here
  // (InvalidArgument, nothing sent) and shown by GetTask.
  Result<std::vector<Claimed>> Claim(std::string_view queue, std::string_view worker_id,
                                     int max = 1, std::chrono::milliseconds wait = {});
  Result<Claimed> Heartbeat(std::string_view queue, std::string_view id, std::string_view worker_id,
                            uint64_t lease,
                            const std::optional<std::string>& progress_json = std::nullopt);
  Result<DoneResult> Done(std::string_view queue, std::string_view id, std::string_view worker_id,
                          uint64_t lease,
                          const std::optional<std::string>& result_json = std::nullopt);
  // POST /queue/{name}/done: one request for many tasks; each item is
  // answered on its own (an item's 404 or 409 does not fail the call).
  Result<DoneBatchResult> DoneBatch(std::string_view queue, std::string_view worker_id,
                                    const std::vector<DoneItem>& items);
  Result<FailResult> Fail(std::string_view queue, std::string_view id, std::string_view worker_id,
                          uint64_t lease, std::string_view error);

  // Operators.
  Result<Digest> GetDigest();
  Result<Nodes> GetNodes();
  Result<Health> GetHealth();
  Result<LogHeads> GetLogHeads();
  // The owner's entries after `after` (empty: from the first), at most `limit`.
  Result<std::vector<LogEntry>> LogRange(std::string_view owner, std::string_view after,
                                         int limit = 1000);

  // One request with fail-over, for what has no typed call: the reply body of
  // a 2xx, else the error Status above.
  Result<std::string> Call(std::string_view method, std::string_view target,
                           std::string_view body = {},
                           std::chrono::milliseconds extra_timeout = {});

 private:
  struct Node;
  Result<std::string> CallNode(Node& node, std::string_view method, std::string_view target,
                               std::string_view body, std::chrono::milliseconds timeout,
                               bool* try_next);

  const ClientOptions options_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::atomic<size_t> current_{0};  // the node that answered last
};

}  // namespace pigtail::client

#endif  // PIGTAIL_CLIENT_CLIENT_H_

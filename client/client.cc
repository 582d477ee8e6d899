#include "client/client.h"

#include <boost/json.hpp>
#include <cctype>
#include <exception>
#include <utility>

#include "server/http_client.h"

namespace pigtail::client {
namespace {

namespace json = boost::json;

constexpr size_t kMaxIdleConnections = 16;

// A path segment or query value, percent-encoded outside RFC 3986's
// unreserved characters.
std::string Escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string QueuePath(std::string_view queue) { return "/queue/" + Escape(queue); }
std::string TaskPath(std::string_view queue, std::string_view id) {
  return QueuePath(queue) + "/" + Escape(id);
}

std::string Quote(std::string_view text) { return json::serialize(json::string(text)); }

// The error of a non-2xx reply, as described in client.h.
Status HttpError(int code, const std::string& body) {
  std::string error = body;
  std::string reason;
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.as_object();
    if (const json::value* e = o.if_contains("error"); e != nullptr && e->is_string()) {
      error = std::string(e->as_string());
    }
    if (const json::value* r = o.if_contains("reason"); r != nullptr && r->is_string()) {
      reason = std::string(r->as_string());
    }
  }
  std::string message = "HTTP " + std::to_string(code) + ": " + error;
  switch (code) {
    case 400:
    case 405:
    case 413:
    case 431:
      return Status::InvalidArgument(message);
    case 401:
    case 403:
      return Status::FailedPrecondition(message);
    case 404:
      return Status::NotFound(message);
    case 409:
      return Status::Conflict(reason.empty() ? message : reason + ": " + message);
    case 503:
      return Status::Unavailable(message);
    default:
      return Status::Internal(message);
  }
}

// Parses a reply body; a reply that is not what the API promises is
// Internal (a bug on one side), never an exception.
// The parsed tree lives in one arena, released at once after `f` has copied
// out what it needs, instead of one heap allocation per value (a claim of
// 100 tasks is thousands of them).
template <typename T, typename F>
Result<T> Decode(const std::string& body, F&& f) {
  try {
    json::monotonic_resource arena;
    json::value v = json::parse(body, &arena);
    return f(v);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("unexpected reply (") + e.what() + "): " + body);
  }
}

std::string Str(const json::value& v, std::string_view key) {
  const json::value* m = v.as_object().if_contains(key);
  if (m == nullptr || m->is_null()) return "";
  return std::string(m->as_string());
}

uint64_t U64(const json::value& v, std::string_view key) {
  const json::value* m = v.as_object().if_contains(key);
  if (m == nullptr || m->is_null()) return 0;
  return m->to_number<uint64_t>();
}

std::optional<uint64_t> OptU64(const json::value& v, std::string_view key) {
  const json::value* m = v.as_object().if_contains(key);
  if (m == nullptr || m->is_null()) return std::nullopt;
  return m->to_number<uint64_t>();
}

QueueSettings ParseSettings(const json::value& v) {
  return {Str(v, "name"), U64(v, "timeout_ms"), OptU64(v, "max_attempts"), OptU64(v, "backoff_ms")};
}

Claimed ParseClaimed(const json::value& v, std::string id) {
  Claimed c;
  c.id = std::move(id);
  c.task_name = Str(v, "task_name");
  c.info = json::serialize(v.at("info"));
  c.worker = Str(v, "worker");
  c.lease = U64(v, "lease");
  c.lease_ms = U64(v, "lease_ms");
  c.expires_at_ms = U64(v, "expires_at_ms");
  c.attempt = U64(v, "attempt");
  if (const json::value* h = v.as_object().if_contains("heartbeat")) c.heartbeat = h->as_bool();
  return c;
}

std::string TaskBody(const NewTask& t) {
  std::string body = "{\"task_name\":" + Quote(t.task_name) + ",\"info\":" + t.info;
  if (t.priority) body += ",\"priority\":" + std::to_string(*t.priority);
  if (t.delay_ms) body += ",\"delay_ms\":" + std::to_string(*t.delay_ms);
  if (t.max_attempts) body += ",\"max_attempts\":" + std::to_string(*t.max_attempts);
  if (t.timeout_ms) body += ",\"timeout_ms\":" + std::to_string(*t.timeout_ms);
  if (t.run_at_ms) body += ",\"run_at_ms\":" + std::to_string(*t.run_at_ms);
  return body + "}";
}

// The task's info must be one JSON value: it is spliced into the body.
Status CheckTask(const NewTask& t) {
  json::error_code ec;
  json::parse(t.info, ec);
  if (ec) return Status::InvalidArgument("task info is not JSON: " + ec.message());
  return Status::Ok();
}

// {"worker_id","lease"[,"<key>":value]}: the value (JSON text) unless unset.
Result<std::string> WorkerBody(std::string_view worker_id, uint64_t lease,
                               std::string_view key = {},
                               const std::optional<std::string>& value = std::nullopt,
                               size_t max = 0) {
  std::string body = "{\"worker_id\":" + Quote(worker_id) + ",\"lease\":" + std::to_string(lease);
  if (value) {
    PIGTAIL_ASSIGN_OR_RETURN(std::string compact, CompactJson(key, *value, max));
    body += ",\"" + std::string(key) + "\":" + compact;
  }
  return body + "}";
}

std::optional<std::string> OptJson(const json::value& v, std::string_view key) {
  const json::value* m = v.as_object().if_contains(key);
  if (m == nullptr) return std::nullopt;
  return json::serialize(*m);
}

}  // namespace

Result<std::string> CompactJson(std::string_view what, std::string_view text, size_t max) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Status::InvalidArgument(std::string(what) + " is not JSON: " + ec.message());
  std::string compact = json::serialize(v);
  if (compact.size() > max) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(compact.size()) +
                                   " bytes as JSON, more than " + std::to_string(max));
  }
  return compact;
}

std::string ConflictReason(const Status& status) {
  if (status.code() != StatusCode::kConflict) return "";
  const std::string& m = status.message();
  size_t colon = m.find(':');
  if (colon == std::string::npos || colon == 0) return "";
  for (size_t i = 0; i < colon; ++i) {
    if (!std::islower(static_cast<unsigned char>(m[i])) && m[i] != '_') return "";
  }
  return m.substr(0, colon);
}

// One node: its URL and a pool of idle keep-alive connections.
struct Client::Node {
  std::string url;
  Status parse_status;
  std::string host, port, base;  // base: the URL's path, without a trailing '/'
  std::mutex mu;
  std::vector<std::unique_ptr<HttpConnection>> idle;  // guarded by mu
};

Status Client::CheckOptions(const ClientOptions& options) {
  if (options.urls.empty()) return Status::InvalidArgument("no node URL given");
  for (const std::string& url : options.urls) {
    PIGTAIL_RETURN_IF_ERROR(ParseHttpUrl(url).status().WithContext(url));
  }
  if (options.timeout.count() <= 0) return Status::InvalidArgument("the timeout must be positive");
  return Status::Ok();
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  for (const std::string& url : options_.urls) {
    auto node = std::make_unique<Node>();
    node->url = url;
    Result<HttpUrl> parsed = ParseHttpUrl(url);
    if (parsed.ok()) {
      node->host = parsed->host;
      node->port = parsed->port;
      node->base = parsed->target.substr(0, parsed->target.find('?'));
      while (!node->base.empty() && node->base.back() == '/') node->base.pop_back();
    } else {
      node->parse_status = parsed.status().WithContext(url);
    }
    nodes_.push_back(std::move(node));
  }
}

Client::~Client() = default;

Result<std::string> Client::CallNode(Node& node, std::string_view method, std::string_view target,
                                     std::string_view body, std::chrono::milliseconds timeout,
                                     bool* try_next) {
  *try_next = false;
  if (!node.parse_status.ok()) return node.parse_status;
  std::unique_ptr<HttpConnection> conn;
  {
    std::lock_guard<std::mutex> lock(node.mu);
    if (!node.idle.empty()) {
      conn = std::move(node.idle.back());
      node.idle.pop_back();
    }
  }
  if (conn == nullptr) conn = std::make_unique<HttpConnection>(node.host, node.port);
  HttpHeaders headers;
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  Result<HttpResponse> r =
      conn->Send(method, node.base + std::string(target), body, headers, timeout);
  if (!r.ok()) {
    // The connection's state is unknown: drop it.
    *try_next = r.status().code() == StatusCode::kUnavailable;
    return r.status().WithContext(node.url);
  }
  {
    std::lock_guard<std::mutex> lock(node.mu);
    if (node.idle.size() < kMaxIdleConnections) node.idle.push_back(std::move(conn));
  }
  if (r->status >= 200 && r->status < 300) return std::move(r->body);
  *try_next = r->status == 503;
  return HttpError(r->status, r->body);
}

Result<std::string> Client::Call(std::string_view method, std::string_view target,
                                 std::string_view body, std::chrono::milliseconds extra_timeout) {
  if (nodes_.empty()) return Status::InvalidArgument("no node URL given");
  const size_t n = nodes_.size();
  const size_t start = current_.load() % n;
  Status last;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (start + i) % n;
    bool try_next = false;
    Result<std::string> r =
        CallNode(*nodes_[index], method, target, body, options_.timeout + extra_timeout, &try_next);
    if (!try_next) {
      if (r.ok()) current_.store(index);
      return r;
    }
    last = r.status();
  }
  return last;
}

Status Client::CreateQueue(const QueueSettings& s) {
  std::string body =
      "{\"name\":" + Quote(s.name) + ",\"timeout_ms\":" + std::to_string(s.timeout_ms);
  if (s.max_attempts) body += ",\"max_attempts\":" + std::to_string(*s.max_attempts);
  if (s.backoff_ms) body += ",\"backoff_ms\":" + std::to_string(*s.backoff_ms);
  body += "}";
  return Call("POST", "/create", body).status();
}

Result<QueueList> Client::Queues() {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", "/queues"));
  return Decode<QueueList>(body, [&](const json::value& v) {
    QueueList out;
    for (const json::value& q : v.at("queues").as_array()) out.queues.push_back(ParseSettings(q));
    out.json = body;
    return out;
  });
}

Result<QueueStats> Client::Stats(std::string_view queue) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", QueuePath(queue) + "/stats"));
  return Decode<QueueStats>(body, [&](const json::value& v) {
    QueueStats s;
    s.pending = U64(v, "pending");
    s.working = U64(v, "working");
    s.done = U64(v, "done");
    s.dead = U64(v, "dead");
    s.cancelled = U64(v, "cancelled");
    s.claimable = U64(v, "claimable");
    s.json = body;
    return s;
  });
}

Result<TaskList> Client::Tasks(std::string_view queue, std::string_view state,
                               std::string_view after, size_t limit) {
  std::string query;
  if (!state.empty()) query += "&state=" + Escape(state);
  if (!after.empty()) query += "&after=" + Escape(after);
  if (limit > 0) query += "&limit=" + std::to_string(limit);
  std::string target = QueuePath(queue);
  if (!query.empty()) target += "?" + query.substr(1);
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", target));
  return Decode<TaskList>(body, [&](const json::value& v) {
    TaskList out;
    for (const auto& [id, t] : v.as_object()) {
      out.tasks.push_back({std::string(id), Str(t, "task_name"), Str(t, "state")});
    }
    out.json = body;
    return out;
  });
}

Status Client::DeleteQueue(std::string_view queue) {
  return Call("DELETE", QueuePath(queue)).status();
}

Status Client::Pause(std::string_view queue, bool paused) {
  return Call("POST", QueuePath(queue) + (paused ? "/pause" : "/resume")).status();
}

Result<std::string> Client::Add(std::string_view queue, const NewTask& task) {
  PIGTAIL_RETURN_IF_ERROR(CheckTask(task));
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("POST", QueuePath(queue), TaskBody(task)));
  return Decode<std::string>(body, [](const json::value& v) { return Str(v, "id"); });
}

Result<std::vector<std::string>> Client::AddBatch(std::string_view queue,
                                                  const std::vector<NewTask>& tasks) {
  for (const NewTask& t : tasks) PIGTAIL_RETURN_IF_ERROR(CheckTask(t));
  std::string request = "[";
  for (size_t i = 0; i < tasks.size(); ++i) request += (i > 0 ? "," : "") + TaskBody(tasks[i]);
  request += "]";
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("POST", QueuePath(queue) + "/batch", request));
  return Decode<std::vector<std::string>>(body, [](const json::value& v) {
    std::vector<std::string> ids;
    for (const json::value& id : v.at("ids").as_array()) ids.emplace_back(id.as_string());
    return ids;
  });
}

Result<Task> Client::GetTask(std::string_view queue, std::string_view id) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", TaskPath(queue, id)));
  return Decode<Task>(body, [&](const json::value& v) {
    Task t;
    t.id = std::string(id);
    t.task_name = Str(v, "task_name");
    t.state = Str(v, "state");
    t.info = json::serialize(v.at("info"));
    t.worker = Str(v, "worker");
    t.lease = U64(v, "lease");
    if (const json::value* p = v.as_object().if_contains("priority")) {
      t.priority = p->to_number<int64_t>();
    }
    if (const json::value* e = v.as_object().if_contains("error"); e != nullptr && !e->is_null()) {
      t.error = std::string(e->as_string());
    }
    t.round = U64(v, "round");
    t.attempts = U64(v, "attempts");
    if (const json::value* f = v.as_object().if_contains("failures");
        f != nullptr && !f->is_null()) {
      for (const json::value& e : f->as_array()) {
        t.failures.push_back({U64(e, "round"), U64(e, "attempt"), Str(e, "error"), Str(e, "worker"),
                              U64(e, "at_ms")});
      }
    }
    t.result = OptJson(v, "result");
    t.progress = OptJson(v, "progress");
    t.run_at_ms = OptU64(v, "run_at_ms");
    t.ready_at_ms = OptU64(v, "ready_at_ms");
    t.expires_at_ms = OptU64(v, "expires_at_ms");
    t.json = body;
    return t;
  });
}

Status Client::Cancel(std::string_view queue, std::string_view id) {
  return Call("POST", TaskPath(queue, id) + "/cancel").status();
}

Result<uint32_t> Client::Retry(std::string_view queue, std::string_view id) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("POST", TaskPath(queue, id) + "/retry"));
  return Decode<uint32_t>(body, [](const json::value& v) {
    return static_cast<uint32_t>(v.at("round").to_number<uint64_t>());
  });
}

Result<PurgeResult> Client::Purge(std::string_view queue, const PurgeOptions& options) {
  json::object request;
  if (!options.state.empty()) request["state"] = options.state;
  if (options.finished_before_ms) request["finished_before_ms"] = *options.finished_before_ms;
  if (options.max) request["max"] = *options.max;
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("POST", QueuePath(queue) + "/purge",
                                                  request.empty() ? "" : json::serialize(request)));
  return Decode<PurgeResult>(body, [](const json::value& v) {
    PurgeResult p;
    p.purged = U64(v, "purged");
    if (const json::value* m = v.as_object().if_contains("more")) p.more = m->as_bool();
    return p;
  });
}

Result<std::vector<Claimed>> Client::Claim(std::string_view queue, std::string_view worker_id,
                                           int max, std::chrono::milliseconds wait) {
  std::string request = "{\"worker_id\":" + Quote(worker_id) + ",\"max\":" + std::to_string(max) +
                        ",\"wait_ms\":" + std::to_string(wait.count()) + "}";
  PIGTAIL_ASSIGN_OR_RETURN(std::string body,
                           Call("POST", QueuePath(queue) + "/claim", request, wait));
  return Decode<std::vector<Claimed>>(body, [](const json::value& v) {
    std::vector<Claimed> out;
    for (const json::value& t : v.at("tasks").as_array()) {
      out.push_back(ParseClaimed(t, Str(t, "id")));
    }
    return out;
  });
}

Result<Claimed> Client::Heartbeat(std::string_view queue, std::string_view id,
                                  std::string_view worker_id, uint64_t lease,
                                  const std::optional<std::string>& progress_json) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string request, WorkerBody(worker_id, lease, "progress",
                                                           progress_json, kMaxProgressBytes));
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("PUT", TaskPath(queue, id), request));
  return Decode<Claimed>(body,
                         [&](const json::value& v) { return ParseClaimed(v, std::string(id)); });
}

Result<DoneResult> Client::Done(std::string_view queue, std::string_view id,
                                std::string_view worker_id, uint64_t lease,
                                const std::optional<std::string>& result_json) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string request,
                           WorkerBody(worker_id, lease, "result", result_json, kMaxResultBytes));
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("DELETE", TaskPath(queue, id), request));
  return Decode<DoneResult>(body, [](const json::value& v) {
    DoneResult d;
    if (const json::value* c = v.as_object().if_contains("changed")) d.changed = c->as_bool();
    d.reason = Str(v, "reason");
    return d;
  });
}

Result<DoneBatchResult> Client::DoneBatch(std::string_view queue, std::string_view worker_id,
                                          const std::vector<DoneItem>& items) {
  std::string request = "{\"worker_id\":" + Quote(worker_id) + ",\"tasks\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    const DoneItem& item = items[i];
    request += (i > 0 ? ",{\"id\":" : "{\"id\":") + Quote(item.id);
    if (item.lease) request += ",\"lease\":" + std::to_string(*item.lease);
    if (item.result_json) {
      PIGTAIL_ASSIGN_OR_RETURN(
          std::string compact,
          CompactJson("result of " + item.id, *item.result_json, kMaxResultBytes));
      request += ",\"result\":" + compact;
    }
    request += "}";
  }
  request += "]}";
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("POST", QueuePath(queue) + "/done", request));
  return Decode<DoneBatchResult>(body, [&](const json::value& v) {
    DoneBatchResult out;
    out.done = U64(v, "done");
    for (const json::value& r : v.at("results").as_array()) {
      DoneItemResult item;
      item.done = Str(r, "status") == "done";
      if (const json::value* c = r.as_object().if_contains("changed")) item.changed = c->as_bool();
      item.reason = Str(r, "reason");
      item.code = static_cast<int>(U64(r, "code"));
      item.error = Str(r, "error");
      out.results.push_back(std::move(item));
    }
    out.json = body;
    return out;
  });
}

Result<FailResult> Client::Fail(std::string_view queue, std::string_view id,
                                std::string_view worker_id, uint64_t lease,
                                std::string_view error) {
  std::string request = "{\"worker_id\":" + Quote(worker_id) +
                        ",\"lease\":" + std::to_string(lease) + ",\"error\":" + Quote(error) + "}";
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("POST", TaskPath(queue, id) + "/fail", request));
  return Decode<FailResult>(body, [](const json::value& v) {
    return FailResult{Str(v, "state"), U64(v, "retry_in_ms"), U64(v, "attempts")};
  });
}

Result<Digest> Client::GetDigest() {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", "/digest"));
  return Decode<Digest>(body, [&](const json::value& v) {
    Digest d;
    d.total = Str(v, "total");
    for (const auto& [name, hex] : v.at("queues").as_object()) {
      d.queues.emplace(std::string(name), std::string(hex.as_string()));
    }
    d.tasks = U64(v, "tasks");
    d.json = body;
    return d;
  });
}

Result<Nodes> Client::GetNodes() {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", "/nodes"));
  return Decode<Nodes>(body, [&](const json::value& v) {
    Nodes n;
    for (const json::value& url : v.as_array()) n.urls.emplace_back(url.as_string());
    n.json = body;
    return n;
  });
}

Result<Health> Client::GetHealth() {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", "/health"));
  return Decode<Health>(body, [&](const json::value& v) {
    return Health{Str(v, "status"), Str(v, "node_id"), body};
  });
}

Result<LogHeads> Client::GetLogHeads() {
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", "/log"));
  return Decode<LogHeads>(body, [&](const json::value& v) {
    LogHeads h;
    for (const auto& [owner, id] : v.as_object()) {
      h.heads.emplace(std::string(owner), std::string(id.as_string()));
    }
    h.json = body;
    return h;
  });
}

Result<std::vector<LogEntry>> Client::LogRange(std::string_view owner, std::string_view after,
                                               int limit) {
  std::string target = "/log/range?owner=" + Escape(owner) + "&limit=" + std::to_string(limit);
  if (!after.empty()) target += "&after=" + Escape(after);
  PIGTAIL_ASSIGN_OR_RETURN(std::string body, Call("GET", target));
  return Decode<std::vector<LogEntry>>(body, [](const json::value& v) {
    std::vector<LogEntry> out;
    for (const json::value& e : v.as_array()) {
      const json::value* data = e.as_object().if_contains("data");
      out.push_back({Str(e, "id"), Str(e, "owner"), data ? json::serialize(*data) : "null",
                     json::serialize(e)});
    }
    return out;
  });
}

}  // namespace pigtail::client

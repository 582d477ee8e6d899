// The Pigtail queue API (/create, /queue/{name}, /queue/{name}/{id}) and its
// extensions (/queues, batch add, claim-next, batch done, fail, cancel,
// stats).
#include <boost/json.hpp>

#include "core/decide.h"
#include "core/json_fields.h"
#include "core/queue_op.h"
#include "core/task_list.h"
#include "core/task_view.h"
#include "server/api.h"
#include "server/api_call.h"
#include "server/routed_claim.h"

namespace pigtail {
namespace {

namespace jf = json_fields;

// GET /queue/{name}: the `after` of the next page, when there is one.
constexpr char kNextAfterHeader[] = "Pigtail-Next-After";

// Bounds on what a worker writes into a task (docs/http_api.md): a longer
// error is cut, a larger result or progress refused.
constexpr size_t kMaxErrorBytes = 4096;
constexpr size_t kMaxProgressBytes = 4096;
constexpr size_t kMaxResultBytes = 65536;

// POST /queue/{name}/purge: tasks per call, by default and at most.
constexpr size_t kDefaultPurge = 10'000;
constexpr size_t kMaxPurge = 100'000;

constexpr uint64_t kNanosPerMilli = 1'000'000;

// An optional JSON member kept as its compact text (empty when absent), at
// most `max_bytes` long.
Status OptionalJsonText(const boost::json::object& obj, std::string_view key, size_t max_bytes,
                        std::string* out) {
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr) return Status::Ok();
  *out = boost::json::serialize(*v);
  if (out->size() > max_bytes) {
    return Status::InvalidArgument("\"" + std::string(key) + "\" is " +
                                   std::to_string(out->size()) + " bytes of JSON; at most " +
                                   std::to_string(max_bytes) + " are kept");
  }
  return Status::Ok();
}

// Reads an optional member with `read`; absent or null leaves *out as is.
template <typename T, typename Read>
Status Optional(const boost::json::object& obj, std::string_view key, Read read, T* out) {
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  PIGTAIL_ASSIGN_OR_RETURN(*out, read(*v, key));
  return Status::Ok();
}

// The queue-name rule of core/queue_op.h, and for names that arrive over HTTP
// also not "." or "..", which URL paths cannot carry as a segment.
Status ValidateApiQueueName(std::string_view name) {
  PIGTAIL_RETURN_IF_ERROR(ValidateQueueName(name));
  if (name == "." || name == "..") {
    return Status::InvalidArgument("queue name \"" + std::string(name) + "\" is not allowed");
  }
  return Status::Ok();
}

// A lease length from a request: positive (a zero lease would expire as it is
// granted). Only the HTTP API refuses 0; an entry already in a log keeps
// projecting as it did.
Result<uint64_t> PositiveTimeout(const boost::json::value& v) {
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t ms, jf::ToU64(v, "timeout_ms"));
  if (ms == 0) return Status::InvalidArgument("timeout_ms must be at least 1");
  return ms;
}

// An attempt limit from a request: at least 1.
Result<uint32_t> PositiveAttempts(const boost::json::value& v) {
  PIGTAIL_ASSIGN_OR_RETURN(uint32_t attempts, jf::ToU32(v, "max_attempts"));
  if (attempts == 0) return Status::InvalidArgument("max_attempts must be at least 1");
  return attempts;
}

Result<AddOp> ParseAdd(const boost::json::value& v, const std::string& queue) {
  if (!v.is_object()) return Status::InvalidArgument("a task must be a JSON object");
  const boost::json::object& obj = v.as_object();
  PIGTAIL_RETURN_IF_ERROR(api::CheckFields(obj, {"task_name", "info", "priority", "delay_ms",
                                                 "max_attempts", "timeout_ms", "run_at_ms"}));
  AddOp op;
  op.queue_name = queue;
  const boost::json::value* name = obj.if_contains("task_name");
  if (name == nullptr) return Status::InvalidArgument("missing field \"task_name\"");
  PIGTAIL_ASSIGN_OR_RETURN(op.task_name, jf::ToString(*name, "task_name"));
  const boost::json::value* info = obj.if_contains("info");
  op.info_json = info == nullptr ? "null" : boost::json::serialize(*info);
  PIGTAIL_RETURN_IF_ERROR(Optional(obj, "priority", jf::ToI64, &op.priority));
  PIGTAIL_RETURN_IF_ERROR(Optional(obj, "delay_ms", jf::ToU64, &op.delay_ms));
  PIGTAIL_RETURN_IF_ERROR(Optional(obj, "run_at_ms", jf::ToU64, &op.run_at_ms));
  if (obj.if_contains("max_attempts") && !obj.at("max_attempts").is_null()) {
    PIGTAIL_ASSIGN_OR_RETURN(op.max_attempts, PositiveAttempts(obj.at("max_attempts")));
  }
  if (obj.if_contains("timeout_ms") && !obj.at("timeout_ms").is_null()) {
    PIGTAIL_ASSIGN_OR_RETURN(op.timeout_ms, PositiveTimeout(obj.at("timeout_ms")));
  }
  return op;
}

Result<Uuid> RequiredUuid(const boost::json::object& obj, std::string_view key) {
  const boost::json::value* v = obj.if_contains(key);
  if (v == nullptr) return Status::InvalidArgument("missing field \"" + std::string(key) + "\"");
  return jf::ToUuid(*v, key);
}

// "worker_id": a UUID other than the nil UUID, which a task's state uses
// for "no worker".
Result<Uuid> RequiredWorker(const boost::json::object& obj) {
  PIGTAIL_ASSIGN_OR_RETURN(Uuid worker, RequiredUuid(obj, "worker_id"));
  if (worker.IsNil()) return Status::InvalidArgument("worker_id must not be the nil UUID");
  return worker;
}

// 404 unless the queue exists and is alive; 400 for a bad name.
Status CheckQueue(Node* node, const std::string& name) {
  PIGTAIL_RETURN_IF_ERROR(ValidateApiQueueName(name));
  bool alive = node->Read([&](const State& state) {
    const QueueRecord* q = state.FindQueue(name);
    return q != nullptr && q->alive;
  });
  if (!alive) return NoQueueError(name);
  return Status::Ok();
}

// A claimed task; `put` (PUT /queue/{name}/{id}) adds "heartbeat" and
// "changed" and leaves out the id.
std::string ClaimedJson(const ClaimedTask& t, bool put) {
  std::string out;
  out.reserve(256 + t.task_name.size() + t.info_json.size());
  out += '{';
  if (!put) {
    out += "\"id\":\"";
    t.id.AppendTo(&out);
    out += "\",";
  }
  out += "\"task_name\":";
  jf::AppendJsonString(t.task_name, &out);
  out += ",\"state\":\"working\",\"info\":";
  out += t.info_json;
  out += ",\"worker\":\"";
  t.worker.AppendTo(&out);
  out += "\",\"lease\":";
  out += std::to_string(t.lease);
  out += ",\"expires_at_ms\":";
  out += std::to_string(t.expires_at_ms);
  out += ",\"lease_ms\":";
  out += std::to_string(t.lease_ms);
  out += ",\"attempt\":";
  out += std::to_string(t.attempt);
  if (put)
    out += t.heartbeat ? ",\"heartbeat\":true,\"changed\":true"
                       : ",\"heartbeat\":false,\"changed\":true";
  out += '}';
  return out;
}

// A forwarded claim's "candidates": 1 to `max` task ids.
Status ParseCandidates(const boost::json::object& obj, size_t max, std::vector<Uuid>* out) {
  const boost::json::value* v = obj.if_contains("candidates");
  const boost::json::array* ids = v != nullptr ? v->if_array() : nullptr;
  if (ids == nullptr || ids->empty() || ids->size() > max) {
    return Status::InvalidArgument("\"candidates\" must be an array of 1 to " +
                                   std::to_string(max) + " task ids");
  }
  for (const boost::json::value& id : *ids) {
    Result<Uuid> task = json_fields::ToUuid(id, "candidates[]");
    if (!task.ok()) return task.status();
    out->push_back(*task);
  }
  return Status::Ok();
}

// Appends ,"entries":[...] (each entry's stored bytes as a string) to the
// members of a JSON object being written, for a forwarded claim's answer.
void AppendEntries(const std::vector<std::string>& entries, std::string* out) {
  *out += ",\"entries\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) *out += ",";
    *out += api::Quote(entries[i]);
  }
  *out += "]";
}

// {"tasks":[...]}, with "entries" when `entries` is given.
std::string ClaimedTasksJson(const std::vector<std::string>& tasks,
                             const std::vector<std::string>* entries) {
  std::string out = "{\"tasks\":[";
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (i > 0) out += ",";
    out += tasks[i];
  }
  out += "]";
  if (entries != nullptr) AppendEntries(*entries, &out);
  return out + "}";
}

// The home that decides `request` when it is a claim (not a heartbeat) of
// a live task this node knows: docs/replication.md, "Claim routing".
std::optional<Uuid> ClaimOneHome(Node* node, const ClaimRoute& route,
                                 const ClaimOneRequest& request) {
  return node->Read([&](const State& state) -> std::optional<Uuid> {
    const QueueRecord* queue = state.FindQueue(request.queue);
    const TaskRecord* task = state.FindTask(request.queue, request.task);
    if (queue == nullptr || task == nullptr) return std::nullopt;
    const TaskView view = ViewTask(*task, *queue, node->NowNanos());
    if (IsFinished(view.state)) return std::nullopt;
    if (view.state == TaskState::kWorking && task->status.worker == request.worker) {
      return std::nullopt;  // a heartbeat
    }
    return RemoteHome(route, request.task);
  });
}

// Whether a done wrote anything: {"changed":true}, or {"changed":false,
// "reason"} on a task that was already done.
void PutChanged(const ItemResult& item, boost::json::object* out) {
  (*out)["changed"] = item.changed;
  if (!item.changed && item.reason != ConflictReason::kNone) {
    (*out)["reason"] = ToString(item.reason);
  }
}

// An error reply; a Conflict carries its reason.
HttpResponse ErrorReply(const Status& status, ConflictReason reason) {
  return api::FromStatus(status, status.code() == StatusCode::kConflict ? ToString(reason) : "");
}

HttpResponse ConflictOrError(const WriteResult& r) { return ErrorReply(r.status, r.reason); }

// Reads the members of `obj` among timeout_ms (positive), max_attempts
// (positive) and backoff_ms into `op`; absent members leave `op` as it is,
// a null max_attempts or backoff_ms clears it.
Status ParseSettings(const boost::json::object& obj, CreateOp* op) {
  if (const boost::json::value* v = obj.if_contains("timeout_ms")) {
    PIGTAIL_ASSIGN_OR_RETURN(op->timeout_ms, PositiveTimeout(*v));
  }
  if (const boost::json::value* v = obj.if_contains("max_attempts")) {
    op->max_attempts.reset();
    if (!v->is_null()) {
      PIGTAIL_ASSIGN_OR_RETURN(op->max_attempts, PositiveAttempts(*v));
    }
  }
  if (const boost::json::value* v = obj.if_contains("backoff_ms")) {
    op->backoff_ms.reset();
    if (!v->is_null()) {
      PIGTAIL_ASSIGN_OR_RETURN(op->backoff_ms, jf::ToU64(*v, "backoff_ms"));
    }
  }
  return Status::Ok();
}

// {"name","timeout_ms"[,"max_attempts","backoff_ms"]}
boost::json::object SettingsJson(const CreateOp& op) {
  boost::json::object out;
  out["name"] = op.name;
  out["timeout_ms"] = op.timeout_ms;
  if (op.max_attempts) out["max_attempts"] = *op.max_attempts;
  if (op.backoff_ms) out["backoff_ms"] = *op.backoff_ms;
  return out;
}

// The error of a CreateRequest: a queue_exists 409 carries the queue's
// current settings as "queue".
HttpResponse SettingsError(const WriteResult& r) {
  if (r.reason != ConflictReason::kQueueExists || !r.queue) return ConflictOrError(r);
  boost::json::object body;
  body["error"] = r.status.message();
  body["reason"] = ToString(r.reason);
  body["queue"] = SettingsJson(*r.queue);
  return api::Json(api::HttpStatusFor(r.status), boost::json::serialize(body));
}

}  // namespace

void Api::QueueCreate(Call& call) {
  Result<boost::json::object> obj = api::ParseObject(call.request.body);
  if (!obj.ok()) return call.reply(api::FromStatus(obj.status()));
  CreateRequest req;
  Status s = api::CheckFields(*obj, {"name", "timeout_ms", "max_attempts", "backoff_ms"});
  const boost::json::value* name = obj->if_contains("name");
  if (s.ok() && name == nullptr) s = Status::InvalidArgument("missing field \"name\"");
  if (s.ok() && obj->if_contains("timeout_ms") == nullptr) {
    s = Status::InvalidArgument("missing field \"timeout_ms\"");
  }
  if (s.ok()) {
    Result<std::string> n = jf::ToString(*name, "name");
    s = n.ok() ? ValidateApiQueueName(*n) : n.status();
    if (s.ok()) req.op.name = *n;
  }
  if (s.ok()) s = ParseSettings(*obj, &req.op);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(SettingsError(r));
    HttpResponse res = api::Json(201, "{\"name\":" + api::Quote(r.queue->name) + "}");
    res.headers.emplace_back("Location", "/queue/" + r.queue->name);
    reply(std::move(res));
  });
}

void Api::QueueChange(Call& call, const std::string& name) {
  Status s = CheckQueue(node_, name);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  Result<boost::json::object> obj = api::ParseObject(call.request.body);
  s = obj.status();
  if (s.ok()) s = api::CheckFields(*obj, {"timeout_ms", "max_attempts", "backoff_ms"});
  if (s.ok() && obj->empty()) {
    s = Status::InvalidArgument("give at least one of timeout_ms, max_attempts, backoff_ms");
  }
  CreateRequest req;
  req.replace = true;
  if (s.ok()) {
    // Fields not given keep the values this node holds now.
    std::optional<CreateOp> current = node_->Read([&](const State& state) {
      const QueueRecord* queue = state.FindQueue(name);
      return queue != nullptr && queue->alive ? std::optional(QueueSettings(*queue)) : std::nullopt;
    });
    if (!current) s = NoQueueError(name);
    if (s.ok()) req.op = *current;
  }
  if (s.ok()) s = ParseSettings(*obj, &req.op);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(SettingsError(r));
    reply(api::Json(200, boost::json::serialize(SettingsJson(*r.queue))));
  });
}

void Api::QueueList(Call& call) {
  std::string body = node_->Read([](const State& state) {
    boost::json::array queues;
    for (const auto& [name, slot] : state.queues()) {
      if (!slot.record || !slot.record->alive) continue;
      boost::json::object queue = SettingsJson(QueueSettings(*slot.record));
      if (QueuePaused(*slot.record)) queue["paused"] = true;
      queues.push_back(std::move(queue));
    }
    boost::json::object out;
    out["queues"] = std::move(queues);
    return boost::json::serialize(out);
  });
  call.reply(api::Json(200, std::move(body)));
}

namespace {

struct TaskListing {
  std::vector<TaskCopy> tasks;
  std::optional<Uuid> next_after;  // as TaskPage::next_after
};

// Whether a page of GET /queue/{name} reads the state store: when the node
// drops finished tasks and the page lists them, or starts after a task not
// in memory.
bool ListingReadsStore(Node* node, const std::string& name, TaskFilter filter,
                       const std::optional<Uuid>& after) {
  return node->Read([&](const State& state) {
    return state.evict_finished() &&
           (ListsFinished(filter) || (after && state.FindTask(name, *after) == nullptr));
  });
}

// A page of GET /queue/{name}; NotFound names an unknown `after`.
Result<TaskListing> ListQueueTasks(Node* node, const std::string& name, TaskFilter filter,
                                   const std::optional<Uuid>& after, size_t limit, uint64_t now) {
  TaskListing listing;
  // Live tasks are all in memory, in claim order; so are finished ones
  // unless the node drops them (--finished-tasks). `after` may have
  // finished and left memory: then its register is in the store.
  bool drops = false;
  bool after_held = false;
  node->Read([&](const State& state) {
    drops = state.evict_finished();
    after_held = after && state.FindTask(name, *after) != nullptr;
  });
  std::optional<TaskRecord> after_stored;
  if (after && drops && !after_held) {
    PIGTAIL_ASSIGN_OR_RETURN(after_stored, node->state_store()->GetTask(name, *after));
    if (!after_stored) return UnknownAfter(name, *after);
  }
  if (!drops || !ListsFinished(filter)) {
    return node->Read([&](const State& state) -> Result<TaskListing> {
      PIGTAIL_ASSIGN_OR_RETURN(TaskPage page, ListTasks(state, name, filter, after, limit, now,
                                                        after_stored ? &*after_stored : nullptr));
      for (const ListedTask& t : page.tasks) listing.tasks.push_back(TaskCopy{*t.task, t.view});
      listing.next_after = page.next_after;
      return std::move(listing);
    });
  }
  // Finished tasks from the state store, in id order, a page at a time; a
  // selective filter may end a page short of `limit` after kMaxStoredScan.
  constexpr size_t kStorePage = 1000;
  constexpr size_t kMaxStoredScan = 20 * kStorePage;
  std::optional<Uuid> cursor = after;
  for (size_t scanned = 0;;) {
    // No task leaves memory between the store read and the merge.
    const Node::DropHold hold = node->HoldDrops();
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> stored,
                             node->state_store()->ListTasks(name, cursor, kStorePage));
    scanned += stored.size();
    std::optional<Uuid> upto;
    if (stored.size() == kStorePage) upto = stored.back().id;
    node->Read([&](const State& state) {
      AppendStoredTasks(state, name, filter, now, cursor, upto, stored, &listing.tasks);
    });
    if (listing.tasks.size() > limit || (listing.tasks.size() == limit && upto)) {
      listing.tasks.resize(limit);
      listing.next_after = listing.tasks.back().task.id;
      break;
    }
    if (!upto) break;
    cursor = upto;
    if (scanned >= kMaxStoredScan) {
      listing.next_after = cursor;
      break;
    }
  }
  return listing;
}

}  // namespace

void Api::QueueGet(Call& call, const std::string& name) {
  Status s = CheckQueue(node_, name);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  TaskFilter filter = TaskFilter::kOpen;
  size_t limit = kDefaultTaskPage;
  std::optional<Uuid> after;
  for (const auto& [key, value] : call.target.query) {
    if (key == "state") {
      Result<TaskFilter> f = ParseTaskFilter(value);
      if (!f.ok()) return call.reply(api::Error(400, f.status().message()));
      filter = *f;
    } else if (key == "limit") {
      Result<size_t> n = api::ParseLimit("limit", value, kMaxTaskPage);
      if (!n.ok()) return call.reply(api::Error(400, n.status().message()));
      limit = *n;
    } else if (key == "after") {
      Result<Uuid> id = Uuid::Parse(value);
      if (!id.ok()) return call.reply(api::Error(400, "after: " + id.status().message()));
      after = *id;
    } else {
      return call.reply(api::Error(400, "unknown query parameter \"" + key + "\""));
    }
  }
  const uint64_t now = node_->NowNanos();
  Replier reply = call.reply;
  auto list_and_reply = [node = node_, reply, name, filter, after, limit, now] {
    Result<TaskListing> listing = ListQueueTasks(node, name, filter, after, limit, now);
    if (!listing.ok()) {
      if (listing.status().code() == StatusCode::kNotFound) {
        return reply(api::Error(404, listing.status().message(), "unknown_after"));
      }
      return reply(api::FromStatus(listing.status()));
    }
    // The original shape: {"<id>":{"task_name","state"},...}, in listing order.
    std::string out = "{";
    for (const TaskCopy& listed : listing->tasks) {
      if (out.size() > 1) out += ",";
      out += "\"" + listed.task.id.ToString() +
             "\":{\"task_name\":" + api::Quote(listed.task.add->task_name) + ",\"state\":\"" +
             std::string(TaskStateName(listed.view.state)) + "\"}";
    }
    out += "}";
    HttpResponse response = api::Json(200, std::move(out));
    if (listing->next_after) {
      response.headers.emplace_back(kNextAfterHeader, listing->next_after->ToString());
    }
    reply(std::move(response));
  };
  if (ListingReadsStore(node_, name, filter, after)) {
    store_io_->Post(std::move(list_and_reply));
  } else {
    list_and_reply();
  }
}

void Api::QueueAdd(Call& call, const std::string& name, bool batch) {
  Status s = CheckQueue(node_, name);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(call.request.body, ec);
  if (ec) return call.reply(api::Error(400, "malformed JSON body: " + ec.message()));
  AddRequest req;
  if (batch) {
    const boost::json::array* items = body.if_array();
    if (items == nullptr && body.is_object() && body.as_object().if_contains("tasks")) {
      items = body.as_object().at("tasks").if_array();
    }
    if (items == nullptr) {
      return call.reply(
          api::Error(400, "the body must be an array of tasks (or {\"tasks\":[...]})"));
    }
    if (items->empty() || items->size() > options_.max_batch_tasks) {
      return call.reply(api::Error(
          400, "a batch holds 1 to " + std::to_string(options_.max_batch_tasks) + " tasks"));
    }
    req.tasks.reserve(items->size());
    for (size_t i = 0; i < items->size(); ++i) {
      Result<AddOp> op = ParseAdd((*items)[i], name);
      if (!op.ok()) {
        return call.reply(
            api::Error(400, "task " + std::to_string(i) + ": " + op.status().message()));
      }
      req.tasks.push_back(std::move(*op));
    }
  } else {
    Result<AddOp> op = ParseAdd(body, name);
    if (!op.ok()) return call.reply(api::FromStatus(op.status()));
    req.tasks.push_back(std::move(*op));
  }
  sequencer_->Submit(std::move(req), [reply = call.reply, name, batch](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    if (batch) {
      std::string out = "{\"ids\":[";
      for (size_t i = 0; i < r.ids.size(); ++i) {
        if (i > 0) out += ",";
        out += "\"" + r.ids[i].ToString() + "\"";
      }
      out += "]}";
      return reply(api::Json(201, std::move(out)));
    }
    std::string id = r.ids.at(0).ToString();
    HttpResponse res = api::Json(201, "{\"id\":\"" + id + "\"}");
    res.headers.emplace_back("Location", "/queue/" + name + "/" + id);
    reply(std::move(res));
  });
}

void Api::QueueDelete(Call& call, const std::string& name) {
  Status s = CheckQueue(node_, name);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  LocalRequest req;
  req.data.push_back(SerializeQueueOp(DeleteOp{name}));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    reply(api::Json(200, "{}"));
  });
}

void Api::QueueStats(Call& call, const std::string& name) {
  Status s = CheckQueue(node_, name);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  uint64_t now = node_->NowNanos();
  bool paused = false;
  QueueCounts c = node_->Read([&](const State& state) {
    const QueueRecord* queue = state.FindQueue(name);
    paused = queue != nullptr && QueuePaused(*queue);
    return CountTasks(state, name, now);
  });
  boost::json::object out;
  out["pending"] = c.pending;
  out["working"] = c.working;
  out["done"] = c.done;
  out["dead"] = c.dead;
  out["cancelled"] = c.cancelled;
  out["claimable"] = c.claimable;
  out["paused"] = paused;
  call.reply(api::Json(200, boost::json::serialize(out)));
}

void Api::QueuePause(Call& call, const std::string& name, bool paused) {
  Status s = CheckQueue(node_, name);
  if (s.ok() && !call.request.body.empty()) {
    Result<boost::json::object> obj = api::ParseObject(call.request.body);
    s = obj.ok() ? api::CheckFields(*obj, {}) : obj.status();
  }
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(PauseRequest{name, paused}, [reply = call.reply, name, paused](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    boost::json::object out;
    out["name"] = name;
    out["paused"] = paused;
    reply(api::Json(200, boost::json::serialize(out)));
  });
}

namespace {

// The body of POST /queue/{name}/purge: empty, or {["state"],
// ["finished_before_ms"], ["max"]}.
Status ParsePurge(const std::string& body, PurgeRequest* req) {
  req->max = kDefaultPurge;
  if (body.empty()) return Status::Ok();
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::object obj, api::ParseObject(body));
  PIGTAIL_RETURN_IF_ERROR(api::CheckFields(obj, {"state", "finished_before_ms", "max"}));
  std::string state = "finished";
  PIGTAIL_RETURN_IF_ERROR(Optional(obj, "state", jf::ToString, &state));
  req->done = state == "finished" || state == "done";
  req->dead = state == "finished" || state == "dead";
  req->cancelled = state == "finished" || state == "cancelled";
  if (!req->done && !req->dead && !req->cancelled) {
    return Status::InvalidArgument(
        "state must be \"finished\", \"done\", \"dead\" or "
        "\"cancelled\", not \"" +
        state + "\"");
  }
  std::optional<uint64_t> before_ms;
  PIGTAIL_RETURN_IF_ERROR(Optional(obj, "finished_before_ms", jf::ToU64, &before_ms));
  if (before_ms) req->finished_before_ns = MillisToNanos(*before_ms);
  uint64_t max = kDefaultPurge;
  PIGTAIL_RETURN_IF_ERROR(Optional(obj, "max", jf::ToU64, &max));
  if (max < 1 || max > kMaxPurge) {
    return Status::InvalidArgument("max must be 1 to " + std::to_string(kMaxPurge));
  }
  req->max = max;
  return Status::Ok();
}

}  // namespace

void Api::QueuePurge(Call& call, const std::string& name) {
  PurgeRequest req;
  req.queue = name;
  Status s = CheckQueue(node_, name);
  if (s.ok()) s = ParsePurge(call.request.body, &req);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    boost::json::object out;
    out["purged"] = r.purged;
    out["more"] = r.more;
    reply(api::Json(200, boost::json::serialize(out)));
  });
}

void Api::QueueClaim(Call& call, const std::string& name) {
  Status s = ValidateApiQueueName(name);
  Result<boost::json::object> obj = api::ParseObject(call.request.body);
  if (s.ok()) s = obj.status();
  // Another node's worker, asking this node as the home of tasks
  // (server/claim_router.h): no wait, only the candidates named, and the
  // entries go with the tasks.
  const bool forwarded = call.request.Header(kForwardedClaimHeader) == "true";
  if (s.ok()) {
    s = forwarded ? api::CheckFields(*obj, {"worker_id", "max", "wait_ms", "candidates"})
                  : api::CheckFields(*obj, {"worker_id", "max", "wait_ms"});
  }
  ClaimNextRequest req;
  req.queue = name;
  if (s.ok()) {
    Result<Uuid> worker = RequiredWorker(*obj);
    s = worker.status();
    if (worker.ok()) req.worker = *worker;
  }
  uint64_t max = 1;
  if (s.ok()) s = Optional(*obj, "max", jf::ToU64, &max);
  if (s.ok()) s = Optional(*obj, "wait_ms", jf::ToU64, &req.wait_ms);
  if (s.ok() && (max < 1 || max > options_.max_claim)) {
    s = Status::InvalidArgument("max must be 1 to " + std::to_string(options_.max_claim));
  }
  if (s.ok() && req.wait_ms > options_.max_wait_ms) {
    s = Status::InvalidArgument("wait_ms must be at most " + std::to_string(options_.max_wait_ms));
  }
  if (s.ok() && forwarded) s = ParseCandidates(*obj, options_.max_claim, &req.candidates);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  req.max = max;
  if (forwarded) {
    if (claim_router_) req.route = claim_router_->Route();
    req.wait_ms = 0;
    req.return_entries = true;
  }
  if (!forwarded && claim_router_) {
    RoutedClaimOptions routed;
    routed.sequencer = sequencer_;
    routed.router = claim_router_.get();
    routed.now_ns = [node = node_] { return node->NowNanos(); };
    routed.render = [](const ClaimedTask& t) { return ClaimedJson(t, false); };
    return StartRoutedClaim(routed, std::move(req),
                            [reply = call.reply](WriteResult r, std::vector<std::string> tasks) {
                              if (!r.status.ok()) return reply(ConflictOrError(r));
                              reply(api::Json(200, ClaimedTasksJson(tasks, nullptr)));
                            });
  }
  sequencer_->Submit(std::move(req), [reply = call.reply, forwarded](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    std::vector<std::string> tasks;
    tasks.reserve(r.claimed.size());
    for (const ClaimedTask& t : r.claimed) tasks.push_back(ClaimedJson(t, false));
    reply(api::Json(200, ClaimedTasksJson(tasks, forwarded ? &r.entries : nullptr)));
  });
}

void Api::QueueDoneBatch(Call& call, const std::string& name) {
  Status s = ValidateApiQueueName(name);
  Result<boost::json::object> obj = api::ParseObject(call.request.body);
  if (s.ok()) s = obj.status();
  if (s.ok()) s = api::CheckFields(*obj, {"worker_id", "tasks"});
  DoneRequest req;
  req.queue = name;
  if (s.ok()) {
    Result<Uuid> worker = RequiredWorker(*obj);
    s = worker.status();
    if (worker.ok()) req.worker = *worker;
  }
  const boost::json::array* tasks = nullptr;
  if (s.ok()) {
    const boost::json::value* t = obj->if_contains("tasks");
    tasks = t != nullptr ? t->if_array() : nullptr;
    if (tasks == nullptr || tasks->empty() || tasks->size() > options_.max_batch_tasks) {
      s = Status::InvalidArgument("\"tasks\" must be an array of 1 to " +
                                  std::to_string(options_.max_batch_tasks) + " items");
    }
  }
  for (size_t i = 0; s.ok() && i < tasks->size(); ++i) {
    const boost::json::value& item = (*tasks)[i];
    DoneItem done;
    if (item.is_string()) {
      Result<Uuid> id = jf::ToUuid(item, "tasks[]");
      s = id.status();
      if (id.ok()) done.id = *id;
    } else if (item.is_object()) {
      s = api::CheckFields(item.as_object(), {"id", "lease", "result"});
      if (s.ok()) {
        Result<Uuid> id = RequiredUuid(item.as_object(), "id");
        s = id.status();
        if (id.ok()) done.id = *id;
      }
      uint64_t lease = 0;
      if (s.ok() && item.as_object().if_contains("lease")) {
        s = Optional(item.as_object(), "lease", jf::ToU64, &lease);
        done.lease = lease;
      }
      if (s.ok())
        s = OptionalJsonText(item.as_object(), "result", kMaxResultBytes, &done.result_json);
    } else {
      s = Status::InvalidArgument(
          "tasks[] items must be ids or {\"id\",\"lease\",\"result\"} objects");
    }
    req.items.push_back(done);
  }
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    boost::json::array results;
    uint64_t done = 0;
    for (const ItemResult& item : r.items) {
      boost::json::object o;
      if (item.status.ok()) {
        o["status"] = "done";
        PutChanged(item, &o);
        ++done;
      } else {
        o["status"] = "error";
        o["code"] = api::HttpStatusFor(item.status);
        o["error"] = item.status.message();
        if (item.status.code() == StatusCode::kConflict) o["reason"] = ToString(item.reason);
      }
      results.push_back(std::move(o));
    }
    boost::json::object out;
    out["done"] = done;
    out["results"] = std::move(results);
    reply(api::Json(200, boost::json::serialize(out)));
  });
}

namespace {

// A task's attempts, failures, result, progress and times (GET
// /queue/{name}/{id}).
void PutHistory(const TaskRecord& task, const TaskView& view, boost::json::object* o) {
  (*o)["attempts"] = AttemptsStarted(task);
  const TaskHistory& history = History(task);
  if (!history.failures.empty()) {
    boost::json::array failures;
    for (const FailedAttempt& f : history.failures) {
      failures.push_back(boost::json::object{{"round", f.stamp.round},
                                             {"attempt", AttemptNumber(f.stamp.lease)},
                                             {"error", f.error},
                                             {"worker", f.worker.ToString()},
                                             {"at_ms", f.stamp.hlc.time / kNanosPerMilli}});
    }
    (*o)["failures"] = std::move(failures);
  }
  if (!history.result_json.empty()) (*o)["result"] = boost::json::parse(history.result_json);
  if (history.progress) (*o)["progress"] = boost::json::parse(history.progress->json);
  if (task.add->run_at_ms != 0) (*o)["run_at_ms"] = task.add->run_at_ms;
  if (view.state == TaskState::kPending) (*o)["ready_at_ms"] = view.ready_at_ns / kNanosPerMilli;
  if (view.state == TaskState::kWorking) {
    (*o)["expires_at_ms"] = view.expires_at_ns / kNanosPerMilli;
  }
}

// The task's JSON, or none when it is not a visible task of `queue`.
std::optional<std::string> TaskJson(const QueueRecord* queue, const TaskRecord* task,
                                    uint64_t now) {
  std::optional<std::string> out;
  if (queue == nullptr || task == nullptr || !TaskVisible(*task, queue)) return out;
  TaskView view = ViewTask(*task, *queue, now);
  boost::json::object o;
  o["task_name"] = task->add->task_name;
  o["state"] = TaskStateName(view.state);
  o["info"] = boost::json::parse(task->add->info_json);
  if (task->status.worker.IsNil()) {
    o["worker"] = nullptr;
  } else {
    o["worker"] = task->status.worker.ToString();
  }
  o["lease"] = view.lease;
  o["priority"] = task->add->priority;
  if (!task->status.error.empty()) o["error"] = task->status.error;
  if (task->status.key.round > 0) o["round"] = task->status.key.round;
  PutHistory(*task, view, &o);
  out = boost::json::serialize(o);
  return out;
}

}  // namespace

void Api::TaskGet(Call& call, const std::string& name, const std::string& id_text) {
  Status s = CheckQueue(node_, name);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  Result<Uuid> id = Uuid::Parse(id_text);
  if (!id.ok()) return call.reply(api::Error(404, "no task: not a UUID: " + id_text));
  uint64_t now = node_->NowNanos();
  bool in_store_only = false;
  std::optional<std::string> body = node_->Read([&](const State& state) {
    const TaskRecord* task = state.FindTask(name, *id);
    in_store_only = task == nullptr && state.evict_finished();
    return TaskJson(state.FindQueue(name), task, now);
  });
  if (!in_store_only) {
    if (!body) return call.reply(api::FromStatus(NoTaskError(name, *id)));
    return call.reply(api::Json(200, std::move(*body)));
  }
  // A finished task leaves memory once the state store holds it.
  store_io_->Post([node = node_, reply = call.reply, name, id = *id, now] {
    Result<std::optional<TaskRecord>> stored = node->state_store()->GetTask(name, id);
    if (!stored.ok()) return reply(api::FromStatus(stored.status()));
    std::optional<std::string> json;
    if (*stored) {
      json = node->Read(
          [&](const State& state) { return TaskJson(state.FindQueue(name), &**stored, now); });
    }
    if (!json) return reply(api::FromStatus(NoTaskError(name, id)));
    reply(api::Json(200, std::move(*json)));
  });
}

namespace {

// Parses {"worker_id", ["lease"], ...extra} for the task endpoints.
Status ParseWorkerBody(std::string_view body, std::initializer_list<std::string_view> allowed,
                       Uuid* worker, std::optional<uint64_t>* lease, boost::json::object* obj_out) {
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::object obj, api::ParseObject(body));
  PIGTAIL_RETURN_IF_ERROR(api::CheckFields(obj, allowed));
  PIGTAIL_ASSIGN_OR_RETURN(*worker, RequiredWorker(obj));
  if (obj.if_contains("lease") && !obj.at("lease").is_null()) {
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t l, jf::ToU64(obj.at("lease"), "lease"));
    *lease = l;
  }
  *obj_out = std::move(obj);
  return Status::Ok();
}

// The queue and task a task endpoint's path names.
Status ParseTaskTarget(const std::string& name, const std::string& id_text, std::string* queue,
                       Uuid* task) {
  PIGTAIL_RETURN_IF_ERROR(ValidateApiQueueName(name));
  Result<Uuid> id = Uuid::Parse(id_text);
  if (!id.ok()) return Status::NotFound("no task: not a UUID: " + id_text);
  *queue = name;
  *task = *id;
  return Status::Ok();
}

// An operator's action on one task (cancel, retry): the target, and a body
// that is empty or an empty object.
Status ParseOperatorTarget(const std::string& body, const std::string& name, const std::string& id,
                           std::string* queue, Uuid* task) {
  PIGTAIL_RETURN_IF_ERROR(ParseTaskTarget(name, id, queue, task));
  if (body.empty()) return Status::Ok();
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::object obj, api::ParseObject(body));
  return api::CheckFields(obj, {});
}

}  // namespace

void Api::TaskPut(Call& call, const std::string& name, const std::string& id) {
  ClaimOneRequest req;
  boost::json::object obj;
  Status s = ParseTaskTarget(name, id, &req.queue, &req.task);
  if (s.ok()) {
    s = ParseWorkerBody(call.request.body, {"worker_id", "lease", "progress"}, &req.worker,
                        &req.lease, &obj);
  }
  if (s.ok()) s = OptionalJsonText(obj, "progress", kMaxProgressBytes, &req.progress_json);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  // A claim forwarded by another node answers with its entries too.
  const bool forwarded = call.request.Header(kForwardedClaimHeader) == "true";
  req.return_entries = forwarded;
  auto decide_here = [sequencer = sequencer_, req, reply = call.reply, forwarded] {
    sequencer->Submit(req, [reply, forwarded](WriteResult r) {
      if (!r.status.ok()) return reply(ConflictOrError(r));
      std::string out = ClaimedJson(r.claimed.at(0), true);
      if (forwarded) {
        out.pop_back();  // the closing brace
        AppendEntries(r.entries, &out);
        out += "}";
      }
      reply(api::Json(200, std::move(out)));
    });
  };
  std::shared_ptr<const ClaimRoute> route = claim_router_ ? claim_router_->Route() : nullptr;
  std::optional<Uuid> home;
  if (!forwarded && route) home = ClaimOneHome(node_, *route, req);
  if (!home) return decide_here();
  RoutedClaimOptions routed;
  routed.sequencer = sequencer_;
  routed.router = claim_router_.get();
  ForwardClaimOne(
      routed, *home, call.request,
      [reply = call.reply](HttpResponse r) {
        if (r.status != 404) return reply(std::move(r));
        // This node knows the task; its home does not, yet.
        reply(ErrorReply(Status::Conflict("the task's home node has not received it yet; retry"),
                         ConflictReason::kBusy));
      },
      std::move(decide_here));
}

void Api::TaskDelete(Call& call, const std::string& name, const std::string& id) {
  DoneRequest req;
  DoneItem item;
  boost::json::object obj;
  Status s = ParseTaskTarget(name, id, &req.queue, &item.id);
  if (s.ok()) {
    s = ParseWorkerBody(call.request.body, {"worker_id", "lease", "result"}, &req.worker,
                        &item.lease, &obj);
  }
  if (s.ok()) s = OptionalJsonText(obj, "result", kMaxResultBytes, &item.result_json);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  req.items.push_back(item);
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    const ItemResult& done = r.items.at(0);
    if (!done.status.ok()) return reply(ErrorReply(done.status, done.reason));
    boost::json::object out;
    PutChanged(done, &out);
    reply(api::Json(200, boost::json::serialize(out)));
  });
}

void Api::TaskFail(Call& call, const std::string& name, const std::string& id) {
  FailRequest req;
  boost::json::object obj;
  Status s = ParseTaskTarget(name, id, &req.queue, &req.task);
  if (s.ok()) {
    s = ParseWorkerBody(call.request.body, {"worker_id", "lease", "error"}, &req.worker, &req.lease,
                        &obj);
  }
  if (s.ok() && !req.lease) s = Status::InvalidArgument("missing field \"lease\"");
  if (s.ok() && obj.if_contains("error")) {
    Result<std::string> error = jf::ToString(obj.at("error"), "error");
    s = error.status();
    if (error.ok()) req.error = jf::Utf8Prefix(*error, kMaxErrorBytes);
  }
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    boost::json::object out;
    out["state"] = r.fail->dead ? "dead" : "pending";
    out["retry_in_ms"] = r.fail->retry_in_ms;
    out["attempts"] = r.fail->lease + 1;
    out["changed"] = true;
    reply(api::Json(200, boost::json::serialize(out)));
  });
}

void Api::TaskCancel(Call& call, const std::string& name, const std::string& id) {
  CancelRequest req;
  Status s = ParseOperatorTarget(call.request.body, name, id, &req.queue, &req.task);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    reply(api::Json(200, "{\"state\":\"cancelled\"}"));
  });
}

void Api::TaskRetry(Call& call, const std::string& name, const std::string& id) {
  RetryRequest req;
  Status s = ParseOperatorTarget(call.request.body, name, id, &req.queue, &req.task);
  if (!s.ok()) return call.reply(api::FromStatus(s));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(ConflictOrError(r));
    reply(
        api::Json(200, "{\"state\":\"pending\",\"round\":" + std::to_string(r.retry->round) + "}"));
  });
}

}  // namespace pigtail

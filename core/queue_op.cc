#include "core/queue_op.h"

#include <boost/json.hpp>
#include <set>
#include <type_traits>
#include <utility>

#include "core/json_fields.h"

namespace pigtail {
namespace json = boost::json;

namespace {

// Reads the members of one op payload, remembering the first error.
class FieldReader {
 public:
  explicit FieldReader(const json::object& o) : o_(o) {}

  template <typename T, typename Fn>
  void Required(std::string_view name, T* out, Fn convert) {
    if (!status_.ok()) return;
    const json::value* v = o_.if_contains(name);
    if (v == nullptr) {
      status_ = Status::InvalidArgument("missing field \"" + std::string(name) + "\"");
      return;
    }
    Assign(name, *v, out, convert);
  }

  template <typename T, typename Fn>
  void Optional(std::string_view name, T* out, Fn convert) {
    if (!status_.ok()) return;
    const json::value* v = o_.if_contains(name);
    if (v == nullptr || v->is_null()) return;
    Assign(name, *v, out, convert);
  }

  const Status& status() const { return status_; }

 private:
  template <typename T, typename Fn>
  void Assign(std::string_view name, const json::value& v, T* out, Fn convert) {
    auto r = convert(v, "\"" + std::string(name) + "\"");
    if (!r.ok()) {
      status_ = r.status();
      return;
    }
    *out = std::move(r).value();
  }

  const json::object& o_;
  Status status_;
};

const auto kString = json_fields::ToString;
const auto kU64 = json_fields::ToU64;
const auto kU32 = json_fields::ToU32;
const auto kI64 = json_fields::ToI64;
const auto kUuid = json_fields::ToUuid;
const auto kBool = json_fields::ToBool;

Result<std::string> QueueNameFrom(const json::value& v, std::string_view what) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string name, kString(v, what));
  PIGTAIL_RETURN_IF_ERROR(ValidateQueueName(name));
  return name;
}

Result<const json::object*> PayloadObject(const json::value& v, std::string_view tag) {
  if (!v.is_object())
    return Status::InvalidArgument(std::string(tag) + " payload must be an object");
  return &v.get_object();
}

Result<QueueOp> ParseCreate(const json::value& v) {
  PIGTAIL_ASSIGN_OR_RETURN(const json::object* o, PayloadObject(v, "Create"));
  FieldReader r(*o);
  CreateOp op;
  r.Required("name", &op.name, QueueNameFrom);
  r.Required("timeout_ms", &op.timeout_ms, kU64);
  r.Optional("max_attempts", &op.max_attempts, kU32);
  r.Optional("backoff_ms", &op.backoff_ms, kU64);
  if (!r.status().ok()) return r.status();
  return QueueOp(std::move(op));
}

Result<QueueOp> ParseDelete(const json::value& v) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string name, QueueNameFrom(v, "Delete payload"));
  return QueueOp(DeleteOp{std::move(name)});
}

Result<QueueOp> ParseAdd(const json::value& v) {
  PIGTAIL_ASSIGN_OR_RETURN(const json::object* o, PayloadObject(v, "Add"));
  FieldReader r(*o);
  AddOp op;
  r.Required("queue_name", &op.queue_name, QueueNameFrom);
  r.Required("task_name", &op.task_name, kString);
  r.Optional("priority", &op.priority, kI64);
  r.Optional("delay_ms", &op.delay_ms, kU64);
  r.Optional("max_attempts", &op.max_attempts, kU32);
  r.Optional("timeout_ms", &op.timeout_ms, kU64);
  if (!r.status().ok()) return r.status();
  const json::value* info = o->if_contains("info");
  if (info == nullptr) return Status::InvalidArgument("missing field \"info\"");
  op.info_json = json::serialize(*info);
  return QueueOp(std::move(op));
}

template <typename Op>
Result<QueueOp> ParseWorkerOp(const json::value& v, std::string_view tag) {
  PIGTAIL_ASSIGN_OR_RETURN(const json::object* o, PayloadObject(v, tag));
  FieldReader r(*o);
  Op op;
  r.Required("queue_name", &op.queue_name, QueueNameFrom);
  r.Required("id", &op.id, kUuid);
  r.Required("worker_id", &op.worker_id, kUuid);
  r.Optional("lease", &op.lease, kU64);
  if constexpr (std::is_same_v<Op, FailOp>) {
    r.Optional("error", &op.error, kString);
    r.Optional("retry_in_ms", &op.retry_in_ms, kU64);
    r.Optional("dead", &op.dead, kBool);
  }
  if (!r.status().ok()) return r.status();
  return QueueOp(std::move(op));
}

Result<QueueOp> ParseCancel(const json::value& v) {
  PIGTAIL_ASSIGN_OR_RETURN(const json::object* o, PayloadObject(v, "Cancel"));
  FieldReader r(*o);
  CancelOp op;
  r.Required("queue_name", &op.queue_name, QueueNameFrom);
  r.Required("id", &op.id, kUuid);
  if (!r.status().ok()) return r.status();
  return QueueOp(std::move(op));
}

Result<TaskOp> ParseTaskOp(const json::value& v) {
  if (!v.is_object() || v.get_object().size() != 1) {
    return Status::InvalidArgument("must be an object with one member, the op's tag");
  }
  const auto& member = *v.get_object().begin();
  std::string_view tag = member.key();
  Result<QueueOp> op = Status::InvalidArgument(
      "\"" + std::string(tag) + "\" cannot be batched (only Progress, Done, Fail and Cancel)");
  if (tag == "Progress") op = ParseWorkerOp<ProgressOp>(member.value(), tag);
  if (tag == "Done") op = ParseWorkerOp<DoneOp>(member.value(), tag);
  if (tag == "Fail") op = ParseWorkerOp<FailOp>(member.value(), tag);
  if (tag == "Cancel") op = ParseCancel(member.value());
  if (!op.ok()) return op.status().WithContext(tag);
  return std::visit(
      [](auto&& o) -> Result<TaskOp> {
        using Op = std::decay_t<decltype(o)>;
        if constexpr (std::is_constructible_v<TaskOp, Op>) {
          return TaskOp(std::move(o));
        } else {
          return Status::Internal("not a task op");
        }
      },
      std::move(op).value());
}

const std::string& TaskQueue(const TaskOp& op) {
  return std::visit([](const auto& o) -> const std::string& { return o.queue_name; }, op);
}
const Uuid& TaskId(const TaskOp& op) {
  return std::visit([](const auto& o) -> const Uuid& { return o.id; }, op);
}

Result<QueueOp> ParseBatch(const json::value& v) {
  if (!v.is_array()) return Status::InvalidArgument("Batch payload must be an array");
  const json::array& items = v.get_array();
  if (items.empty() || items.size() > kMaxBatchOps) {
    return Status::InvalidArgument("a Batch holds 1 to " + std::to_string(kMaxBatchOps) +
                                   " ops, got " + std::to_string(items.size()));
  }
  BatchOp batch;
  batch.ops.reserve(items.size());
  std::set<std::pair<std::string_view, Uuid>> tasks;
  for (size_t i = 0; i < items.size(); ++i) {
    Result<TaskOp> op = ParseTaskOp(items[i]);
    if (!op.ok()) return op.status().WithContext("op " + std::to_string(i));
    batch.ops.push_back(std::move(op).value());
  }
  for (size_t i = 0; i < batch.ops.size(); ++i) {
    if (!tasks.emplace(TaskQueue(batch.ops[i]), TaskId(batch.ops[i])).second) {
      return Status::InvalidArgument("op " + std::to_string(i) + " names task " +
                                     TaskId(batch.ops[i]).ToString() +
                                     " again; a Batch names each task once");
    }
  }
  return QueueOp(std::move(batch));
}

Result<QueueOp> ParseTagged(std::string_view tag, const json::value& payload, bool* is_op) {
  *is_op = true;
  if (tag == "Batch") return ParseBatch(payload);
  if (tag == "Create") return ParseCreate(payload);
  if (tag == "Delete") return ParseDelete(payload);
  if (tag == "Add") return ParseAdd(payload);
  if (tag == "Progress") return ParseWorkerOp<ProgressOp>(payload, tag);
  if (tag == "Done") return ParseWorkerOp<DoneOp>(payload, tag);
  if (tag == "Fail") return ParseWorkerOp<FailOp>(payload, tag);
  if (tag == "Cancel") return ParseCancel(payload);
  *is_op = false;
  return Status::InvalidArgument("not a queue op");
}

json::object WorkerFields(const std::string& queue, const Uuid& id, const Uuid& worker,
                          uint64_t lease) {
  json::object o;
  o["queue_name"] = queue;
  o["id"] = id.ToString();
  o["worker_id"] = worker.ToString();
  if (lease != 0) o["lease"] = lease;
  return o;
}

struct Serializer {
  json::object operator()(const CreateOp& op) const {
    json::object o;
    o["name"] = op.name;
    o["timeout_ms"] = op.timeout_ms;
    if (op.max_attempts) o["max_attempts"] = *op.max_attempts;
    if (op.backoff_ms) o["backoff_ms"] = *op.backoff_ms;
    return Tag("Create", std::move(o));
  }
  json::object operator()(const DeleteOp& op) const {
    json::object out;
    out["Delete"] = op.name;
    return out;
  }
  json::object operator()(const AddOp& op) const {
    json::object o;
    o["queue_name"] = op.queue_name;
    o["task_name"] = op.task_name;
    boost::system::error_code ec;
    o["info"] = json::parse(op.info_json, ec);
    if (op.priority != 0) o["priority"] = op.priority;
    if (op.delay_ms != 0) o["delay_ms"] = op.delay_ms;
    if (op.max_attempts) o["max_attempts"] = *op.max_attempts;
    if (op.timeout_ms) o["timeout_ms"] = *op.timeout_ms;
    return Tag("Add", std::move(o));
  }
  json::object operator()(const ProgressOp& op) const {
    return Tag("Progress", WorkerFields(op.queue_name, op.id, op.worker_id, op.lease));
  }
  json::object operator()(const DoneOp& op) const {
    return Tag("Done", WorkerFields(op.queue_name, op.id, op.worker_id, op.lease));
  }
  json::object operator()(const FailOp& op) const {
    json::object o = WorkerFields(op.queue_name, op.id, op.worker_id, op.lease);
    if (!op.error.empty()) o["error"] = op.error;
    if (op.retry_in_ms != 0) o["retry_in_ms"] = op.retry_in_ms;
    if (op.dead) o["dead"] = true;
    return Tag("Fail", std::move(o));
  }
  json::object operator()(const CancelOp& op) const {
    json::object o;
    o["queue_name"] = op.queue_name;
    o["id"] = op.id.ToString();
    return Tag("Cancel", std::move(o));
  }
  static json::object Tag(std::string_view tag, json::object payload) {
    json::object out;
    out[tag] = std::move(payload);
    return out;
  }
};

}  // namespace

OpParse ParseQueueOp(const json::value& data) {
  if (!data.is_object() || data.get_object().size() != 1) return ForeignData{};
  const auto& member = *data.get_object().begin();
  bool is_op = false;
  Result<QueueOp> op = ParseTagged(member.key(), member.value(), &is_op);
  if (!is_op) return ForeignData{};
  if (!op.ok()) return RejectedOp{std::string(member.key()) + ": " + op.status().message()};
  return std::move(op).value();
}

OpParse ParseQueueOpText(std::string_view json_text) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec) return ForeignData{};
  return ParseQueueOp(v);
}

namespace {

// The text json::serialize prints for the ops a worker's requests produce,
// appended directly: they are most of a busy node's events.
class WorkerOpText {
 public:
  WorkerOpText(std::string* out, std::string_view tag, const std::string& queue, const Uuid& id)
      : out_(*out) {
    out_ += "{\"";
    out_ += tag;
    out_ += "\":{\"queue_name\":";
    if (ValidateQueueName(queue).ok()) {  // nothing to escape
      out_ += '"';
      out_ += queue;
      out_ += '"';
    } else {
      out_ += json::serialize(json::string_view(queue));
    }
    out_ += ",\"id\":\"";
    id.AppendTo(&out_);
    out_ += '"';
  }
  WorkerOpText& Worker(const Uuid& worker, uint64_t lease) {
    out_ += ",\"worker_id\":\"";
    worker.AppendTo(&out_);
    out_ += '"';
    return Number("lease", lease);
  }
  // Members equal to zero (or empty, or false) are left out, as the ops'
  // tree serializers do.
  WorkerOpText& Number(std::string_view key, uint64_t v) {
    if (v != 0) Key(key) += std::to_string(v);
    return *this;
  }
  WorkerOpText& Text(std::string_view key, const std::string& v) {
    if (!v.empty()) Key(key) += json::serialize(json::string_view(v));
    return *this;
  }
  WorkerOpText& True(std::string_view key, bool v) {
    if (v) Key(key) += "true";
    return *this;
  }
  void Finish() { out_ += "}}"; }

 private:
  std::string& Key(std::string_view key) {
    out_ += ",\"";
    out_ += key;
    out_ += "\":";
    return out_;
  }
  std::string& out_;
};

// Appends an op's text to *out.
struct TextWriter {
  void operator()(const ProgressOp& op) const {
    WorkerOpText(out, "Progress", op.queue_name, op.id).Worker(op.worker_id, op.lease).Finish();
  }
  void operator()(const DoneOp& op) const {
    WorkerOpText(out, "Done", op.queue_name, op.id).Worker(op.worker_id, op.lease).Finish();
  }
  void operator()(const FailOp& op) const {
    WorkerOpText(out, "Fail", op.queue_name, op.id)
        .Worker(op.worker_id, op.lease)
        .Text("error", op.error)
        .Number("retry_in_ms", op.retry_in_ms)
        .True("dead", op.dead)
        .Finish();
  }
  void operator()(const CancelOp& op) const {
    WorkerOpText(out, "Cancel", op.queue_name, op.id).Finish();
  }
  void operator()(const BatchOp& batch) const {
    out->reserve(out->size() + 16 + 120 * batch.ops.size());
    *out += "{\"Batch\":[";
    for (size_t i = 0; i < batch.ops.size(); ++i) {
      if (i > 0) *out += ',';
      std::visit(*this, batch.ops[i]);
    }
    *out += "]}";
  }
  template <typename Op>
  void operator()(const Op& op) const {
    *out += json::serialize(Serializer{}(op));
  }
  std::string* out;
};

}  // namespace

std::string SerializeQueueOp(const QueueOp& op) {
  std::string out;
  out.reserve(160);
  std::visit(TextWriter{&out}, op);
  return out;
}

QueueOp ToQueueOp(TaskOp op) {
  return std::visit([](auto&& o) { return QueueOp(std::move(o)); }, std::move(op));
}

Status ValidateQueueName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument("queue name must be 1 to 128 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) {
      return Status::InvalidArgument("queue name \"" + std::string(name) +
                                     "\" may contain only letters, digits, '_', '-' and '.'");
    }
  }
  return Status::Ok();
}

}  // namespace pigtail

#include "core/event_parser.h"

#include <array>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/json_fields.h"
#include "core/op_grammar.h"

namespace pigtail {
namespace json = boost::json;
namespace g = op_grammar;
using json_fields::JsonScalar;
using json_fields::What;
using Kind = JsonScalar::Kind;

namespace {

template <typename T>
void AppendNumber(T n, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), n);
  out->append(buf, r.ptr);
}

// Appends a scalar as json::serialize writes it.
void AppendScalar(const JsonScalar& v, std::string* out) {
  switch (v.kind) {
    case Kind::kBool:
      *out += v.b ? "true" : "false";
      return;
    case Kind::kInt64:
      AppendNumber(v.i, out);
      return;
    case Kind::kUint64:
      AppendNumber(v.u, out);
      return;
    case Kind::kDouble:
      *out += json::serialize(json::value(v.d));
      return;
    case Kind::kString:
      json_fields::AppendJsonString(v.s, out);
      return;
    default:
      *out += "null";
      return;
  }
}

JsonScalar ContainerScalar(bool object) {
  JsonScalar v;
  v.kind = object ? Kind::kObject : Kind::kArray;
  return v;
}

// Reads one field's value into its member.
template <typename T>
Status ReadValue(const JsonScalar& v, const What& what, g::Text, T* out) {
  return json_fields::Read(v, what, out);
}
Status ReadValue(const JsonScalar& v, const What& what, g::Text text, std::string* out) {
  if (text == g::Text::kQueueName && v.kind == Kind::kString) {
    PIGTAIL_RETURN_IF_ERROR(ValidateQueueName(v.s));
  }
  return json_fields::Read(v, what, out);
}
template <typename T>
Status ReadValue(const JsonScalar& v, const What& what, g::Text text, std::optional<T>* out) {
  T value{};
  PIGTAIL_RETURN_IF_ERROR(ReadValue(v, what, text, &value));
  *out = value;
  return Status::Ok();
}

// The grammar as data for the parser, made from op_grammar's tables: the
// parser's hot path runs the same few lines for every op and field instead
// of code for each.
struct FieldRule {
  std::string_view name;
  g::Presence presence;
  g::Text text;
  // Reads `v` into the field of *op (which holds the field's op).
  Status (*read)(QueueOp* op, const JsonScalar& v, const What& what);
  void (*clear)(QueueOp* op);                           // to its default
  void (*set_text)(QueueOp* op, const std::string& v);  // a Text::kJson field
};

template <typename Op, size_t I>
struct FieldAt {
  static constexpr auto kField = std::get<I>(g::Grammar<Op>::kFields);
  static auto& Member(QueueOp* op) { return std::get_if<Op>(op)->*kField.member; }
  static Status Read(QueueOp* op, const JsonScalar& v, const What& what) {
    return ReadValue(v, what, kField.text, &Member(op));
  }
  static void Clear(QueueOp* op) { Member(op) = {}; }
  static void SetText(QueueOp* op, const std::string& v) {
    if constexpr (std::is_same_v<std::decay_t<decltype(Member(op))>, std::string>) Member(op) = v;
  }
  static constexpr FieldRule kRule{kField.name, kField.presence, kField.text,
                                   &Read,       &Clear,          &SetText};
};

inline constexpr size_t kMaxFields = 8;

struct OpRules {
  std::string_view tag;
  bool bare = false;  // the payload is the one field's value
  size_t count = 0;
  std::array<FieldRule, kMaxFields> fields{};
  void (*emplace)(QueueOp* op) = nullptr;
};

template <typename Op>
constexpr OpRules MakeRules() {
  OpRules rules;
  rules.tag = g::Grammar<Op>::kTag;
  rules.emplace = [](QueueOp* op) { op->emplace<Op>(); };
  if constexpr (!std::is_same_v<Op, BatchOp>) {
    static_assert(g::kFieldCount<Op> <= kMaxFields);
    rules.bare = g::Grammar<Op>::kBare;
    [&]<size_t... I>(std::index_sequence<I...>) {
      rules.count = sizeof...(I);
      ((rules.fields[I] = FieldAt<Op, I>::kRule), ...);
    }
    (std::make_index_sequence<g::kFieldCount<Op>>());
  }
  return rules;
}

// kRules[i]: the rules of QueueOp's alternative i.
inline constexpr auto kRules = []<size_t... I>(std::index_sequence<I...>) {
  return std::array<OpRules, sizeof...(I)>{MakeRules<std::variant_alternative_t<I, QueueOp>>()...};
}
(std::make_index_sequence<std::variant_size_v<QueueOp>>());

bool Batchable(int tag) {
  return tag == g::kIndexOf<AddOp> || tag == g::kIndexOf<ProgressOp> ||
         tag == g::kIndexOf<DoneOp> || tag == g::kIndexOf<FailOp> || tag == g::kIndexOf<CancelOp> ||
         tag == g::kIndexOf<PurgeOp>;
}

const std::string& TaskQueue(const TaskOp& op) {
  return std::visit([](const auto& o) -> const std::string& { return o.queue_name; }, op);
}
const Uuid& TaskId(const TaskOp& op) {
  return std::visit([](const auto& o) -> const Uuid& { return o.id; }, op);
}

TaskOp ToTaskOp(QueueOp op) {
  return std::visit(
      [](auto&& o) -> TaskOp {
        if constexpr (std::is_constructible_v<TaskOp, std::decay_t<decltype(o)>>) {
          return TaskOp(std::move(o));
        } else {
          return TaskOp(CancelOp{});  // unreachable: only batchable tags get here
        }
      },
      std::move(op));
}

// An object whose one member's name is an op tag: an event's data, or an
// element of a Batch. A repeated key counts once, with its last value.
struct Tagged {
  void Reset() {
    members = 0;
    mixed = false;
    tag = -1;
    payload = false;
    other.clear();
  }
  int members = 0;
  bool mixed = false;    // has a key other than the first
  int tag = -1;          // index of the first key in op_grammar::kTags, or -1
  bool payload = false;  // the value that comes next is the op's payload
  std::string other;     // the first key, when it is not a tag
  std::string_view First() const { return tag >= 0 ? g::kTags[tag] : other; }
  Status status;  // of the last payload read; if ok, its op is read
};

// The SAX handler. It never stops basic_parser (so malformed JSON is always
// reported as such); the first error of each part is kept and the result
// decided at the end, in the order the fields are checked.
class Handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  // An event (into *event), or an event's data alone (event == nullptr).
  void Reset(Event* event) {
    event_ = event;
    depth_ = 0;
    root_object_ = false;
    seen_ = 0;
    errors_ = 0;
    top_field_ = kOther;
    if (event == nullptr) data_op_ = ForeignData{};
    data_out_ = event != nullptr ? &event->op : &data_op_;
    str_.clear();
    key_.clear();
  }

  Status FinishEvent() {
    const uint32_t required = Bit(kId) | Bit(kOwner) | Bit(kWhen) | Bit(kData);
    if (root_object_ && seen_ == (seen_ | required) && errors_ == 0) return Status::Ok();
    return EventError();
  }

  [[gnu::cold]] Status EventError() const {
    if (!root_object_) return Status::InvalidArgument("event must be a JSON object");
    static constexpr const char* kMissing[] = {"event has no \"id\"", "event has no \"owner\"",
                                               "event has no \"when\"", "event has no \"data\""};
    for (TopField f : {kId, kOwner, kWhen, kData}) {
      if (!(seen_ & Bit(f))) return Status::InvalidArgument(kMissing[f]);
    }
    for (TopField f : {kId, kOwner, kWhen, kPrev, kDeps}) {
      if (errors_ & Bit(f)) return error_[f];
    }
    return Status::Ok();
  }

  OpParse TakeData() { return std::move(data_op_); }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    Value(ContainerScalar(true), true);
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    Close();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) {
    Value(ContainerScalar(false), true);
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    Close();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
    std::string_view key(s.data(), s.size());
    if (!key_.empty()) {
      key_.append(s.data(), s.size());
      key = key_;
    }
    Key(key);
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
    str_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
    JsonScalar v;
    v.kind = Kind::kString;
    v.s = std::string_view(s.data(), s.size());
    if (!str_.empty()) {
      str_.append(s.data(), s.size());
      v.s = str_;
    }
    Value(v, false);
    str_.clear();
    return true;
  }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, boost::system::error_code&) {
    JsonScalar v;
    v.kind = Kind::kInt64;
    v.i = i;
    Value(v, false);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, boost::system::error_code&) {
    JsonScalar v;
    v.kind = Kind::kUint64;
    v.u = u;
    Value(v, false);
    return true;
  }
  bool on_double(double d, json::string_view, boost::system::error_code&) {
    JsonScalar v;
    v.kind = Kind::kDouble;
    v.d = d;
    Value(v, false);
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    JsonScalar v;
    v.kind = Kind::kBool;
    v.b = b;
    Value(v, false);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    JsonScalar v;
    v.kind = Kind::kNull;
    Value(v, false);
    return true;
  }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  // Where the parser is: the innermost open container.
  enum class Ctx : uint8_t {
    kEvent,       // the event object
    kSkip,        // a value nobody reads
    kWhenArray,   // "when": [E,[T],C] or [E,T,C]
    kWhenTime,    // the [T] in it
    kWhenObject,  // "when": {"epoch","time","count"}
    kDeps,        // "dependencies": [...]
    kData,        // the data object
    kElement,     // an element of a Batch
    kPayload,     // an op's payload object
    kBatch,       // the Batch array
    kJson,        // inside a Text::kJson value, kept as text
  };
  enum TopField : uint8_t { kId, kOwner, kWhen, kData, kPrev, kDeps, kOther };
  enum WhenField : uint8_t { kEpoch, kTime, kCount, kWhenOther };
  static constexpr uint32_t Bit(int f) { return uint32_t{1} << f; }

  void Push(Ctx c) { ctx_[depth_++] = c; }

  // A value, or the start of an object or array (`container`), where the
  // innermost container says. Inlined into each SAX callback, so that each
  // kind of value has its own (well predicted) dispatch.
  [[gnu::always_inline]] void Value(const JsonScalar& v, bool container) {
    if (depth_ == 0) {
      if (event_ == nullptr) {
        DataValue(v, container);
      } else if (v.kind == Kind::kObject) {
        root_object_ = true;
        Push(Ctx::kEvent);
      } else if (container) {
        Push(Ctx::kSkip);
      }
      return;
    }
    switch (ctx_[depth_ - 1]) {
      case Ctx::kSkip:
        break;
      case Ctx::kEvent:
        EventValue(v, container);
        return;
      case Ctx::kWhenArray:
        WhenArrayValue(v, container);
        return;
      case Ctx::kWhenTime:
        if (when_.time_items++ == 0) when_.time = v;
        break;
      case Ctx::kWhenObject:
        WhenObjectValue(v);
        break;
      case Ctx::kDeps:
        DependencyValue(v);
        break;
      case Ctx::kData:
        TaggedValue(&data_, v, container);
        return;
      case Ctx::kElement:
        TaggedValue(&element_, v, container);
        return;
      case Ctx::kPayload:
        PayloadValue(v, container);
        return;
      case Ctx::kBatch:
        BatchValue(v, container);
        return;
      case Ctx::kJson:
        JsonValueStart();
        if (container) {
          OpenJson(v.kind == Kind::kObject);
        } else {
          AppendScalar(v, &json_);
        }
        return;
    }
    if (container) Push(Ctx::kSkip);  // a value nobody reads further
  }

  void Close() {
    const Ctx c = ctx_[--depth_];
    switch (c) {
      case Ctx::kWhenArray:
      case Ctx::kWhenObject:
        FinishWhen();
        return;
      case Ctx::kData:
        FinishData();
        return;
      case Ctx::kElement:
        FinishElement();
        return;
      case Ctx::kPayload:
        FinishPayload();
        return;
      case Ctx::kBatch:
        FinishBatch();
        return;
      case Ctx::kJson:
        CloseJson();
        return;
      default:
        return;
    }
  }

  void Key(std::string_view k) {
    switch (ctx_[depth_ - 1]) {
      case Ctx::kEvent:
        top_field_ = TopFieldOf(k);
        return;
      case Ctx::kWhenObject:
        when_field_ = k == "epoch"   ? kEpoch
                      : k == "time"  ? kTime
                      : k == "count" ? kCount
                                     : kWhenOther;
        return;
      case Ctx::kData:
        TaggedKey(&data_, k, true);
        return;
      case Ctx::kElement:
        TaggedKey(&element_, k, false);
        return;
      case Ctx::kPayload:
        field_ = -1;
        for (size_t i = 0; i < rules_->count; ++i) {
          if (rules_->fields[i].name == k) {
            field_ = static_cast<int>(i);
            break;
          }
        }
        return;
      case Ctx::kJson:
        JsonKey(k);
        return;
      default:
        return;
    }
  }

  // ---- the event's own members
  static TopField TopFieldOf(std::string_view k) {
    switch (k.size()) {  // one compare per key instead of a chain
      case 2:
        return k == "id" ? kId : kOther;
      case 4:
        return k == "when" ? kWhen : k == "data" ? kData : k == "prev" ? kPrev : kOther;
      case 5:
        return k == "owner" ? kOwner : kOther;
      case 12:
        return k == "dependencies" ? kDeps : kOther;
      default:
        return kOther;
    }
  }
  [[gnu::cold]] void SetError(TopField f, Status s) {
    errors_ |= Bit(f);
    error_[f] = std::move(s);
  }
  void SetId(TopField f, const JsonScalar& v, Uuid* out) {
    errors_ &= ~Bit(f);
    Status s = json_fields::Read(v,
                                 What::Quoted(f == kId      ? "id"
                                              : f == kOwner ? "owner"
                                                            : "prev"),
                                 out);
    if (!s.ok()) SetError(f, std::move(s));
  }

  [[gnu::noinline]] void EventValue(const JsonScalar& v, bool container) {
    const TopField f = top_field_;
    if (f != kOther) seen_ |= Bit(f);
    switch (f) {
      case kId:
        SetId(kId, v, &event_->id);
        break;
      case kOwner:
        SetId(kOwner, v, &event_->owner);
        break;
      case kPrev:
        event_->prev.reset();
        errors_ &= ~Bit(kPrev);
        if (v.kind != Kind::kNull) {
          Uuid prev;
          SetId(kPrev, v, &prev);
          if (!(errors_ & Bit(kPrev))) event_->prev = prev;
        }
        break;
      case kWhen:
        when_.form = json_fields::HlcParts::Form::kOther;
        when_.items = 0;
        when_.time_nested = false;
        when_.time_items = 0;
        when_.epoch.kind = when_.time.kind = when_.count.kind = Kind::kAbsent;
        errors_ &= ~Bit(kWhen);
        if (v.kind == Kind::kArray || v.kind == Kind::kObject) {
          when_.form = v.kind == Kind::kArray ? json_fields::HlcParts::Form::kArray
                                              : json_fields::HlcParts::Form::kObject;
          when_extra_ = false;
          Push(v.kind == Kind::kArray ? Ctx::kWhenArray : Ctx::kWhenObject);
          return;
        }
        FinishWhen();
        break;
      case kDeps:
        event_->dependencies.clear();
        errors_ &= ~Bit(kDeps);
        if (v.kind == Kind::kArray) {
          Push(Ctx::kDeps);
          return;
        }
        if (v.kind != Kind::kNull) {
          SetError(kDeps, Status::InvalidArgument("\"dependencies\" must be an array"));
        }
        break;
      case kData:
        DataValue(v, container);
        return;
      case kOther:
        break;
    }
    if (container) Push(Ctx::kSkip);
  }

  [[gnu::noinline]] void WhenArrayValue(const JsonScalar& v, bool container) {
    const size_t index = when_.items++;
    if (index == 0) when_.epoch = v;
    if (index == 2) when_.count = v;
    if (index == 1) {
      if (v.kind == Kind::kArray) {
        when_.time_nested = true;
        Push(Ctx::kWhenTime);
        return;
      }
      when_.time = v;
    }
    if (container) Push(Ctx::kSkip);
  }

  void WhenObjectValue(const JsonScalar& v) {
    switch (when_field_) {
      case kEpoch:
        when_.epoch = v;
        break;
      case kTime:
        when_.time = v;
        break;
      case kCount:
        when_.count = v;
        break;
      case kWhenOther:
        when_extra_ = true;
        break;
    }
  }

  void FinishWhen() {
    if (when_.form == json_fields::HlcParts::Form::kObject) {
      when_.items = (when_.epoch.kind != Kind::kAbsent) + (when_.time.kind != Kind::kAbsent) +
                    (when_.count.kind != Kind::kAbsent) + (when_extra_ ? 1 : 0);
    }
    Status s = json_fields::Read(when_, What::Quoted("when"), &event_->when);
    if (!s.ok()) SetError(kWhen, std::move(s));
  }

  void DependencyValue(const JsonScalar& v) {
    if (errors_ & Bit(kDeps)) return;  // the first bad one is the error
    Uuid dep;
    Status s = json_fields::Read(v, "dependency", &dep);
    if (s.ok()) {
      event_->dependencies.push_back(dep);
    } else {
      SetError(kDeps, std::move(s));
    }
  }

  // ---- data and tagged ops

  // The value of "data" (or the whole text, for data alone).
  [[gnu::noinline]] void DataValue(const JsonScalar& v, bool container) {
    *data_out_ = ForeignData{};
    if (v.kind == Kind::kObject) {
      data_.Reset();
      Push(Ctx::kData);
      return;
    }
    if (container) Push(Ctx::kSkip);
  }

  void FinishData() {
    if (data_.members == 0 || data_.mixed || data_.tag < 0) {
      *data_out_ = ForeignData{};
    } else if (!data_.status.ok()) {
      *data_out_ = RejectedOp{std::string(data_.First()) + ": " + data_.status.message()};
    }  // else the op is in place
  }

  void TaggedKey(Tagged* t, std::string_view k, bool top) {
    if (t->members++ == 0) {
      t->tag = g::TagIndex(k);
      if (t->tag < 0) t->other.assign(k);
    } else if (!t->mixed && k != t->First()) {
      t->mixed = true;
    }
    t->payload = !t->mixed && t->tag >= 0 && (top || Batchable(t->tag));
  }

  [[gnu::noinline]] void TaggedValue(Tagged* t, const JsonScalar& v, bool container) {
    if (!t->payload) {
      if (container) Push(Ctx::kSkip);
      return;
    }
    payload_of_ = t;
    // The data's op is read in place; a Batch element's into op_.
    target_ = t == &data_ ? &data_out_->emplace<QueueOp>() : &op_;
    const std::string_view tag = g::kTags[t->tag];
    t->status = Status::Ok();
    if (t->tag == g::kIndexOf<BatchOp>) {
      if (v.kind == Kind::kArray) {
        batch_.ops.clear();
        batch_.adds.clear();
        batch_items_ = 0;
        batch_error_ = Status::Ok();
        Push(Ctx::kBatch);
        return;
      }
      t->status = Status::InvalidArgument("Batch payload must be an array");
    } else if (t->tag == g::kIndexOf<DeleteOp>) {
      // Bare: the payload is the name itself.
      target_->emplace<DeleteOp>();
      t->status = kRules[t->tag].fields[0].read(target_, v, What(" payload").Of(tag));
    } else if (v.kind == Kind::kObject) {
      rules_ = &kRules[t->tag];
      rules_->emplace(target_);
      present_ = 0;
      field_errors_ = 0;
      field_ = -1;
      Push(Ctx::kPayload);
      return;
    } else {
      t->status = Status::InvalidArgument(std::string(tag) + " payload must be an object");
    }
    if (container) Push(Ctx::kSkip);
  }

  [[gnu::cold]] void BatchValue(const JsonScalar& v, bool container) {
    const size_t index = batch_items_++;
    if (!batch_error_.ok() || index >= kMaxBatchOps) {
      if (container) Push(Ctx::kSkip);
      return;
    }
    if (v.kind == Kind::kObject) {
      element_.Reset();
      Push(Ctx::kElement);
      return;
    }
    if (container) Push(Ctx::kSkip);
    batch_error_ = Status::InvalidArgument("must be an object with one member, the op's tag")
                       .WithContext("op " + std::to_string(index));
  }

  [[gnu::cold]] void FinishElement() {
    Status error;
    const size_t index = batch_items_ - 1;
    if (element_.members == 0 || element_.mixed) {
      error = Status::InvalidArgument("must be an object with one member, the op's tag");
    } else if (element_.tag < 0 || !Batchable(element_.tag)) {
      error = Status::InvalidArgument(
                  "\"" + std::string(element_.First()) +
                  "\" cannot be batched (only Add, Progress, Done, Fail, Cancel and Purge)")
                  .WithContext(element_.First());
    } else if (!element_.status.ok()) {
      error = element_.status.WithContext(element_.First());
    } else if (element_.tag == g::kIndexOf<AddOp>) {
      batch_.adds.push_back(std::get<AddOp>(std::move(op_)));
      return;
    } else {
      batch_.ops.push_back(ToTaskOp(std::move(op_)));
      return;
    }
    batch_error_ = error.WithContext("op " + std::to_string(index));
  }

  [[gnu::cold]] void FinishBatch() {
    Status& r = data_.status;
    if (batch_items_ == 0 || batch_items_ > kMaxBatchOps) {
      r = Status::InvalidArgument("a Batch holds 1 to " + std::to_string(kMaxBatchOps) +
                                  " ops, got " + std::to_string(batch_items_));
      return;
    }
    if (!batch_error_.ok()) {
      r = batch_error_;
      return;
    }
    if (!batch_.adds.empty() && !batch_.ops.empty()) {
      r = Status::InvalidArgument("a Batch holds Adds or other ops, not both");
      return;
    }
    std::set<std::pair<std::string_view, Uuid>> tasks;
    for (size_t i = 0; i < batch_.ops.size(); ++i) {
      if (!tasks.emplace(TaskQueue(batch_.ops[i]), TaskId(batch_.ops[i])).second) {
        r = Status::InvalidArgument("op " + std::to_string(i) + " names task " +
                                    TaskId(batch_.ops[i]).ToString() +
                                    " again; a Batch names each task once");
        return;
      }
    }
    std::get<QueueOp>(*data_out_).emplace<BatchOp>(std::move(batch_));
    batch_ = BatchOp();
  }

  // ---- an op's payload, by its grammar

  // A field's value inside a payload object.
  [[gnu::noinline]] void PayloadValue(const JsonScalar& v, bool container) {
    if (field_ < 0) {
      if (container) Push(Ctx::kSkip);
      return;
    }
    const FieldRule& f = rules_->fields[field_];
    const uint32_t bit = Bit(field_);
    field_errors_ &= ~bit;
    if (f.text == g::Text::kJson) {
      present_ |= bit;
      json_.clear();
      json_levels_.clear();
      json_keys_.clear();
      json_repeats_ = false;
      if (container) {
        OpenJson(v.kind == Kind::kObject);
        return;
      }
      AppendScalar(v, &json_);
      EndJson();
      return;
    }
    if (container) Push(Ctx::kSkip);
    if (v.kind == Kind::kNull && f.presence == g::Presence::kOptional) {
      f.clear(target_);  // null reads as absent
      present_ &= ~bit;
      return;
    }
    present_ |= bit;
    Status s = f.read(target_, v, What::Quoted(f.name));
    if (!s.ok()) {
      field_errors_ |= bit;
      field_error_[field_] = std::move(s);
    }
  }

  // The payload object is complete: its first error, in field order.
  void FinishPayload() {
    Status& r = payload_of_->status;
    for (size_t i = 0; i < rules_->count; ++i) {
      const uint32_t bit = Bit(static_cast<int>(i));
      if (field_errors_ & bit) {
        r = field_error_[i];
        return;
      }
      if (rules_->fields[i].presence == g::Presence::kRequired && !(present_ & bit)) {
        r = Status::InvalidArgument("missing field \"" + std::string(rules_->fields[i].name) +
                                    "\"");
        return;
      }
    }
  }

  // ---- a Text::kJson value, written as json::serialize writes it

  struct JsonLevel {
    bool object;
    bool first;        // nothing written in it yet
    size_t first_key;  // where its keys start in json_keys_
  };

  void OpenJson(bool object) {
    json_ += object ? '{' : '[';
    json_levels_.push_back(JsonLevel{object, true, json_keys_.size()});
    Push(Ctx::kJson);
  }

  // Before a value inside a kJson container.
  void JsonValueStart() {
    JsonLevel& level = json_levels_.back();
    if (!level.object) {
      if (!level.first) json_ += ',';
      level.first = false;
    }
  }

  void JsonKey(std::string_view k) {
    JsonLevel& level = json_levels_.back();
    if (!level.first) json_ += ',';
    level.first = false;
    const size_t begin = json_.size();
    json_fields::AppendJsonString(k, &json_);
    const std::string_view written(json_.data() + begin, json_.size() - begin);
    // Beyond a few keys, the text is parsed again anyway (see EndJson).
    if (json_keys_.size() - level.first_key > kKeysCompared) json_repeats_ = true;
    for (size_t i = level.first_key; i < json_keys_.size() && !json_repeats_; ++i) {
      if (std::string_view(json_.data() + json_keys_[i].first, json_keys_[i].second) == written) {
        json_repeats_ = true;
      }
    }
    json_keys_.emplace_back(begin, written.size());
    json_ += ':';
  }

  void CloseJson() {
    const JsonLevel level = json_levels_.back();
    json_levels_.pop_back();
    json_keys_.resize(level.first_key);
    json_ += level.object ? '}' : ']';
    if (json_levels_.empty()) EndJson();
  }

  // The kJson value is complete: it goes into its member.
  void EndJson() {
    if (json_repeats_) {
      // A repeated key counts once, as the tree keeps it: parse what was
      // written (valid JSON in the same order) and write it again.
      boost::system::error_code ec;
      json_ = json::serialize(json::parse(json_, ec));
    }
    rules_->fields[field_].set_text(target_, json_);
  }

  static constexpr size_t kKeysCompared = 16;
  static constexpr size_t kMaxDepth = 64;  // basic_parser stops at 32
  Event* event_ = nullptr;
  Ctx ctx_[kMaxDepth];
  size_t depth_ = 0;
  bool root_object_ = false;
  // The event's members: seen, and with an error.
  uint32_t seen_ = 0;
  uint32_t errors_ = 0;
  Status error_[kOther];
  TopField top_field_ = kOther;
  json_fields::HlcParts when_;
  WhenField when_field_ = kWhenOther;
  bool when_extra_ = false;
  // The data, and the Batch element being read.
  OpParse data_op_;              // the data alone
  OpParse* data_out_ = nullptr;  // where the data's meaning goes
  Tagged data_;
  Tagged element_;
  BatchOp batch_;
  size_t batch_items_ = 0;
  Status batch_error_;
  // The payload being read: its op (where it is read into), the field whose
  // value comes next, the fields present (with a non-null value) and those
  // with an error. op_ holds a Batch element.
  Tagged* payload_of_ = nullptr;
  const OpRules* rules_ = &kRules[0];
  QueueOp op_;
  QueueOp* target_ = &op_;
  int field_ = -1;
  uint32_t present_ = 0;
  uint32_t field_errors_ = 0;
  Status field_error_[kMaxFields];
  // A kJson value being written.
  std::string json_;
  std::vector<JsonLevel> json_levels_;
  std::vector<std::pair<size_t, size_t>> json_keys_;  // offset and size in json_
  bool json_repeats_ = false;
  // Keys and strings that arrive in parts.
  std::string str_;
  std::string key_;
};

json::basic_parser<Handler>& ThreadParser() {
  thread_local json::basic_parser<Handler> parser{json::parse_options()};
  return parser;
}

// Runs the parser over `text`; the JSON error, if any.
boost::system::error_code Run(std::string_view text, Event* event) {
  json::basic_parser<Handler>& parser = ThreadParser();
  parser.reset();
  parser.handler().Reset(event);
  boost::system::error_code ec;
  size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  return ec;
}

}  // namespace

Status ParseEventText(std::string_view text, Event* event) {
  boost::system::error_code ec = Run(text, event);
  if (ec) return Status::InvalidArgument("event is not valid JSON: " + ec.message());
  return ThreadParser().handler().FinishEvent();
}

OpParse ParseOpText(std::string_view data) {
  boost::system::error_code ec = Run(data, nullptr);
  if (ec) return ForeignData{};
  return ThreadParser().handler().TakeData();
}

}  // namespace pigtail

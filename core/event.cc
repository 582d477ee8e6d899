#include "core/event.h"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/json_fields.h"
#include "core/json_splice.h"

namespace pigtail {
namespace json = boost::json;

namespace {

// One parser per thread, reused across events so that its internal stack is
// allocated once; each parse puts its tree in a monotonic arena that starts
// in a per-thread buffer, so a typical event needs no heap allocation for the
// tree at all. The tree never outlives the call that built it.
class ReusedParser {
 public:
  // Parses `text` into a tree held in `arena`; same grammar, limits and
  // errors as json::parse with default options.
  json::value Parse(std::string_view text, json::monotonic_resource* arena,
                    boost::system::error_code& ec) {
    parser_.reset(json::storage_ptr(arena));
    parser_.write(text.data(), text.size(), ec);
    if (ec) return nullptr;
    return parser_.release();
  }

  unsigned char* buffer() { return buffer_; }
  static constexpr size_t kBufferSize = 8192;

 private:
  json::parser parser_;
  unsigned char buffer_[kBufferSize];
};

ReusedParser& ThreadParser() {
  thread_local ReusedParser parser;
  return parser;
}

// The fast path of ParseEvent: Boost.JSON's SAX parser straight into the
// Event, for well-formed events of the shapes Pigtail writes. It gives up
// (returns false) on anything it does not handle exactly as the tree path
// does: malformed JSON, a missing or mistyped field, a malformed op, a
// duplicate key where it would matter, a floating-point number or an
// escaped character inside Add's `info`; ParseEvent then parses the event
// again through the tree, which decides. `info_json` is built as
// json::serialize would print the parsed `info`.
class FastEventHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  void Reset(Event* out) {
    out_ = out;
    depth_ = 0;
    failed_ = false;
    seen_ = 0;
    field_ = kNone;
    data_keys_ = 0;
    tag_ = kNoTag;
    payload_seen_ = 0;
    payload_keyed_ = 0;
    when_seen_ = 0;
    when_index_ = 0;
    time_items_ = 0;
    str_.clear();
    key_.clear();
    info_.clear();
    info_keys_.clear();
    info_levels_.clear();
    queue_name_.clear();
    task_name_.clear();
    error_.clear();
    u64_[0] = u64_[1] = u64_[2] = u64_[3] = 0;
    i64_ = 0;
    dead_ = false;
    task_id_ = Uuid();
    worker_id_ = Uuid();
  }

  bool ok() const { return !failed_; }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code& ec) { return Finish() || Fail(ec); }

  bool on_object_begin(boost::system::error_code& ec) {
    if (depth_ == 0) return Push(kTop) || Fail(ec);
    return BeginContainer(true) || Fail(ec);
  }
  bool on_object_end(std::size_t, boost::system::error_code& ec) {
    return EndContainer() || Fail(ec);
  }
  bool on_array_begin(boost::system::error_code& ec) {
    if (depth_ == 0) return Fail(ec);
    return BeginContainer(false) || Fail(ec);
  }
  bool on_array_end(std::size_t, boost::system::error_code& ec) {
    return EndContainer() || Fail(ec);
  }

  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
    std::string_view key(s.data(), s.size());
    if (!key_.empty()) {
      key_.append(s.data(), s.size());
      key = key_;
    }
    bool ok = Key(key);
    key_.clear();
    return ok || Fail(ec);
  }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
    str_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code& ec) {
    std::string_view v(s.data(), s.size());
    if (!str_.empty()) {
      str_.append(s.data(), s.size());
      v = str_;
    }
    bool ok = String(v);
    str_.clear();
    return ok || Fail(ec);
  }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, boost::system::error_code& ec) {
    return Number(i >= 0, static_cast<uint64_t>(i), true, i) || Fail(ec);
  }
  bool on_uint64(uint64_t u, json::string_view, boost::system::error_code& ec) {
    return Number(true, u, false, 0) || Fail(ec);
  }
  bool on_double(double, json::string_view, boost::system::error_code& ec) { return Fail(ec); }
  bool on_bool(bool b, boost::system::error_code& ec) { return Bool(b) || Fail(ec); }
  bool on_null(boost::system::error_code& ec) { return Null() || Fail(ec); }
  bool on_comment_part(json::string_view, boost::system::error_code& ec) { return Fail(ec); }
  bool on_comment(json::string_view, boost::system::error_code& ec) { return Fail(ec); }

 private:
  // Where the parser is.
  enum Ctx : uint8_t {
    kTop,       // the event object
    kWhenArr,   // "when": [E,[T],C] or [E,T,C]
    kWhenTime,  // the [T] inside it
    kWhenObj,   // "when": {"epoch","time","count"}
    kDeps,      // "dependencies": [...]
    kData,      // "data": {...}
    kPayload,   // the op's payload object
    kInfo,      // inside Add's "info" (an object or array), being serialized
    kSkip,      // inside a value that is not read
  };
  // The member whose value comes next.
  enum Field : uint8_t {
    kNone,
    // event
    kId,
    kOwner,
    kPrev,
    kNext,
    kWhen,
    kData_,
    kDeps_,
    kOther,
    // when object
    kEpoch,
    kTime,
    kCount,
    // payloads
    kName,
    kTimeoutMs,
    kMaxAttempts,
    kBackoffMs,
    kQueueName,
    kTaskName,
    kInfo_,
    kPriority,
    kDelayMs,
    kTaskId,
    kWorkerId,
    kLease,
    kError,
    kRetryInMs,
    kDead,
    kFieldCount,
  };
  enum Tag : uint8_t { kNoTag, kCreate, kDelete, kAdd, kProgress, kDone, kFail, kCancel, kForeign };

  static constexpr uint32_t Bit(Field f) { return uint32_t{1} << f; }

  static bool Fail(boost::system::error_code& ec) {
    ec = json::error::syntax;  // any error: the caller falls back to the tree
    return false;
  }

  bool Push(Ctx c) {
    if (depth_ >= kMaxDepth) return false;
    ctx_[depth_++] = c;
    return true;
  }
  Ctx Top() const { return ctx_[depth_ - 1]; }

  // Records that `f` got a value; a second value for it gives up.
  bool Once(uint32_t* seen, Field f) {
    if (*seen & Bit(f)) return false;
    *seen |= Bit(f);
    return true;
  }

  static Field PayloadField(std::string_view k) {
    switch (k.size()) {
      case 2:
        if (k == "id") return kTaskId;
        break;
      case 4:
        if (k == "name") return kName;
        if (k == "info") return kInfo_;
        if (k == "dead") return kDead;
        break;
      case 5:
        if (k == "lease") return kLease;
        if (k == "error") return kError;
        break;
      case 8:
        if (k == "priority") return kPriority;
        if (k == "delay_ms") return kDelayMs;
        break;
      case 9:
        if (k == "task_name") return kTaskName;
        if (k == "worker_id") return kWorkerId;
        break;
      case 10:
        if (k == "queue_name") return kQueueName;
        if (k == "timeout_ms") return kTimeoutMs;
        if (k == "backoff_ms") return kBackoffMs;
        break;
      case 11:
        if (k == "retry_in_ms") return kRetryInMs;
        break;
      case 12:
        if (k == "max_attempts") return kMaxAttempts;
        break;
      default:
        break;
    }
    return kOther;
  }

  // The payload members each op reads.
  static uint32_t Reads(Tag t) {
    switch (t) {
      case kCreate:
        return Bit(kName) | Bit(kTimeoutMs) | Bit(kMaxAttempts) | Bit(kBackoffMs);
      case kAdd:
        return Bit(kQueueName) | Bit(kTaskName) | Bit(kInfo_) | Bit(kPriority) | Bit(kDelayMs) |
               Bit(kMaxAttempts) | Bit(kTimeoutMs);
      case kProgress:
      case kDone:
        return Bit(kQueueName) | Bit(kTaskId) | Bit(kWorkerId) | Bit(kLease);
      case kFail:
        return Bit(kQueueName) | Bit(kTaskId) | Bit(kWorkerId) | Bit(kLease) | Bit(kError) |
               Bit(kRetryInMs) | Bit(kDead);
      case kCancel:
        return Bit(kQueueName) | Bit(kTaskId);
      default:
        return 0;
    }
  }

  bool Key(std::string_view k) {
    if (depth_ == 0) return false;
    switch (Top()) {
      case kTop: {
        Field f = kOther;
        if (k == "id")
          f = kId;
        else if (k == "owner")
          f = kOwner;
        else if (k == "prev")
          f = kPrev;
        else if (k == "next")
          f = kNext;
        else if (k == "when")
          f = kWhen;
        else if (k == "data")
          f = kData_;
        else if (k == "dependencies")
          f = kDeps_;
        if (f != kOther && f != kNext && !Once(&seen_, f)) return false;
        field_ = f;
        return true;
      }
      case kWhenObj: {
        Field f = kOther;
        if (k == "epoch")
          f = kEpoch;
        else if (k == "time")
          f = kTime;
        else if (k == "count")
          f = kCount;
        if (f == kOther || !Once(&when_seen_, f)) return false;
        field_ = f;
        return true;
      }
      case kData: {
        if (++data_keys_ > 1) return false;  // the tree decides
        if (k == "Create")
          tag_ = kCreate;
        else if (k == "Delete")
          tag_ = kDelete;
        else if (k == "Add")
          tag_ = kAdd;
        else if (k == "Progress")
          tag_ = kProgress;
        else if (k == "Done")
          tag_ = kDone;
        else if (k == "Fail")
          tag_ = kFail;
        else if (k == "Cancel")
          tag_ = kCancel;
        else if (k == "Batch")
          return false;  // the tree reads batches
        else
          tag_ = kForeign;
        return true;
      }
      case kPayload: {
        Field f = PayloadField(k);
        if (!(Reads(tag_) & Bit(f))) {
          field_ = kOther;
          return true;
        }
        if (!Once(&payload_keyed_, f)) return false;
        payload_seen_ |= Bit(f);
        field_ = f;
        return true;
      }
      case kInfo: {
        if (NeedsEscape(k)) return false;
        InfoLevel& level = info_levels_.back();
        for (size_t i = level.first_key; i < info_keys_.size(); ++i) {
          if (info_keys_[i] == k) return false;  // duplicate keys: the tree decides
        }
        info_keys_.emplace_back(k);
        if (!level.first) info_.push_back(',');
        level.first = false;
        AppendQuoted(k);
        info_.push_back(':');
        return true;
      }
      case kSkip:
        return true;
      default:
        return false;
    }
  }

  // The context a value at the current position belongs to, and the field.
  bool BeginContainer(bool object) {
    switch (Top()) {
      case kSkip:
        return Push(kSkip);
      case kInfo:
        InfoValueStart();
        return OpenInfo(object);
      case kTop:
        switch (field_) {
          case kWhen:
            when_index_ = 0;
            when_seen_ = 0;
            return Push(object ? kWhenObj : kWhenArr);
          case kData_:
            if (!object) {
              tag_ = kForeign;
              return Push(kSkip);
            }
            return Push(kData);
          case kDeps_:
            return !object && Push(kDeps);
          case kNext:
          case kOther:
            return Push(kSkip);
          default:
            return false;
        }
      case kWhenArr:
        if (object || when_index_ != 1) return false;
        time_items_ = 0;
        return Push(kWhenTime);
      case kData:
        if (tag_ == kForeign) return Push(kSkip);
        if (!object || tag_ == kDelete) return false;
        return Push(kPayload);
      case kPayload:
        if (field_ == kOther) return Push(kSkip);
        if (field_ == kInfo_) {
          info_.clear();
          info_keys_.clear();
          info_levels_.clear();
          return OpenInfo(object);
        }
        return false;
      default:
        return false;
    }
  }

  bool OpenInfo(bool object) {
    info_.push_back(object ? '{' : '[');
    info_levels_.push_back(InfoLevel{true, object, info_keys_.size()});
    return Push(kInfo);
  }

  bool EndContainer() {
    Ctx c = Top();
    --depth_;
    switch (c) {
      case kInfo: {
        InfoLevel level = info_levels_.back();
        info_levels_.pop_back();
        info_keys_.resize(level.first_key);
        info_.push_back(level.object ? '}' : ']');
        return true;
      }
      case kWhenArr:
        if (when_index_ != 3) return false;
        seen_ |= Bit(kWhen);
        return true;
      case kWhenTime:
        if (time_items_ != 1) return false;
        ++when_index_;
        return true;
      case kWhenObj:
        return when_seen_ == (Bit(kEpoch) | Bit(kTime) | Bit(kCount));
      case kData:
        return data_keys_ == 1;
      default:
        return true;
    }
  }

  void InfoValueStart() {
    InfoLevel& level = info_levels_.back();
    if (!level.object) {
      if (!level.first) info_.push_back(',');
      level.first = false;
    }
  }

  void AppendQuoted(std::string_view s) {
    info_.push_back('"');
    info_.append(s.data(), s.size());
    info_.push_back('"');
  }

  static bool NeedsEscape(std::string_view s) {
    for (char c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') return true;
    }
    return false;
  }

  bool String(std::string_view v) {
    if (depth_ == 0) return false;
    switch (Top()) {
      case kSkip:
        return true;
      case kInfo:
        if (NeedsEscape(v)) return false;
        InfoValueStart();
        AppendQuoted(v);
        return true;
      case kTop:
        switch (field_) {
          case kId:
            return ParseId(v, &out_->id);
          case kOwner:
            return ParseId(v, &out_->owner);
          case kPrev: {
            Uuid prev;
            if (!ParseId(v, &prev)) return false;
            out_->prev = prev;
            return true;
          }
          case kData_:
            tag_ = kForeign;
            return true;
          case kNext:
          case kOther:
            return true;
          default:
            return false;
        }
      case kDeps: {
        Uuid dep;
        if (!ParseId(v, &dep)) return false;
        out_->dependencies.push_back(dep);
        return true;
      }
      case kData:
        if (tag_ == kForeign) return true;
        if (tag_ != kDelete) return false;
        queue_name_.assign(v);
        return true;
      case kPayload:
        switch (field_) {
          case kOther:
            return true;
          case kName:
          case kQueueName:
            queue_name_.assign(v);
            return true;
          case kTaskName:
            task_name_.assign(v);
            return true;
          case kError:
            error_.assign(v);
            return true;
          case kTaskId:
            return ParseId(v, &task_id_);
          case kWorkerId:
            return ParseId(v, &worker_id_);
          case kInfo_:
            if (NeedsEscape(v)) return false;
            info_.clear();
            AppendQuoted(v);
            return true;
          default:
            return false;
        }
      default:
        return false;
    }
  }

  static bool ParseId(std::string_view v, Uuid* out) {
    Result<Uuid> id = Uuid::Parse(v);
    if (!id.ok()) return false;
    *out = *id;
    return true;
  }

  // A number: `nonneg` and `u` when it is a non-negative integer; `is_i64`
  // and `i` when Boost.JSON read it as int64.
  bool Number(bool nonneg, uint64_t u, bool is_i64, int64_t i) {
    if (depth_ == 0) return false;
    switch (Top()) {
      case kSkip:
        return true;
      case kInfo:
        InfoValueStart();
        info_ += is_i64 ? std::to_string(i) : std::to_string(u);
        return true;
      case kTop:
        if (field_ == kNext || field_ == kOther) return true;
        if (field_ == kData_) {
          tag_ = kForeign;
          return true;
        }
        return false;
      case kWhenArr:
        if (!nonneg) return false;
        if (when_index_ == 0) {
          if (u > std::numeric_limits<uint32_t>::max()) return false;
          out_->when.epoch = static_cast<uint32_t>(u);
        } else if (when_index_ == 1) {
          out_->when.time = u;
        } else if (when_index_ == 2) {
          if (u > std::numeric_limits<uint32_t>::max()) return false;
          out_->when.count = static_cast<uint32_t>(u);
        } else {
          return false;
        }
        ++when_index_;
        return true;
      case kWhenTime:
        if (!nonneg || ++time_items_ > 1) return false;
        out_->when.time = u;
        return true;
      case kWhenObj:
        if (!nonneg) return false;
        if (field_ == kTime) {
          out_->when.time = u;
          return true;
        }
        if (u > std::numeric_limits<uint32_t>::max()) return false;
        (field_ == kEpoch ? out_->when.epoch : out_->when.count) = static_cast<uint32_t>(u);
        return true;
      case kData:
        return tag_ == kForeign;
      case kPayload:
        switch (field_) {
          case kOther:
            return true;
          case kPriority:
            if (!is_i64) return false;
            i64_ = i;
            return true;
          case kMaxAttempts:
            if (!nonneg || u > std::numeric_limits<uint32_t>::max()) return false;
            u64_[0] = u;
            return true;
          case kTimeoutMs:
          case kBackoffMs:
          case kDelayMs:
          case kLease:
          case kRetryInMs:
            if (!nonneg) return false;
            u64_[SlotOf(field_)] = u;
            return true;
          case kInfo_:
            info_ = is_i64 ? std::to_string(i) : std::to_string(u);
            return true;
          default:
            return false;
        }
      default:
        return false;
    }
  }

  // Where each unsigned payload field is kept (max_attempts uses 0).
  static int SlotOf(Field f) {
    switch (f) {
      case kTimeoutMs:
        return 1;
      case kBackoffMs:
      case kDelayMs:
      case kRetryInMs:
        return 2;
      case kLease:
        return 3;
      default:
        return 0;
    }
  }

  bool Bool(bool b) {
    if (depth_ == 0) return false;
    switch (Top()) {
      case kSkip:
        return true;
      case kInfo:
        InfoValueStart();
        info_ += b ? "true" : "false";
        return true;
      case kTop:
        if (field_ == kNext || field_ == kOther) return true;
        if (field_ == kData_) {
          tag_ = kForeign;
          return true;
        }
        return false;
      case kData:
        return tag_ == kForeign;
      case kPayload:
        if (field_ == kOther) return true;
        if (field_ == kDead) {
          dead_ = b;
          return true;
        }
        if (field_ == kInfo_) {
          info_ = b ? "true" : "false";
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  bool Null() {
    if (depth_ == 0) return false;
    switch (Top()) {
      case kSkip:
        return true;
      case kInfo:
        InfoValueStart();
        info_ += "null";
        return true;
      case kTop:
        switch (field_) {
          case kPrev:
          case kDeps_:
          case kNext:
          case kOther:
            return true;
          case kData_:
            tag_ = kForeign;
            return true;
          default:
            return false;
        }
      case kData:
        return tag_ == kForeign;
      case kPayload:
        switch (field_) {
          case kOther:
            return true;
          case kInfo_:
            info_ = "null";
            return true;
          // Optional members given as null read as absent.
          case kPriority:
          case kDelayMs:
          case kMaxAttempts:
          case kBackoffMs:
          case kLease:
          case kError:
          case kRetryInMs:
          case kDead:
            payload_seen_ &= ~Bit(field_);
            return true;
          case kTimeoutMs:
            if (tag_ == kCreate) return false;  // required there
            payload_seen_ &= ~Bit(field_);
            return true;
          default:
            return false;
        }
      default:
        return false;
    }
  }

  bool Has(uint32_t required) const { return (payload_seen_ & required) == required; }

  // Checks what the event must have and builds its op.
  bool Finish() {
    const uint32_t must = Bit(kId) | Bit(kOwner) | Bit(kWhen) | Bit(kData_);
    if ((seen_ & must) != must) return false;
    switch (tag_) {
      case kNoTag:  // "data" was an object with no members
      case kForeign:
        out_->op = ForeignData{};
        return true;
      case kCreate: {
        if (!Has(Bit(kName) | Bit(kTimeoutMs)) || !ValidateQueueName(queue_name_).ok()) {
          return false;
        }
        CreateOp op;
        op.name = std::move(queue_name_);
        op.timeout_ms = u64_[1];
        if (payload_seen_ & Bit(kMaxAttempts)) op.max_attempts = static_cast<uint32_t>(u64_[0]);
        if (payload_seen_ & Bit(kBackoffMs)) op.backoff_ms = u64_[2];
        out_->op = QueueOp(std::move(op));
        return true;
      }
      case kDelete:
        if (!ValidateQueueName(queue_name_).ok()) return false;
        out_->op = QueueOp(DeleteOp{std::move(queue_name_)});
        return true;
      case kAdd: {
        if (!Has(Bit(kQueueName) | Bit(kTaskName) | Bit(kInfo_)) ||
            !ValidateQueueName(queue_name_).ok()) {
          return false;
        }
        AddOp op;
        op.queue_name = std::move(queue_name_);
        op.task_name = std::move(task_name_);
        op.info_json = std::move(info_);
        if (payload_seen_ & Bit(kPriority)) op.priority = i64_;
        if (payload_seen_ & Bit(kDelayMs)) op.delay_ms = u64_[2];
        if (payload_seen_ & Bit(kMaxAttempts)) op.max_attempts = static_cast<uint32_t>(u64_[0]);
        if (payload_seen_ & Bit(kTimeoutMs)) op.timeout_ms = u64_[1];
        out_->op = QueueOp(std::move(op));
        return true;
      }
      case kProgress:
        return WorkerOp<ProgressOp>();
      case kDone:
        return WorkerOp<DoneOp>();
      case kFail:
        return WorkerOp<FailOp>();
      case kCancel: {
        if (!Has(Bit(kQueueName) | Bit(kTaskId)) || !ValidateQueueName(queue_name_).ok()) {
          return false;
        }
        out_->op = QueueOp(CancelOp{std::move(queue_name_), task_id_});
        return true;
      }
    }
    return false;
  }

  template <typename Op>
  bool WorkerOp() {
    if (!Has(Bit(kQueueName) | Bit(kTaskId) | Bit(kWorkerId)) ||
        !ValidateQueueName(queue_name_).ok()) {
      return false;
    }
    Op op;
    op.queue_name = std::move(queue_name_);
    op.id = task_id_;
    op.worker_id = worker_id_;
    if (payload_seen_ & Bit(kLease)) op.lease = u64_[3];
    if constexpr (std::is_same_v<Op, FailOp>) {
      if (payload_seen_ & Bit(kError)) op.error = std::move(error_);
      if (payload_seen_ & Bit(kRetryInMs)) op.retry_in_ms = u64_[2];
      if (payload_seen_ & Bit(kDead)) op.dead = dead_;
    }
    out_->op = QueueOp(std::move(op));
    return true;
  }

  struct InfoLevel {
    bool first;        // no member or element written yet
    bool object;       // an object (else an array)
    size_t first_key;  // where this object's keys start in info_keys_
  };

  static constexpr size_t kMaxDepth = 64;
  Event* out_ = nullptr;
  Ctx ctx_[kMaxDepth];
  size_t depth_ = 0;
  bool failed_ = false;
  uint32_t seen_ = 0;  // event members read
  uint32_t when_seen_ = 0;
  Field field_ = kNone;
  int data_keys_ = 0;
  Tag tag_ = kNoTag;
  uint32_t payload_seen_ = 0;   // payload members read with a non-null value
  uint32_t payload_keyed_ = 0;  // payload members present
  int when_index_ = 0;
  int time_items_ = 0;
  std::string str_;
  std::string key_;
  std::string info_;
  std::vector<std::string> info_keys_;
  std::vector<InfoLevel> info_levels_;
  std::string queue_name_;
  std::string task_name_;
  std::string error_;
  uint64_t u64_[4] = {0, 0, 0, 0};
  int64_t i64_ = 0;
  bool dead_ = false;
  Uuid task_id_;
  Uuid worker_id_;
};

// Runs the fast path; false if the tree must decide.
bool ParseEventFast(std::string_view raw, Event* event) {
  thread_local json::basic_parser<FastEventHandler> parser{json::parse_options()};
  parser.reset();
  parser.handler().Reset(event);
  boost::system::error_code ec;
  size_t n = parser.write_some(false, raw.data(), raw.size(), ec);
  return !ec && n == raw.size();
}

}  // namespace

Result<Event> ParseEvent(std::string raw) {
  Event event;
  if (ParseEventFast(raw, &event)) {
    event.raw = std::move(raw);
    return event;
  }
  return ParseEventWithTree(std::move(raw));
}

Result<Event> ParseEventWithTree(std::string raw) {
  boost::system::error_code ec;
  ReusedParser& parser = ThreadParser();
  json::monotonic_resource arena(parser.buffer(), ReusedParser::kBufferSize);
  json::value v = parser.Parse(raw, &arena, ec);
  if (ec) return Status::InvalidArgument("event is not valid JSON: " + ec.message());
  if (!v.is_object()) return Status::InvalidArgument("event must be a JSON object");
  const json::object& o = v.get_object();

  Event event;
  const json::value* id = o.if_contains("id");
  const json::value* owner = o.if_contains("owner");
  const json::value* when = o.if_contains("when");
  const json::value* data = o.if_contains("data");
  if (id == nullptr) return Status::InvalidArgument("event has no \"id\"");
  if (owner == nullptr) return Status::InvalidArgument("event has no \"owner\"");
  if (when == nullptr) return Status::InvalidArgument("event has no \"when\"");
  if (data == nullptr) return Status::InvalidArgument("event has no \"data\"");
  PIGTAIL_ASSIGN_OR_RETURN(event.id, json_fields::ToUuid(*id, "\"id\""));
  PIGTAIL_ASSIGN_OR_RETURN(event.owner, json_fields::ToUuid(*owner, "\"owner\""));
  PIGTAIL_ASSIGN_OR_RETURN(event.when, json_fields::ToHlc(*when, "\"when\""));
  if (const json::value* prev = o.if_contains("prev"); prev != nullptr && !prev->is_null()) {
    PIGTAIL_ASSIGN_OR_RETURN(event.prev, json_fields::ToUuid(*prev, "\"prev\""));
  }
  if (const json::value* deps = o.if_contains("dependencies");
      deps != nullptr && !deps->is_null()) {
    if (!deps->is_array()) return Status::InvalidArgument("\"dependencies\" must be an array");
    for (const json::value& d : deps->get_array()) {
      PIGTAIL_ASSIGN_OR_RETURN(Uuid dep, json_fields::ToUuid(d, "dependency"));
      event.dependencies.push_back(dep);
    }
  }
  event.op = ParseQueueOp(*data);
  event.raw = std::move(raw);
  return event;
}

namespace {

// The text of a new event as Potboiler writes it, with `data_text` as data.
std::string NewEventJson(const NewEvent& fields, std::string_view data_text) {
  std::string raw;
  raw.reserve(160 + data_text.size() + 40 * fields.dependencies.size());
  raw += "{\"id\":\"";
  raw += fields.id.ToString();
  raw += "\",\"owner\":\"";
  raw += fields.owner.ToString();
  raw += "\",\"prev\":";
  if (fields.prev) {
    raw += '"';
    raw += fields.prev->ToString();
    raw += '"';
  } else {
    raw += "null";
  }
  raw += ",\"next\":null,\"when\":";
  raw += fields.when.ToJson();
  raw += ",\"data\":";
  raw += data_text;
  if (!fields.dependencies.empty()) {
    raw += ",\"dependencies\":[";
    for (size_t i = 0; i < fields.dependencies.size(); ++i) {
      if (i > 0) raw += ',';
      raw += '"';
      raw += fields.dependencies[i].ToString();
      raw += '"';
    }
    raw += ']';
  }
  raw += '}';
  return raw;
}

}  // namespace

Result<Event> MakeEvent(const NewEvent& fields) {
  std::string data_text;
  {
    // The tree lives in the thread's arena, so it must be gone before
    // ParseEvent below reuses it.
    boost::system::error_code ec;
    ReusedParser& parser = ThreadParser();
    json::monotonic_resource arena(parser.buffer(), ReusedParser::kBufferSize);
    json::value data = parser.Parse(fields.data_json, &arena, ec);
    if (ec) return Status::InvalidArgument("data is not valid JSON: " + ec.message());
    data_text = json::serialize(data);
  }
  return ParseEvent(NewEventJson(fields, data_text));
}

Event MakeOpEvent(const Uuid& id, const Uuid& owner, const std::optional<Uuid>& prev,
                  const Hlc& when, QueueOp op) {
  NewEvent fields{id, owner, prev, when, SerializeQueueOp(op), {}};
  Event e;
  e.raw = NewEventJson(fields, fields.data_json);
  e.id = id;
  e.owner = owner;
  e.prev = prev;
  e.when = when;
  e.op = std::move(op);
  return e;
}

std::string EventJsonWithNext(const Event& event, const std::optional<Uuid>& next) {
  return SpliceTopLevelMember(event.raw, "next",
                              next ? "\"" + next->ToString() + "\"" : std::string("null"));
}

}  // namespace pigtail

#include "core/codec.h"

#include <optional>
#include <utility>

namespace pigtail {
namespace {

constexpr char kQueueTag = 'Q';
constexpr char kTaskTag = 'T';
constexpr char kRejectedTag = 'R';

// The optional fields at the end of a task record, in this order.
constexpr uint8_t kRunAtExtension = 1;     // add's run_at_ms
constexpr uint8_t kResultExtension = 2;    // the Done's result
constexpr uint8_t kProgressExtension = 3;  // the progress register
constexpr uint8_t kFailuresExtension = 4;  // the failed attempts

// Appends an encoding to `*out` (which it does not clear).
class Writer {
 public:
  Writer(char tag, std::string* out) : out_(out) { out_->push_back(tag); }
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { BigEndian(v); }
  void U64(uint64_t v) { BigEndian(v); }
  void I64(int64_t v) { BigEndian(static_cast<uint64_t>(v)); }
  void Bytes(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }
  void Id(const Uuid& u) { out_->append(u.Bytes()); }
  void Time(const Hlc& h) { h.AppendEncoded(out_); }
  void Attempt(const AttemptStamp& a) {
    U32(a.round);
    U64(a.lease);
    Time(a.hlc);
    Id(a.event_id);
  }
  template <typename T>
  void Opt(const std::optional<T>& v) {
    U8(v ? 1 : 0);
    if (v) BigEndian(*v);
  }

 private:
  template <typename T>
  void BigEndian(T v) {
    char bytes[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) {
      bytes[i] = static_cast<char>((v >> (8 * (sizeof(T) - 1 - i))) & 0xff);
    }
    out_->append(bytes, sizeof(T));
  }
  std::string* out_;
};

// Reads what Writer wrote; any overrun marks the reader failed.
class Reader {
 public:
  Reader(std::string_view in, char tag) : in_(in) {
    if (in_.empty() || in_[0] != tag) failed_ = true;
    pos_ = 1;
  }
  uint8_t U8() { return static_cast<uint8_t>(BigEndian<uint8_t>()); }
  uint32_t U32() { return BigEndian<uint32_t>(); }
  uint64_t U64() { return BigEndian<uint64_t>(); }
  int64_t I64() { return static_cast<int64_t>(BigEndian<uint64_t>()); }
  std::string Bytes() {
    uint32_t n = U32();
    std::string_view s = Take(n);
    return std::string(s);
  }
  Uuid Id() {
    Result<Uuid> u = Uuid::FromBytes(Take(Uuid::kSize));
    return u.ok() ? *u : Uuid();
  }
  Hlc Time() {
    Result<Hlc> h = Hlc::Decode(Take(Hlc::kEncodedSize));
    return h.ok() ? *h : Hlc();
  }
  AttemptStamp Attempt() {
    AttemptStamp a;
    a.round = U32();
    a.lease = U64();
    a.hlc = Time();
    a.event_id = Id();
    return a;
  }
  template <typename T>
  std::optional<T> Opt() {
    if (U8() == 0) return std::nullopt;
    return BigEndian<T>();
  }
  bool AtEnd() const { return failed_ || pos_ == in_.size(); }
  Status Finish(std::string_view what) const {
    if (failed_ || pos_ != in_.size())
      return Status::Corruption("cannot decode " + std::string(what));
    return Status::Ok();
  }

 private:
  std::string_view Take(size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return std::string_view(zeros_, n <= sizeof(zeros_) ? n : 0);
    }
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  template <typename T>
  T BigEndian() {
    std::string_view s = Take(sizeof(T));
    T v = 0;
    for (char c : s) v = static_cast<T>((static_cast<uint64_t>(v) << 8) | static_cast<uint8_t>(c));
    return v;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
  char zeros_[16] = {};
};

// Reads the extensions that follow a task record's round (see
// AppendTaskRecord) into *t.
Status DecodeExtensions(Reader* r, TaskRecord* t) {
  const auto corrupt = [](std::string_view why) {
    return Status::Corruption("task record " + std::string(why));
  };
  if (r->AtEnd() && t->status.key.round == 0) return corrupt("has an explicit round 0");
  TaskHistory history;
  uint8_t last = 0;
  while (!r->AtEnd()) {
    const uint8_t tag = r->U8();
    if (tag <= last || tag > kFailuresExtension) return corrupt("has an unknown or repeated field");
    last = tag;
    switch (tag) {
      case kRunAtExtension:
        if (!t->add) return corrupt("has run_at_ms without an Add");
        t->add->run_at_ms = r->U64();
        if (t->add->run_at_ms == 0) return corrupt("has an explicit run_at_ms 0");
        break;
      case kResultExtension:
        history.result_json = r->Bytes();
        if (history.result_json.empty()) return corrupt("has an empty result");
        break;
      case kProgressExtension: {
        TaskProgress p;
        p.stamp = r->Attempt();
        p.json = r->Bytes();
        if (p.json.empty()) return corrupt("has an empty progress");
        history.progress = std::move(p);
        break;
      }
      case kFailuresExtension: {
        const uint8_t n = r->U8();
        if (n == 0 || n > kMaxFailures) return corrupt("has a bad failure count");
        for (uint8_t i = 0; i < n; ++i) {
          FailedAttempt f;
          f.stamp = r->Attempt();
          f.worker = r->Id();
          f.error = r->Bytes();
          if (!history.failures.empty() && std::pair(f.stamp.round, f.stamp.lease) <=
                                               std::pair(history.failures.back().stamp.round,
                                                         history.failures.back().stamp.lease)) {
            return corrupt("has failures out of order");
          }
          history.failures.push_back(std::move(f));
        }
        break;
      }
    }
  }
  if (!history.empty()) t->history = std::make_shared<const TaskHistory>(std::move(history));
  return Status::Ok();
}

}  // namespace

std::string EncodeQueueRecord(const QueueRecord& q) {
  std::string out;
  Writer w(kQueueTag, &out);
  w.Bytes(q.name);
  w.Time(q.last.hlc);
  w.Id(q.last.event_id);
  w.U8(q.alive ? 1 : 0);
  w.U64(q.timeout_ms);
  w.Opt(q.max_attempts);
  w.Opt(q.backoff_ms);
  w.U8(q.last_delete ? 1 : 0);
  if (q.last_delete) {
    w.Time(q.last_delete->hlc);
    w.Id(q.last_delete->event_id);
  }
  // Last, and only once a Pause was applied, so a record without one
  // encodes as it did before pausing existed.
  if (q.last_pause) {
    w.Time(q.last_pause->hlc);
    w.Id(q.last_pause->event_id);
    w.U8(q.paused ? 1 : 0);
  }
  return out;
}

Result<QueueRecord> DecodeQueueRecord(std::string_view bytes) {
  Reader r(bytes, kQueueTag);
  QueueRecord q;
  q.name = r.Bytes();
  q.last.hlc = r.Time();
  q.last.event_id = r.Id();
  q.alive = r.U8() != 0;
  q.timeout_ms = r.U64();
  q.max_attempts = r.Opt<uint32_t>();
  q.backoff_ms = r.Opt<uint64_t>();
  if (r.U8() != 0) {
    Stamp d;
    d.hlc = r.Time();
    d.event_id = r.Id();
    q.last_delete = d;
  }
  if (!r.AtEnd()) {
    Stamp p;
    p.hlc = r.Time();
    p.event_id = r.Id();
    q.last_pause = p;
    q.paused = r.U8() != 0;
  }
  PIGTAIL_RETURN_IF_ERROR(r.Finish("queue record"));
  return q;
}

std::string EncodeTaskRecord(const TaskRecord& t) {
  std::string out;
  AppendTaskRecord(t, &out);
  return out;
}

void AppendTaskRecord(const TaskRecord& t, std::string* out) {
  Writer w(kTaskTag, out);
  w.Bytes(t.queue);
  w.Id(t.id);
  w.U8(t.add ? 1 : 0);
  if (t.add) {
    w.Time(t.add->hlc);
    w.Bytes(t.add->task_name);
    w.Bytes(t.add->info_json);
    w.I64(t.add->priority);
    w.U64(t.add->delay_ms);
    w.Opt(t.add->max_attempts);
    w.Opt(t.add->timeout_ms);
  }
  const TaskStatus& s = t.status;
  w.U8(static_cast<uint8_t>(s.key.outcome));
  w.U64(s.key.lease);
  w.U8(static_cast<uint8_t>(s.key.phase));
  w.Time(s.key.hlc);
  w.Id(s.key.event_id);
  w.Id(s.worker);
  w.Bytes(s.error);
  w.U64(s.retry_in_ms);
  // The round, then the extensions, each only when set, so a record of
  // round 0 without them (every record before they existed) encodes as it
  // always did. The round is written when it is not 0 or an extension
  // follows.
  const bool run_at = t.add && t.add->run_at_ms;
  const TaskHistory& h = History(t);
  const bool extended = run_at || !h.empty();
  if (s.key.round == 0 && !extended) return;
  w.U32(s.key.round);
  if (run_at) {
    w.U8(kRunAtExtension);
    w.U64(t.add->run_at_ms);
  }
  if (!h.result_json.empty()) {
    w.U8(kResultExtension);
    w.Bytes(h.result_json);
  }
  if (h.progress) {
    w.U8(kProgressExtension);
    w.Attempt(h.progress->stamp);
    w.Bytes(h.progress->json);
  }
  if (!h.failures.empty()) {
    w.U8(kFailuresExtension);
    w.U8(static_cast<uint8_t>(h.failures.size()));
    for (const FailedAttempt& f : h.failures) {
      w.Attempt(f.stamp);
      w.Id(f.worker);
      w.Bytes(f.error);
    }
  }
}

Result<TaskRecord> DecodeTaskRecord(std::string_view bytes) {
  Reader r(bytes, kTaskTag);
  TaskRecord t;
  t.queue = r.Bytes();
  t.id = r.Id();
  if (r.U8() != 0) {
    TaskAdd a;
    a.hlc = r.Time();
    a.task_name = r.Bytes();
    a.info_json = r.Bytes();
    a.priority = r.I64();
    a.delay_ms = r.U64();
    a.max_attempts = r.Opt<uint32_t>();
    a.timeout_ms = r.Opt<uint64_t>();
    t.add = std::move(a);
  }
  TaskStatus& s = t.status;
  uint8_t outcome = r.U8();
  s.key.lease = r.U64();
  uint8_t phase = r.U8();
  s.key.hlc = r.Time();
  s.key.event_id = r.Id();
  s.worker = r.Id();
  s.error = r.Bytes();
  s.retry_in_ms = r.U64();
  if (!r.AtEnd()) {
    s.key.round = r.U32();
    PIGTAIL_RETURN_IF_ERROR(DecodeExtensions(&r, &t));
  }
  PIGTAIL_RETURN_IF_ERROR(r.Finish("task record"));
  if (outcome > static_cast<uint8_t>(Outcome::kPurged) || phase > 1) {
    return Status::Corruption("task record has an unknown outcome or phase");
  }
  s.key.outcome = static_cast<Outcome>(outcome);
  s.key.phase = static_cast<Phase>(phase);
  return t;
}

std::string EncodeRejected(const Uuid& event_id, std::string_view reason) {
  std::string out;
  Writer w(kRejectedTag, &out);
  w.Id(event_id);
  w.Bytes(reason);
  return out;
}

}  // namespace pigtail

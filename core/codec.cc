#include "core/codec.h"

#include <optional>

namespace pigtail {
namespace {

constexpr char kQueueTag = 'Q';
constexpr char kTaskTag = 'T';
constexpr char kRejectedTag = 'R';

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
  // Last, and only when a Retry started a later round, so a record of round
  // 0 (every record before retries existed) encodes as it always did.
  if (s.key.round != 0) w.U32(s.key.round);
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
    if (s.key.round == 0) return Status::Corruption("task record has an explicit round 0");
  }
  PIGTAIL_RETURN_IF_ERROR(r.Finish("task record"));
  if (outcome > static_cast<uint8_t>(Outcome::kDone) || phase > 1) {
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

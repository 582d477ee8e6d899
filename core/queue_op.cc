#include "core/queue_op.h"

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cstring>
#include <type_traits>
#include <utility>

#include "core/event_parser.h"
#include "core/json_fields.h"
#include "core/op_grammar.h"

namespace pigtail {
namespace json = boost::json;
namespace g = op_grammar;

namespace {

// Field values, written as json::serialize writes them.
void AppendValue(const std::string& v, g::Text text, std::string* out) {
  if (text != g::Text::kJson) {
    json_fields::AppendJsonString(v, out);
    return;
  }
  boost::system::error_code ec;
  *out += json::serialize(json::parse(v, ec));  // null if it is not JSON
}
template <typename T>
requires std::is_integral_v<T> &&
    (!std::is_same_v<T, bool>)void AppendValue(T v, g::Text, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}
void AppendValue(bool v, g::Text, std::string* out) { *out += v ? "true" : "false"; }
void AppendValue(const Uuid& v, g::Text, std::string* out) {
  *out += '"';
  v.AppendTo(out);
  *out += '"';
}
template <typename T>
void AppendValue(const std::optional<T>& v, g::Text text, std::string* out) {
  AppendValue(*v, text, out);
}

template <typename T>
bool IsDefault(const T& v) {
  return v == T{};
}

// Appends an op's text to *out: its fields in grammar order, the optional
// ones only when they differ from their defaults.
template <typename Op>
void AppendOp(const Op& op, std::string* out) {
  using G = g::Grammar<Op>;
  *out += "{\"";
  *out += G::kTag;
  *out += "\":";
  if constexpr (G::kBare) {
    g::ForEachField<Op>([&](const auto& f) { AppendValue(op.*f.member, f.text, out); });
  } else {
    *out += '{';
    bool first = true;
    g::ForEachField<Op>([&](const auto& f) {
      const auto& v = op.*f.member;
      if (f.presence == g::Presence::kOptional && IsDefault(v)) return;
      if (!first) *out += ',';
      first = false;
      *out += '"';
      *out += f.name;
      *out += "\":";
      AppendValue(v, f.text, out);
    });
    *out += '}';
  }
  *out += '}';
}

void AppendOp(const BatchOp& batch, std::string* out) {
  out->reserve(out->size() + 16 + 120 * (batch.ops.size() + batch.adds.size()));
  *out += "{\"";
  *out += g::Grammar<BatchOp>::kTag;
  *out += "\":[";
  for (size_t i = 0; i < batch.adds.size(); ++i) {
    if (i > 0) *out += ',';
    AppendOp(batch.adds[i], out);
  }
  for (size_t i = 0; i < batch.ops.size(); ++i) {
    if (i > 0 || !batch.adds.empty()) *out += ',';
    std::visit([out](const auto& op) { AppendOp(op, out); }, batch.ops[i]);
  }
  *out += "]}";
}

}  // namespace

OpParse ParseQueueOp(const json::value& data) { return ParseOpText(json::serialize(data)); }

OpParse ParseQueueOpText(std::string_view json_text) { return ParseOpText(json_text); }

std::string SerializeQueueOp(const QueueOp& op) {
  std::string out;
  out.reserve(160);
  std::visit([&out](const auto& o) { AppendOp(o, &out); }, op);
  return out;
}

Uuid BatchTaskId(const Uuid& entry, size_t k) {
  std::array<uint8_t, Uuid::kSize> bytes;
  std::memcpy(bytes.data(), entry.Bytes().data(), Uuid::kSize);
  uint64_t low = 0;
  for (size_t i = 8; i < Uuid::kSize; ++i) low = (low << 8) | bytes[i];
  constexpr uint64_t kLow62 = (uint64_t{1} << 62) - 1;
  low = (low & ~kLow62) | ((low + k) & kLow62);
  for (size_t i = Uuid::kSize; i-- > 8;) {
    bytes[i] = static_cast<uint8_t>(low);
    low >>= 8;
  }
  return Uuid(bytes);
}

void AppendAddedTaskIds(const QueueOp& op, const Uuid& entry, std::vector<Uuid>* ids) {
  if (std::holds_alternative<AddOp>(op)) {
    ids->push_back(entry);
  } else if (const auto* batch = std::get_if<BatchOp>(&op)) {
    for (size_t k = 0; k < batch->adds.size(); ++k) ids->push_back(BatchTaskId(entry, k));
  }
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

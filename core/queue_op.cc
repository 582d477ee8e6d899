#include "core/queue_op.h"

#include <boost/json.hpp>
#include <charconv>
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
  out->reserve(out->size() + 16 + 120 * batch.ops.size());
  *out += "{\"";
  *out += g::Grammar<BatchOp>::kTag;
  *out += "\":[";
  for (size_t i = 0; i < batch.ops.size(); ++i) {
    if (i > 0) *out += ',';
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

#include "backends/postgres_values.h"

#include <pqxx/pqxx>

#include "core/json_fields.h"

namespace pigtail {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(std::string* out, std::string_view bytes) {
  out->reserve(out->size() + 2 * bytes.size());
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out->push_back(kHex[b >> 4]);
    out->push_back(kHex[b & 0xf]);
  }
}

}  // namespace

std::string DisplayText(std::string_view s) {
  std::string valid = json_fields::ValidUtf8(std::string(s));
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\0') {
      out += "\xef\xbf\xbd";  // U+FFFD
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void PgArrayBuilder::Separate() {
  if (count_++ > 0) text_.push_back(',');
}

void PgArrayBuilder::AddBytea(std::string_view bytes) {
  Separate();
  // Inside an array literal the element is double-quoted and its backslash
  // doubled: "\\x0a1b".
  text_.append("\"\\\\x", 4);
  AppendHex(&text_, bytes);
  text_.push_back('"');
}

void PgArrayBuilder::AddUuid(const Uuid& id) {
  Separate();
  text_ += id.ToString();
}

void PgArrayBuilder::AddUuidOrNull(const std::optional<Uuid>& id) {
  Separate();
  text_ += id ? id->ToString() : std::string("NULL");
}

void PgArrayBuilder::AddInt(int64_t v) {
  Separate();
  text_ += std::to_string(v);
}

void PgArrayBuilder::AddHexText(std::string_view hex) {
  Separate();
  text_ += hex;
}

void PgArrayBuilder::AddNull() {
  Separate();
  text_ += "NULL";
}

std::string PgArrayBuilder::Take() {
  std::string out = std::move(text_);
  out.push_back('}');
  text_.assign(1, '{');
  count_ = 0;
  return out;
}

std::string ByteaHexLiteral(std::string_view bytes) {
  std::string out;
  out.reserve(2 + 2 * bytes.size());
  out.append("\\x", 2);
  AppendHex(&out, bytes);
  return out;
}

std::string ByteaField(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

Result<Uuid> UuidField(const pqxx::field& f) {
  Result<Uuid> id = Uuid::Parse(std::string_view(f.c_str(), f.size()));
  if (!id.ok()) return Status::Corruption("stored uuid does not parse: " + id.status().message());
  return id;
}

Result<uint64_t> U64Field(const pqxx::field& f) {
  const int64_t v = f.as<int64_t>();
  if (v < 0) return Status::Corruption("stored counter is negative");
  return static_cast<uint64_t>(v);
}

}  // namespace pigtail

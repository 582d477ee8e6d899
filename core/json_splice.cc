#include "core/json_splice.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <vector>

namespace pigtail {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

// REQUIRES: text[pos] == '"'. Returns the offset just past the closing quote.
size_t SkipString(std::string_view text, size_t pos) {
  for (++pos; pos < text.size(); ++pos) {
    if (text[pos] == '\\') {
      ++pos;
    } else if (text[pos] == '"') {
      return pos + 1;
    }
  }
  return text.size();
}

// Skips one value starting at `pos` (no leading space); returns the offset
// just past it.
size_t SkipValue(std::string_view text, size_t pos) {
  if (pos >= text.size()) return pos;
  if (text[pos] == '"') return SkipString(text, pos);
  if (text[pos] == '{' || text[pos] == '[') {
    int depth = 0;
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '"') {
        pos = SkipString(text, pos);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return pos + 1;
      }
      ++pos;
    }
    return pos;
  }
  // A number or a literal: up to the next delimiter.
  while (pos < text.size() && text[pos] != ',' && text[pos] != '}' && text[pos] != ']' &&
         !IsSpace(text[pos])) {
    ++pos;
  }
  return pos;
}

// The key a quoted token names, unescaped.
bool KeyEquals(std::string_view token, std::string_view key) {
  std::string_view inner = token.substr(1, token.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == key;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(token, ec);
  return !ec && v.is_string() && v.get_string() == key;
}

struct Span {
  size_t begin, end;
};

// The value spans of the top-level members named `key`, in text order;
// *close is the offset of the object's closing brace (npos if none).
std::vector<Span> MemberValues(std::string_view object_text, std::string_view key, size_t* close) {
  std::vector<Span> values;
  *close = std::string_view::npos;
  size_t pos = SkipSpace(object_text, 0) + 1;  // past '{'
  while (pos < object_text.size()) {
    pos = SkipSpace(object_text, pos);
    if (pos >= object_text.size()) break;
    if (object_text[pos] == '}') {
      *close = pos;
      break;
    }
    if (object_text[pos] == ',') {
      ++pos;
      continue;
    }
    size_t key_end = SkipString(object_text, pos);
    bool match = KeyEquals(object_text.substr(pos, key_end - pos), key);
    pos = SkipSpace(object_text, key_end) + 1;  // past ':'
    size_t value_begin = SkipSpace(object_text, pos);
    pos = SkipValue(object_text, value_begin);
    if (match) values.push_back(Span{value_begin, pos});
  }
  return values;
}

}  // namespace

std::optional<std::string_view> TopLevelMemberValue(std::string_view object_text,
                                                    std::string_view key) {
  size_t close;
  std::vector<Span> values = MemberValues(object_text, key, &close);
  if (values.empty()) return std::nullopt;
  return object_text.substr(values.back().begin, values.back().end - values.back().begin);
}

std::string SpliceTopLevelMember(std::string_view object_text, std::string_view key,
                                 std::string_view value_json) {
  size_t close;
  std::vector<Span> values = MemberValues(object_text, key, &close);
  std::string out;
  out.reserve(object_text.size() + key.size() + value_json.size() + 4);
  if (values.empty()) {
    if (close == std::string_view::npos) return std::string(object_text);  // not an object
    // An empty object takes no comma.
    size_t before = close;
    while (before > 0 && IsSpace(object_text[before - 1])) --before;
    bool empty = before > 0 && object_text[before - 1] == '{';
    out.append(object_text.substr(0, close));
    out.append(empty ? "\"" : ",\"").append(key).append("\":").append(value_json);
    out.append(object_text.substr(close));
    return out;
  }
  size_t from = 0;
  for (const Span& span : values) {
    out.append(object_text.substr(from, span.begin - from));
    out.append(value_json);
    from = span.end;
  }
  out.append(object_text.substr(from));
  return out;
}

}  // namespace pigtail

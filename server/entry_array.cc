#include "server/entry_array.h"

#include <charconv>
#include <string>

namespace pigtail {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

// The end (one past the closing brace) of the object starting at `pos`, or
// npos when it does not close, or a bracket closes what it did not open.
size_t ObjectEnd(std::string_view text, size_t pos) {
  std::string open;  // the closers expected, innermost last
  bool in_string = false;
  for (size_t i = pos; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      open.push_back(c == '{' ? '}' : ']');
    } else if (c == '}' || c == ']') {
      if (open.empty() || open.back() != c) return std::string_view::npos;
      open.pop_back();
      if (open.empty()) return i + 1;
    }
  }
  return std::string_view::npos;
}

template <typename T, typename Raw>
std::string Encode(std::span<const T> items, Raw raw) {
  size_t size = 2;
  for (const T& item : items) size += raw(item).size() + 1;
  std::string out;
  out.reserve(size);
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += raw(items[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace

std::string EncodeEntryArray(std::span<const RawRecord> records) {
  return Encode(records, [](const RawRecord& r) -> const std::string& { return r.bytes; });
}

std::string EncodeEntryArray(std::span<const Event> events) {
  return Encode(events, [](const Event& e) -> const std::string& { return e.raw; });
}

size_t EntriesWithin(const std::vector<RawRecord>& records, size_t from, size_t max_bytes) {
  size_t bytes = 2;  // "[" and "]"
  size_t n = 0;
  for (size_t i = from; i < records.size(); ++i, ++n) {
    bytes += records[i].bytes.size() + (n > 0 ? 1 : 0);
    if (n > 0 && bytes > max_bytes) break;
  }
  return n;
}

Result<std::vector<std::string_view>> SplitJsonObjectArray(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = SkipSpace(text, 0);
  if (pos >= text.size() || text[pos] != '[') {
    return Status::InvalidArgument("expected a JSON array of entries");
  }
  pos = SkipSpace(text, pos + 1);
  if (pos < text.size() && text[pos] == ']') {
    pos = SkipSpace(text, pos + 1);
    if (pos != text.size()) return Status::InvalidArgument("bytes after the array");
    return out;
  }
  for (;;) {
    if (pos >= text.size() || text[pos] != '{') {
      return Status::InvalidArgument("element " + std::to_string(out.size()) +
                                     " is not a JSON object");
    }
    size_t end = ObjectEnd(text, pos);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("element " + std::to_string(out.size()) + " does not close");
    }
    out.push_back(text.substr(pos, end - pos));
    pos = SkipSpace(text, end);
    if (pos < text.size() && text[pos] == ',') {
      pos = SkipSpace(text, pos + 1);
      continue;
    }
    if (pos < text.size() && text[pos] == ']') {
      pos = SkipSpace(text, pos + 1);
      if (pos != text.size()) return Status::InvalidArgument("bytes after the array");
      return out;
    }
    return Status::InvalidArgument("expected ',' or ']' after element " +
                                   std::to_string(out.size() - 1));
  }
}

Result<std::vector<Event>> ParseEntryArray(std::string_view text) {
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<std::string_view> parts, SplitJsonObjectArray(text));
  std::vector<Event> events;
  events.reserve(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    Result<Event> e = ParseEvent(std::string(parts[i]));
    if (!e.ok()) {
      return Status::InvalidArgument("entry " + std::to_string(i) + ": " + e.status().message());
    }
    events.push_back(std::move(e).value());
  }
  return events;
}

std::string HlcQueryText(const Hlc& hlc) {
  return std::to_string(hlc.epoch) + "." + std::to_string(hlc.time) + "." +
         std::to_string(hlc.count);
}

Result<Hlc> ParseHlcQueryText(std::string_view text) {
  Hlc out;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  auto number = [&](auto* value, bool last) {
    auto [next, ec] = std::from_chars(p, end, *value);
    if (ec != std::errc() || next == p) return false;
    p = next;
    if (last) return p == end;
    if (p == end || *p != '.') return false;
    ++p;
    return true;
  };
  if (!number(&out.epoch, false) || !number(&out.time, false) || !number(&out.count, true)) {
    return Status::InvalidArgument("not a timestamp E.T.C: \"" + std::string(text) + "\"");
  }
  return out;
}

}  // namespace pigtail

#include "core/redact.h"

#include <cctype>
#include <cstddef>

namespace pigtail {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A character that cannot be part of a URI as it is written in text.
bool EndsUri(char c) { return IsSpace(c) || c == '"' || c == '\'' || c == '<' || c == '>'; }

bool IsSchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
}

// Masks the password in the userinfo of every "scheme://user:pw@..." in `text`.
std::string RedactUserinfo(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t done = 0;  // text[0, done) is in out
  size_t search = 0;
  for (;;) {
    size_t sep = text.find("://", search);
    if (sep == std::string_view::npos) break;
    search = sep + 3;
    if (sep == 0 || !IsSchemeChar(text[sep - 1])) continue;
    const size_t start = sep + 3;
    size_t end = start;
    while (end < text.size() && !EndsUri(text[end])) ++end;
    const std::string_view token = text.substr(start, end - start);
    const size_t at = token.rfind('@');
    if (at == std::string_view::npos) continue;
    const size_t colon = token.find(':');
    if (colon == std::string_view::npos || colon > at) continue;
    const size_t from = start + colon + 1;
    const size_t to = start + at;
    if (from < to) {
      out.append(text.substr(done, from - done));
      out.append(kRedacted);
      done = to;
    }
    search = to;
  }
  out.append(text.substr(done));
  return out;
}

bool MatchesIgnoringCase(std::string_view text, size_t pos, std::string_view word) {
  if (pos > text.size() || text.size() - pos < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  }
  return true;
}

// Masks the values of password= and sslpassword=, as URI query parameters
// (after '?' or '&') and as libpq conninfo keywords.
std::string RedactKeyValues(std::string_view text) {
  static constexpr std::string_view kKey = "password";
  std::string out;
  out.reserve(text.size());
  size_t done = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!MatchesIgnoringCase(text, pos, kKey)) {
      ++pos;
      continue;
    }
    size_t key_start = pos;
    if (pos >= 3 && MatchesIgnoringCase(text, pos - 3, "ssl")) key_start = pos - 3;
    const char before = key_start == 0 ? ' ' : text[key_start - 1];
    const bool query = before == '?' || before == '&';
    const bool conninfo = IsSpace(before) || before == '"' || before == '\'' || before == '(' ||
                          before == ',' || before == ';' || before == '{' || before == '[';
    size_t p = pos + kKey.size();
    pos = p;
    if (!query && !conninfo) continue;
    if (!query) {
      while (p < text.size() && IsSpace(text[p])) ++p;
    }
    if (p >= text.size() || text[p] != '=') continue;
    ++p;
    size_t value_start = p;
    size_t value_end = p;
    if (query) {
      while (value_end < text.size() && text[value_end] != '&' && text[value_end] != '#' &&
             !EndsUri(text[value_end])) {
        ++value_end;
      }
    } else {
      // libpq skips whitespace after '=', then reads a quoted value (with
      // backslash escapes) or a run of non-whitespace (with escapes too).
      while (value_start < text.size() && IsSpace(text[value_start])) ++value_start;
      value_end = value_start;
      if (value_end < text.size() && text[value_end] == '\'') {
        ++value_end;
        while (value_end < text.size() && text[value_end] != '\'') {
          value_end += text[value_end] == '\\' ? 2 : 1;
        }
        value_end = value_end < text.size() ? value_end + 1 : text.size();
        // libpq refuses bytes glued to the closing quote; mask them too, so
        // that masking twice changes nothing more.
        while (value_end < text.size() && !IsSpace(text[value_end])) ++value_end;
      } else {
        while (value_end < text.size() && !IsSpace(text[value_end])) {
          value_end += text[value_end] == '\\' ? 2 : 1;
        }
        if (value_end > text.size()) value_end = text.size();
      }
    }
    if (value_end > value_start) {
      out.append(text.substr(done, value_start - done));
      out.append(kRedacted);
      done = value_end;
    }
    pos = value_end;
  }
  out.append(text.substr(done));
  return out;
}

}  // namespace

std::string RedactSecrets(std::string_view text) { return RedactKeyValues(RedactUserinfo(text)); }

}  // namespace pigtail

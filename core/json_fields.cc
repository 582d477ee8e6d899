#include "core/json_fields.h"

#include <boost/json.hpp>

namespace pigtail::json_fields {
namespace json = boost::json;

namespace {
using Kind = JsonScalar::Kind;
}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') {
      *out += json::serialize(json::string_view(s.data(), s.size()));
      return;
    }
  }
  *out += '"';
  *out += s;
  *out += '"';
}

std::string What::Text() const {
  std::string out(prefix);
  if (quoted) out += '"';
  out += name;
  if (quoted) out += '"';
  return out;
}

JsonScalar ScalarOf(const json::value& v) {
  JsonScalar s;
  switch (v.kind()) {
    case json::kind::null:
      s.kind = Kind::kNull;
      break;
    case json::kind::bool_:
      s.kind = Kind::kBool;
      s.b = v.get_bool();
      break;
    case json::kind::int64:
      s.kind = Kind::kInt64;
      s.i = v.get_int64();
      break;
    case json::kind::uint64:
      s.kind = Kind::kUint64;
      s.u = v.get_uint64();
      break;
    case json::kind::double_:
      s.kind = Kind::kDouble;
      s.d = v.get_double();
      break;
    case json::kind::string:
      s.kind = Kind::kString;
      s.s = std::string_view(v.get_string().data(), v.get_string().size());
      break;
    case json::kind::array:
      s.kind = Kind::kArray;
      break;
    case json::kind::object:
      s.kind = Kind::kObject;
      break;
  }
  return s;
}

Status MustBe(const What& what, std::string_view want) {
  return Status::InvalidArgument(what.Text() + " must be " + std::string(want));
}

Status BadUuid(const Status& error, const What& what) { return error.WithContext(what.Text()); }

HlcParts HlcPartsOf(const json::value& v) {
  HlcParts parts;
  if (v.is_array()) {
    const json::array& a = v.get_array();
    parts.form = HlcParts::Form::kArray;
    parts.items = a.size();
    if (a.size() > 0) parts.epoch = ScalarOf(a[0]);
    if (a.size() > 1) {
      if (a[1].is_array()) {
        parts.time_nested = true;
        parts.time_items = a[1].get_array().size();
        if (parts.time_items > 0) parts.time = ScalarOf(a[1].get_array()[0]);
      } else {
        parts.time = ScalarOf(a[1]);
      }
    }
    if (a.size() > 2) parts.count = ScalarOf(a[2]);
  } else if (v.is_object()) {
    const json::object& o = v.get_object();
    parts.form = HlcParts::Form::kObject;
    parts.items = o.size();
    if (const json::value* e = o.if_contains("epoch")) parts.epoch = ScalarOf(*e);
    if (const json::value* t = o.if_contains("time")) parts.time = ScalarOf(*t);
    if (const json::value* c = o.if_contains("count")) parts.count = ScalarOf(*c);
  }
  return parts;
}

Status Read(const HlcParts& parts, const What& what, Hlc* out) {
  switch (parts.form) {
    case HlcParts::Form::kArray:
      if (parts.items != 3) return MustBe(what, "[epoch,[time],count] or [epoch,time,count]");
      if (parts.time_nested && parts.time_items != 1) {
        return MustBe(what, "[epoch,[time],count]");
      }
      break;
    case HlcParts::Form::kObject:
      if (parts.epoch.kind == Kind::kAbsent || parts.time.kind == Kind::kAbsent ||
          parts.count.kind == Kind::kAbsent || parts.items != 3) {
        return MustBe(what, "{\"epoch\":E,\"time\":T,\"count\":C}");
      }
      break;
    case HlcParts::Form::kOther:
      return MustBe(what, "an HLC timestamp ([E,[T],C], [E,T,C] or an object)");
  }
  PIGTAIL_RETURN_IF_ERROR(Read(parts.epoch, what.Of("epoch of "), &out->epoch));
  PIGTAIL_RETURN_IF_ERROR(Read(parts.time, what.Of("time of "), &out->time));
  PIGTAIL_RETURN_IF_ERROR(Read(parts.count, what.Of("count of "), &out->count));
  return Status::Ok();
}

std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  // Back off continuation bytes (10xxxxxx) to the start of their sequence,
  // which is then cut off too.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && len > 1 && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

Result<uint64_t> ToU64(const json::value& v, std::string_view what) {
  return To<uint64_t>(ScalarOf(v), what);
}
Result<uint32_t> ToU32(const json::value& v, std::string_view what) {
  return To<uint32_t>(ScalarOf(v), what);
}
Result<int64_t> ToI64(const json::value& v, std::string_view what) {
  return To<int64_t>(ScalarOf(v), what);
}
Result<std::string> ToString(const json::value& v, std::string_view what) {
  return To<std::string>(ScalarOf(v), what);
}
Result<bool> ToBool(const json::value& v, std::string_view what) {
  return To<bool>(ScalarOf(v), what);
}
Result<Uuid> ToUuid(const json::value& v, std::string_view what) {
  return To<Uuid>(ScalarOf(v), what);
}
Result<Hlc> ToHlc(const json::value& v, std::string_view what) {
  Hlc hlc;
  PIGTAIL_RETURN_IF_ERROR(Read(HlcPartsOf(v), what, &hlc));
  return hlc;
}

}  // namespace pigtail::json_fields

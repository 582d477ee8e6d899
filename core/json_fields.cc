#include "core/json_fields.h"

#include <boost/json.hpp>
#include <limits>

namespace pigtail::json_fields {
namespace json = boost::json;

namespace {
Status TypeError(const What& what, std::string_view want) {
  return Status::InvalidArgument(what.Text() + " must be " + std::string(want));
}
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

Result<uint64_t> ToU64(const JsonScalar& v, const What& what) {
  if (v.kind == Kind::kUint64) return v.u;
  if (v.kind == Kind::kInt64 && v.i >= 0) return static_cast<uint64_t>(v.i);
  return TypeError(what, "a non-negative integer");
}

Result<uint32_t> ToU32(const JsonScalar& v, const What& what) {
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t n, ToU64(v, what));
  if (n > std::numeric_limits<uint32_t>::max()) return TypeError(what, "at most 4294967295");
  return static_cast<uint32_t>(n);
}

Result<int64_t> ToI64(const JsonScalar& v, const What& what) {
  if (v.kind == Kind::kInt64) return v.i;
  return TypeError(what, "an integer in the signed 64-bit range");
}

Result<std::string> ToString(const JsonScalar& v, const What& what) {
  if (v.kind != Kind::kString) return TypeError(what, "a string");
  return std::string(v.s);
}

Result<bool> ToBool(const JsonScalar& v, const What& what) {
  if (v.kind != Kind::kBool) return TypeError(what, "true or false");
  return v.b;
}

Result<Uuid> ToUuid(const JsonScalar& v, const What& what) {
  if (v.kind != Kind::kString) return TypeError(what, "a UUID string");
  Result<Uuid> id = Uuid::Parse(v.s);
  if (!id.ok()) return id.status().WithContext(what.Text());
  return id;
}

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

Result<Hlc> ToHlc(const HlcParts& parts, const What& what) {
  switch (parts.form) {
    case HlcParts::Form::kArray:
      if (parts.items != 3) return TypeError(what, "[epoch,[time],count] or [epoch,time,count]");
      if (parts.time_nested && parts.time_items != 1) {
        return TypeError(what, "[epoch,[time],count]");
      }
      break;
    case HlcParts::Form::kObject:
      if (parts.epoch.kind == Kind::kAbsent || parts.time.kind == Kind::kAbsent ||
          parts.count.kind == Kind::kAbsent || parts.items != 3) {
        return TypeError(what, "{\"epoch\":E,\"time\":T,\"count\":C}");
      }
      break;
    case HlcParts::Form::kOther:
      return TypeError(what, "an HLC timestamp ([E,[T],C], [E,T,C] or an object)");
  }
  Hlc hlc;
  PIGTAIL_ASSIGN_OR_RETURN(hlc.epoch, ToU32(parts.epoch, what.Of("epoch of ")));
  PIGTAIL_ASSIGN_OR_RETURN(hlc.time, ToU64(parts.time, what.Of("time of ")));
  PIGTAIL_ASSIGN_OR_RETURN(hlc.count, ToU32(parts.count, what.Of("count of ")));
  return hlc;
}

Result<uint64_t> ToU64(const json::value& v, std::string_view what) {
  return ToU64(ScalarOf(v), what);
}
Result<uint32_t> ToU32(const json::value& v, std::string_view what) {
  return ToU32(ScalarOf(v), what);
}
Result<int64_t> ToI64(const json::value& v, std::string_view what) {
  return ToI64(ScalarOf(v), what);
}
Result<std::string> ToString(const json::value& v, std::string_view what) {
  return ToString(ScalarOf(v), what);
}
Result<bool> ToBool(const json::value& v, std::string_view what) {
  return ToBool(ScalarOf(v), what);
}
Result<Uuid> ToUuid(const json::value& v, std::string_view what) {
  return ToUuid(ScalarOf(v), what);
}
Result<Hlc> ToHlc(const json::value& v, std::string_view what) {
  return ToHlc(HlcPartsOf(v), what);
}

}  // namespace pigtail::json_fields

// Typed readers for JSON values, shared by the parsers in core/. Each
// returns InvalidArgument naming `what` when the value has the wrong type or
// is out of range. Numbers are never read through a double.
//
// The readers take a JsonScalar, one value as a parser reports it (the SAX
// parser of core/op_parser.h) or as a Boost.JSON tree holds it, so both
// accept and refuse exactly the same values with the same messages.
#ifndef PIGTAIL_CORE_JSON_FIELDS_H_
#define PIGTAIL_CORE_JSON_FIELDS_H_

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/hlc.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail::json_fields {

// One JSON value: a scalar, or only the kind of an array or object.
// `s` points into the caller's text and is valid only as long as it is.
struct JsonScalar {
  enum class Kind : uint8_t {
    kAbsent,
    kNull,
    kBool,
    kInt64,
    kUint64,
    kDouble,
    kString,
    kArray,
    kObject
  };
  Kind kind = Kind::kAbsent;
  union {  // the one that `kind` names
    int64_t i = 0;
    uint64_t u;
    double d;
    bool b;
  };
  std::string_view s;
};

// The JsonScalar of a tree value.
JsonScalar ScalarOf(const boost::json::value& v);

// What an error message calls the value: `prefix`, then `name` (quoted if
// `quoted`). Made into text only when there is an error.
struct What {
  What(std::string_view text) : name(text) {}  // NOLINT: implicit by design
  What(const char* text) : name(text) {}       // NOLINT: implicit by design
  static What Quoted(std::string_view name) {
    What w(name);
    w.quoted = true;
    return w;
  }
  // "<part><this>", e.g. "epoch of \"when\"". REQUIRES: prefix is empty.
  What Of(std::string_view part) const {
    What w = *this;
    w.prefix = part;
    return w;
  }
  std::string Text() const;

  std::string_view prefix;
  std::string_view name;
  bool quoted = false;
};

// InvalidArgument: "<what> must be <want>".
Status MustBe(const What& what, std::string_view want);
// Uuid::Parse's error for the text of `what`.
Status BadUuid(const Status& error, const What& what);

// Reads `v` into *out, or says why not. Inline, without a Result on the
// way: they run for every field of every event parsed.
inline Status Read(const JsonScalar& v, const What& what, uint64_t* out) {
  if (v.kind == JsonScalar::Kind::kUint64) {
    *out = v.u;
  } else if (v.kind == JsonScalar::Kind::kInt64 && v.i >= 0) {
    *out = static_cast<uint64_t>(v.i);
  } else {
    return MustBe(what, "a non-negative integer");
  }
  return Status::Ok();
}
inline Status Read(const JsonScalar& v, const What& what, uint32_t* out) {
  uint64_t n = 0;
  PIGTAIL_RETURN_IF_ERROR(Read(v, what, &n));
  if (n > UINT32_MAX) return MustBe(what, "at most 4294967295");
  *out = static_cast<uint32_t>(n);
  return Status::Ok();
}
inline Status Read(const JsonScalar& v, const What& what, int64_t* out) {
  if (v.kind != JsonScalar::Kind::kInt64)
    return MustBe(what, "an integer in the signed 64-bit range");
  *out = v.i;
  return Status::Ok();
}
inline Status Read(const JsonScalar& v, const What& what, std::string* out) {
  if (v.kind != JsonScalar::Kind::kString) return MustBe(what, "a string");
  out->assign(v.s);
  return Status::Ok();
}
inline Status Read(const JsonScalar& v, const What& what, bool* out) {
  if (v.kind != JsonScalar::Kind::kBool) return MustBe(what, "true or false");
  *out = v.b;
  return Status::Ok();
}
inline Status Read(const JsonScalar& v, const What& what, Uuid* out) {
  if (v.kind != JsonScalar::Kind::kString) return MustBe(what, "a UUID string");
  if (!Uuid::TryParse(v.s, out)) return BadUuid(Uuid::Parse(v.s).status(), what);
  return Status::Ok();
}

// The same as a Result.
template <typename T>
Result<T> To(const JsonScalar& v, const What& what) {
  T out{};
  PIGTAIL_RETURN_IF_ERROR(Read(v, what, &out));
  return out;
}

// An HLC value as read: [E,[T],C], [E,T,C] or {"epoch":E,"time":T,"count":C}.
struct HlcParts {
  enum class Form : uint8_t { kOther, kArray, kObject };
  Form form = Form::kOther;
  size_t items = 0;               // elements of the array, members of the object
  bool time_nested = false;       // an array whose time is itself an array
  size_t time_items = 0;          // elements of that inner array
  JsonScalar epoch, time, count;  // time: the inner array's first element
};
HlcParts HlcPartsOf(const boost::json::value& v);
Status Read(const HlcParts& parts, const What& what, Hlc* out);

// Appends `s` as a JSON string, exactly as json::serialize writes it.
void AppendJsonString(std::string_view s, std::string* out);

// The same readers for tree values.
// The longest prefix of `s` of at most `max_bytes` that does not end inside
// a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);
// `s` with every byte that does not start a valid UTF-8 sequence (overlong,
// surrogate, beyond U+10FFFF or cut short) replaced by U+FFFD, so that it
// can be written as a JSON string.
std::string ValidUtf8(const std::string& s);

Result<uint64_t> ToU64(const boost::json::value& v, std::string_view what);
Result<uint32_t> ToU32(const boost::json::value& v, std::string_view what);
Result<int64_t> ToI64(const boost::json::value& v, std::string_view what);
Result<std::string> ToString(const boost::json::value& v, std::string_view what);
Result<bool> ToBool(const boost::json::value& v, std::string_view what);
Result<Uuid> ToUuid(const boost::json::value& v, std::string_view what);
Result<Hlc> ToHlc(const boost::json::value& v, std::string_view what);

}  // namespace pigtail::json_fields

#endif  // PIGTAIL_CORE_JSON_FIELDS_H_

#include "core/json_fields.h"

#include <boost/json.hpp>
#include <limits>

namespace pigtail::json_fields {
namespace json = boost::json;

namespace {
Status TypeError(std::string_view what, std::string_view want) {
  return Status::InvalidArgument(std::string(what) + " must be " + std::string(want));
}
}  // namespace

Result<uint64_t> ToU64(const json::value& v, std::string_view what) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return TypeError(what, "a non-negative integer");
}

Result<uint32_t> ToU32(const json::value& v, std::string_view what) {
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t n, ToU64(v, what));
  if (n > std::numeric_limits<uint32_t>::max()) return TypeError(what, "at most 4294967295");
  return static_cast<uint32_t>(n);
}

Result<int64_t> ToI64(const json::value& v, std::string_view what) {
  if (v.is_int64()) return v.get_int64();
  return TypeError(what, "an integer in the signed 64-bit range");
}

Result<std::string> ToString(const json::value& v, std::string_view what) {
  if (!v.is_string()) return TypeError(what, "a string");
  const json::string& s = v.get_string();
  return std::string(s.data(), s.size());
}

Result<bool> ToBool(const json::value& v, std::string_view what) {
  if (!v.is_bool()) return TypeError(what, "true or false");
  return v.get_bool();
}

Result<Uuid> ToUuid(const json::value& v, std::string_view what) {
  if (!v.is_string()) return TypeError(what, "a UUID string");
  const json::string& s = v.get_string();
  Result<Uuid> id = Uuid::Parse(std::string_view(s.data(), s.size()));
  if (!id.ok()) return id.status().WithContext(what);
  return id;
}

Result<Hlc> ToHlc(const json::value& v, std::string_view what) {
  Hlc hlc;
  if (v.is_array()) {
    const json::array& a = v.get_array();
    if (a.size() != 3) return TypeError(what, "[epoch,[time],count] or [epoch,time,count]");
    const json::value* time = &a[1];
    if (time->is_array()) {
      if (time->get_array().size() != 1) return TypeError(what, "[epoch,[time],count]");
      time = &time->get_array()[0];
    }
    PIGTAIL_ASSIGN_OR_RETURN(hlc.epoch, ToU32(a[0], "epoch of " + std::string(what)));
    PIGTAIL_ASSIGN_OR_RETURN(hlc.time, ToU64(*time, "time of " + std::string(what)));
    PIGTAIL_ASSIGN_OR_RETURN(hlc.count, ToU32(a[2], "count of " + std::string(what)));
    return hlc;
  }
  if (v.is_object()) {
    const json::object& o = v.get_object();
    const json::value* epoch = o.if_contains("epoch");
    const json::value* time = o.if_contains("time");
    const json::value* count = o.if_contains("count");
    if (epoch == nullptr || time == nullptr || count == nullptr || o.size() != 3) {
      return TypeError(what, "{\"epoch\":E,\"time\":T,\"count\":C}");
    }
    PIGTAIL_ASSIGN_OR_RETURN(hlc.epoch, ToU32(*epoch, "epoch of " + std::string(what)));
    PIGTAIL_ASSIGN_OR_RETURN(hlc.time, ToU64(*time, "time of " + std::string(what)));
    PIGTAIL_ASSIGN_OR_RETURN(hlc.count, ToU32(*count, "count of " + std::string(what)));
    return hlc;
  }
  return TypeError(what, "an HLC timestamp ([E,[T],C], [E,T,C] or an object)");
}

}  // namespace pigtail::json_fields

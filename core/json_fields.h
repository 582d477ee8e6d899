// Typed readers for Boost.JSON values, shared by the parsers in core/.
// Each returns InvalidArgument naming `what` when the value has the wrong
// type or is out of range. Numbers are never read through a double.
#ifndef PIGTAIL_CORE_JSON_FIELDS_H_
#define PIGTAIL_CORE_JSON_FIELDS_H_

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/hlc.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail::json_fields {

Result<uint64_t> ToU64(const boost::json::value& v, std::string_view what);
Result<uint32_t> ToU32(const boost::json::value& v, std::string_view what);
Result<int64_t> ToI64(const boost::json::value& v, std::string_view what);
Result<std::string> ToString(const boost::json::value& v, std::string_view what);
Result<bool> ToBool(const boost::json::value& v, std::string_view what);
Result<Uuid> ToUuid(const boost::json::value& v, std::string_view what);
Result<Hlc> ToHlc(const boost::json::value& v, std::string_view what);

}  // namespace pigtail::json_fields

#endif  // PIGTAIL_CORE_JSON_FIELDS_H_

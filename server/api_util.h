// Helpers shared by the API handlers: JSON bodies in and out, error
// responses, and request-target parsing. No I/O.
#ifndef PIGTAIL_SERVER_API_UTIL_H_
#define PIGTAIL_SERVER_API_UTIL_H_

#include <boost/json/fwd.hpp>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "server/http_message.h"

namespace pigtail::api {

// A response with a JSON body (Content-Type: application/json).
HttpResponse Json(int status, std::string body);
// {"error": message} plus {"reason": reason} when reason is not empty.
HttpResponse Error(int status, std::string_view message, std::string_view reason = {});
// The HTTP status for a Status code: InvalidArgument/OutOfRange 400,
// NotFound 404, Conflict/AlreadyExists 409, Unavailable/IOError 503,
// anything else 500.
int HttpStatusFor(const Status& status);
HttpResponse FromStatus(const Status& status, std::string_view reason = {});

// `s` as a JSON string literal, quotes included.
std::string Quote(std::string_view s);

// Parses a body that must be a JSON object. InvalidArgument says why not.
Result<boost::json::object> ParseObject(std::string_view body);
// InvalidArgument naming the first member of `object` not in `allowed`.
Status CheckFields(const boost::json::object& object,
                   std::initializer_list<std::string_view> allowed);

// A query parameter's decimal count in [1, max]; InvalidArgument
// "<name> must be 1 to <max>" otherwise.
Result<size_t> ParseLimit(std::string_view name, std::string_view value, size_t max);

// The path split on '/', percent-decoded, without empty segments; and the
// query's key=value pairs, percent-decoded. InvalidArgument for a bad
// escape.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};
Result<Target> ParseTarget(std::string_view target);

}  // namespace pigtail::api

#endif  // PIGTAIL_SERVER_API_UTIL_H_

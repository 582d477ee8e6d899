// Plain HTTP request and response values. The server and client translate
// between these and Beast's types, so request handling and everything above
// it never includes Boost.Asio or Beast.
#ifndef PIGTAIL_SERVER_HTTP_MESSAGE_H_
#define PIGTAIL_SERVER_HTTP_MESSAGE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pigtail {

// Header fields in arrival order; names compare case-insensitively.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the first field named `name` (case-insensitive), or "".
std::string_view FindHeader(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as received
  std::string target;  // path and query, e.g. "/log?dependency=..."
  HttpHeaders headers;
  std::string body;

  std::string_view Header(std::string_view name) const { return FindHeader(headers, name); }
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;  // Content-Type included when there is a body
  std::string body;

  std::string_view Header(std::string_view name) const { return FindHeader(headers, name); }
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_HTTP_MESSAGE_H_

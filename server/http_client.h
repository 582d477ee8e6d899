// A small synchronous HTTP/1.1 client (plain http:// only), for
// notifications, peers, the load tool and the replay tool. The header is
// free of Boost; Beast lives in http_client.cc.
//
// Errors: a malformed URL is InvalidArgument; failing to resolve, connect,
// send or receive is Unavailable; running past the timeout is Unavailable
// with "timed out" in the message. Any HTTP status (including 4xx/5xx) is a
// successful Result: the caller inspects HttpResponse::status.
#ifndef PIGTAIL_SERVER_HTTP_CLIENT_H_
#define PIGTAIL_SERVER_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "server/http_message.h"

namespace pigtail {

// The parts of "http://HOST[:PORT][/PATH][?QUERY]". PORT defaults to 80,
// target to "/"; an IPv6 HOST is written in brackets and stored without.
struct HttpUrl {
  std::string host;
  std::string port;
  std::string target;  // path and query, as sent in the request line
};

inline constexpr size_t kMaxUrlBytes = 2048;

// The one check for every URL the server stores or sends to (registrations,
// peers, the external log, the advertised URL). InvalidArgument, saying why,
// unless `url` is at most kMaxUrlBytes and is "http://", a host (DNS name,
// IPv4 address or bracketed IPv6 address; no user information), an optional
// port 1-65535, and an optional origin-form target made only of the
// characters RFC 3986 allows there (no spaces, control characters, non-ASCII
// bytes, '#', or '%' without two hex digits).
Result<HttpUrl> ParseHttpUrl(std::string_view url);

inline constexpr std::chrono::milliseconds kDefaultHttpTimeout{10'000};

// Sends one request on a fresh connection and reads the reply. When `body`
// is not empty and `headers` has no Content-Type, sends application/json.
// Thread-safe (shares nothing).
Result<HttpResponse> SendHttpRequest(std::string_view method, std::string_view url,
                                     std::string_view body, const HttpHeaders& headers = {},
                                     std::chrono::milliseconds timeout = kDefaultHttpTimeout);

// A keep-alive connection to one host and port. Connects lazily, reconnects
// once when the peer closed an idle connection. Not thread-safe: use one per
// thread.
class HttpConnection {
 public:
  HttpConnection(std::string host, std::string port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // `target` is the path and query, e.g. "/queue/q". InvalidArgument, with
  // nothing sent, for a target that is not valid origin-form (see
  // ParseHttpUrl) or a header with a control character.
  Result<HttpResponse> Send(std::string_view method, std::string_view target, std::string_view body,
                            const HttpHeaders& headers = {},
                            std::chrono::milliseconds timeout = kDefaultHttpTimeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_HTTP_CLIENT_H_

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
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "server/http_message.h"

namespace pigtail {

// The parts of "http://HOST[:PORT][/PATH[?QUERY]]". HOST may be an IPv6
// address in brackets, kept without them. PORT defaults to 80, target to "/".
struct HttpUrl {
  std::string host;
  std::string port;
  std::string target;
};
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

  // `target` is the path and query, e.g. "/queue/q".
  Result<HttpResponse> Send(std::string_view method, std::string_view target, std::string_view body,
                            const HttpHeaders& headers = {},
                            std::chrono::milliseconds timeout = kDefaultHttpTimeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_HTTP_CLIENT_H_

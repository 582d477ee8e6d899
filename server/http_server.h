// The HTTP/1.1 listener: accepts connections on a small thread pool, reads
// requests with limits and timeouts, hands each to a handler as a plain
// HttpRequest, and writes the HttpResponse the handler produces. Sessions
// only do I/O; all request handling lives in the handler (see router.h).
//
// Requests on one connection are handled one at a time (keep-alive, no
// pipelining). A body over max_body_bytes gets 413, a malformed request 400,
// both with a JSON {"error"} body, and the connection is closed. A
// connection that does not deliver a whole request within read_timeout is
// closed.
//
// Framing (RFC 9112 section 6): the header is read and checked before any
// of the body. A request with a Transfer-Encoding other than exactly
// "chunked", with both Transfer-Encoding and Content-Length, or with more
// than one Content-Length gets 400 and the connection is closed, so a body
// is never read as a request of its own. Chunk sizes and chunk extensions
// together count against max_body_bytes, and a connection never holds more
// than kMaxBufferedRequestBytes of unparsed input (a header, a chunk line or
// a trailer), so memory stays bounded whatever a client sends.
#ifndef PIGTAIL_SERVER_HTTP_SERVER_H_
#define PIGTAIL_SERVER_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "server/http_message.h"

namespace pigtail {

// Completes a request. Must be called exactly once, from any thread.
using HttpResponder = std::function<void(HttpResponse)>;
// Handles one request; may respond later (e.g. a long poll). Called on an
// I/O thread: it must not block for long.
using HttpHandler = std::function<void(HttpRequest, HttpResponder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IP address, or a name: its first address
  uint16_t port = 8000;            // 0 picks a free port; see HttpServer::port()
  int threads = 2;                 // I/O threads
  size_t max_body_bytes = 16 << 20;
  // How long a connection may take to deliver a whole request, and how long
  // an idle keep-alive connection is kept.
  std::chrono::milliseconds read_timeout{30'000};
};

// The most unparsed bytes a connection buffers: the header limit (64 KiB)
// plus room for one read. A chunk line or trailer that does not fit gets 413.
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;
inline constexpr size_t kMaxBufferedRequestBytes = kMaxHeaderBytes + 4 * 1024;

// Reads one request from `wire` exactly as a connection's session reads it:
// the same parser limits, framing checks and error messages (for fuzzing and
// tests; no sockets). Bytes after the request are ignored. On a refusal the
// status is InvalidArgument with the message the client would get, and
// *http_status (when not null) is the HTTP status the server answers with
// (400, 413 or 431); a wire that ends before the request does is 400.
Result<HttpRequest> ParseHttpRequest(std::string_view wire, const HttpServerOptions& options,
                                     int* http_status = nullptr);

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads. Returns IOError when the
  // address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   HttpHandler handler);
  ~HttpServer();  // Shutdown() with a default drain time, if not done
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port.
  uint16_t port() const;

  // Stops accepting, waits up to `drain` for requests already being handled
  // to be answered, then closes every connection and joins the threads.
  // Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_HTTP_SERVER_H_

// For tests: a raw TCP connection to a server on 127.0.0.1, for requests no
// well-behaved client would send (smuggling attempts, slow or oversize
// bodies). Every read is bounded in time.
#ifndef PIGTAIL_TESTS_SERVER_RAW_CONNECTION_H_
#define PIGTAIL_TESTS_SERVER_RAW_CONNECTION_H_

#include <chrono>
#include <string>
#include <string_view>

namespace pigtail::testing {

class RawConnection {
 public:
  // Connects to 127.0.0.1:`port`; connected() says whether it worked.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Writes all of `bytes` unless the peer stops taking them (closes or
  // resets) or `limit` passes; returns whether everything was written.
  bool Send(std::string_view bytes,
            std::chrono::milliseconds limit = std::chrono::milliseconds(5000));

  // Reads until the peer closes or `limit` passes. `closed` tells which.
  struct ReadResult {
    std::string text;
    bool closed = false;
  };
  ReadResult ReadUntilClosed(std::chrono::milliseconds limit);

  // Reads until `text` holds one whole HTTP response (headers and a
  // Content-Length body), the peer closes, or `limit` passes. Returns what
  // was read.
  std::string ReadResponse(std::chrono::milliseconds limit);

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the last response
};

// The status code of an HTTP response's status line; 0 if there is none.
int StatusOf(std::string_view response);

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_SERVER_RAW_CONNECTION_H_

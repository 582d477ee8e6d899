#include "tests/server/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <cerrno>
#include <cstdlib>

namespace pigtail::testing {

RawConnection::RawConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(std::string_view bytes, std::chrono::milliseconds limit) {
  if (fd_ < 0) return false;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!bytes.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return bytes.empty();
}

RawConnection::ReadResult RawConnection::ReadUntilClosed(std::chrono::milliseconds limit) {
  ReadResult out;
  out.text = std::move(pending_);
  pending_.clear();
  if (fd_ < 0) {
    out.closed = true;
    return out;
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) {
      out.closed = true;
      return out;
    }
    out.text.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {

// The length of the first whole response in `text`, or 0 if it is not all
// there yet.
size_t WholeResponseLength(const std::string& text) {
  size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t body = 0;
  size_t pos = 0;
  while ((pos = text.find("\r\n", pos)) != std::string::npos && pos < end) {
    pos += 2;
    static constexpr std::string_view kLength = "content-length:";
    if (strncasecmp(text.c_str() + pos, kLength.data(), kLength.size()) == 0) {
      body = std::strtoul(text.c_str() + pos + kLength.size(), nullptr, 10);
    }
  }
  size_t total = end + 4 + body;
  return text.size() >= total ? total : 0;
}

}  // namespace

std::string RawConnection::ReadResponse(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (fd_ >= 0 && WholeResponseLength(pending_) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    pending_.append(buf, static_cast<size_t>(n));
  }
  size_t length = WholeResponseLength(pending_);
  if (length == 0) length = pending_.size();
  std::string out = pending_.substr(0, length);
  pending_.erase(0, length);
  return out;
}

int StatusOf(std::string_view response) {
  if (!response.starts_with("HTTP/1.") || response.size() < 12) return 0;
  return std::atoi(std::string(response.substr(9, 3)).c_str());
}

}  // namespace pigtail::testing

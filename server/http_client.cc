#include "server/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <optional>

namespace pigtail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// The most a connection reads per system call (Beast reads at most 64 KiB).
constexpr size_t kReadBytes = 64 * 1024;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsUnreserved(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool IsSubDelim(char c) {
  return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Why `target` is not an origin-form request target (RFC 9112 section 3.2.1:
// "/" path segments of RFC 3986 pchars, then an optional "?" query), or ""
// when it is one.
std::string TargetProblem(std::string_view target) {
  if (!target.starts_with("/")) return "the path must start with '/'";
  bool in_query = false;
  for (size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '%') {
      if (i + 2 >= target.size() || !IsHex(target[i + 1]) || !IsHex(target[i + 2])) {
        return "a '%' not followed by two hex digits";
      }
      i += 2;
    } else if (c == '?') {
      in_query = true;
    } else if (!(IsUnreserved(c) || IsSubDelim(c) || c == ':' || c == '@' || c == '/')) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02x", u);
        return std::string("the byte ") + code + " (a control or non-ASCII character)";
      }
      return std::string("the character '") + c + "'" + (in_query ? " in the query" : "");
    }
  }
  return "";
}

// Why `host` is not a DNS name or IPv4 address, or "" when it is one.
std::string HostProblem(std::string_view host) {
  if (host.empty()) return "no host";
  if (host.size() > 253) return "a host name longer than 253 bytes";
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = std::min(host.find('.', start), host.size());
    std::string_view label = host.substr(start, dot - start);
    // Only the last label may be empty (a fully qualified "name.").
    if (label.empty() && dot != host.size()) return "an empty label in the host";
    if (label.size() > 63) return "a host label longer than 63 bytes";
    for (char c : label) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '_') {
        return "a host with characters other than letters, digits, '-', '_' and '.'";
      }
    }
    start = dot + 1;
  }
  return "";
}

// True if `text` holds no control characters (CR and LF above all).
bool HeaderSafe(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  // The URL is quoted in errors only when it is short and printable.
  auto bad = [url](const std::string& why) {
    bool printable =
        std::all_of(url.begin(), url.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    std::string shown = url.size() <= 200 && printable ? " \"" + std::string(url) + "\"" : "";
    return Status::InvalidArgument("invalid URL" + shown + ": " + why);
  };
  if (url.size() > kMaxUrlBytes) {
    return bad("longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  }
  static constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return bad("it must start with http://");
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.starts_with("?")) out.target.insert(0, "/");
  if (std::string why = TargetProblem(out.target); !why.empty()) return bad(why);

  if (authority.find('@') != std::string_view::npos) return bad("user information is not allowed");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address without ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) return bad("text after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) return bad("an empty port");
    boost::system::error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec || host.find('%') != std::string_view::npos) return bad("an invalid IPv6 address");
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("an empty port");
    }
    if (std::string why = HostProblem(host); !why.empty()) return bad(why);
  }
  out.host = std::string(host);
  if (port.empty()) {
    out.port = "80";
  } else {
    bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), IsDigit);
    if (!digits || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
      return bad("the port must be 1 to 65535");
    }
    out.port = std::string(port);
  }
  return out;
}

struct HttpConnection::Impl {
  std::string host;
  std::string port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  // Beast reads at most what the buffer has room for, and no less than 512
  // bytes; a string body drains the buffer as it reads, so without room set
  // aside a large reply is read 512 bytes per system call.
  beast::flat_buffer buffer;

  // Runs the queued operation to completion; `ec` is set by its handler.
  void Run() {
    ioc.restart();
    ioc.run();
  }

  Status Connect(std::chrono::milliseconds timeout) {
    stream.emplace(ioc);
    buffer.clear();
    buffer.reserve(kReadBytes);
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    tcp::resolver::results_type endpoints = resolver.resolve(host, port, ec);
    if (ec) return Status::Unavailable("resolve " + host + ": " + ec.message());
    stream->expires_after(timeout);
    stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    Run();
    if (ec) {
      stream.reset();
      return Status::Unavailable("connect " + host + ":" + port + ": " +
                                 (ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    return Status::Ok();
  }

  // One exchange on the open stream. `retryable` is set when the failure
  // looks like a stale keep-alive connection (nothing was read).
  Result<HttpResponse> Exchange(const http::request<http::string_body>& req,
                                std::chrono::milliseconds timeout, bool* retryable) {
    *retryable = false;
    beast::error_code ec;
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](beast::error_code e, size_t) { ec = e; });
    Run();
    if (ec) {
      *retryable = ec != beast::error::timeout;
      return Status::Unavailable("send: " +
                                 (ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64ull << 20);
    http::async_read(*stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
    Run();
    if (ec) {
      *retryable = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                   ec == asio::error::eof;
      return Status::Unavailable("receive: " +
                                 (ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    http::response<http::string_body> res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) {
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream.reset();
    }
    return out;
  }
};

HttpConnection::HttpConnection(std::string host, std::string port) : impl_(new Impl) {
  impl_->host = std::move(host);
  impl_->port = std::move(port);
}

HttpConnection::~HttpConnection() = default;

Result<HttpResponse> HttpConnection::Send(std::string_view method, std::string_view target,
                                          std::string_view body, const HttpHeaders& headers,
                                          std::chrono::milliseconds timeout) {
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return Status::InvalidArgument("unknown HTTP method \"" + std::string(method) + "\"");
  }
  // Nothing reaches the wire that could end the request line or a header
  // early, even if a caller let a bad URL or header through.
  if (std::string why = TargetProblem(target); !why.empty()) {
    return Status::InvalidArgument("refusing to send to an invalid request target: " + why);
  }
  for (const auto& [name, value] : headers) {
    if (!HeaderSafe(name) || !HeaderSafe(value) || name.empty()) {
      return Status::InvalidArgument("refusing to send a header with a control character");
    }
  }
  http::request<http::string_body> req{verb, std::string(target), 11};
  bool v6 = impl_->host.find(':') != std::string::npos;
  req.set(http::field::host, (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" + impl_->port);
  bool has_type = false;
  for (const auto& [name, value] : headers) {
    req.set(name, value);
    if (beast::iequals(name, "content-type")) has_type = true;
  }
  if (!body.empty() && !has_type) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (!impl_->stream) {
      PIGTAIL_RETURN_IF_ERROR(impl_->Connect(timeout));
      fresh = true;
    }
    bool retryable = false;
    Result<HttpResponse> res = impl_->Exchange(req, timeout, &retryable);
    if (res.ok()) return res;
    impl_->stream.reset();
    if (fresh || !retryable) return res.status();
  }
  return Status::Unavailable("connection closed by peer");
}

Result<HttpResponse> SendHttpRequest(std::string_view method, std::string_view url,
                                     std::string_view body, const HttpHeaders& headers,
                                     std::chrono::milliseconds timeout) {
  PIGTAIL_ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  HttpConnection conn(parsed.host, parsed.port);
  return conn.Send(method, parsed.target, body, headers, timeout);
}

}  // namespace pigtail

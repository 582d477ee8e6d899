#include "server/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace pigtail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  static constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return Status::InvalidArgument("URL must start with http://: \"" + std::string(url) + "\"");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.starts_with("?")) out.target.insert(0, "/");
  if (authority.empty() || authority.find_first_of(" @\t") != std::string_view::npos) {
    return Status::InvalidArgument("URL has no valid host: \"" + std::string(url) + "\"");
  }
  // HOST[:PORT], or [IPV6][:PORT]; the brackets are not part of the host.
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    std::string_view after =
        close == std::string_view::npos ? std::string_view() : authority.substr(close + 1);
    if (close == std::string_view::npos || (!after.empty() && after.front() != ':')) {
      return Status::InvalidArgument("URL has an invalid [IPv6] host: \"" + std::string(url) +
                                     "\"");
    }
    host = authority.substr(1, close - 1);
    if (!after.empty()) port = after.substr(1);
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of("[]") != std::string_view::npos) {
    return Status::InvalidArgument("URL has no host: \"" + std::string(url) + "\"");
  }
  out.host = std::string(host);
  out.port = port ? std::string(*port) : "80";
  if (out.port.empty() || out.port.size() > 5 ||
      out.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(out.port) > 65535) {
    return Status::InvalidArgument("URL has an invalid port: \"" + std::string(url) + "\"");
  }
  return out;
}

struct HttpConnection::Impl {
  std::string host;
  std::string port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the queued operation to completion; `ec` is set by its handler.
  void Run() {
    ioc.restart();
    ioc.run();
  }

  Status Connect(std::chrono::milliseconds timeout) {
    stream.emplace(ioc);
    buffer.clear();
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
  http::request<http::string_body> req{verb, std::string(target), 11};
  const bool v6 = impl_->host.find(':') != std::string::npos;
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

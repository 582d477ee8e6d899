#include "server/http_server.h"

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/thread_name.h"

namespace pigtail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Counts requests handed to the handler and not yet answered.
class InFlight {
 public:
  void Enter() {
    std::lock_guard lock(mu_);
    ++count_;
  }
  void Leave() {
    std::lock_guard lock(mu_);
    if (--count_ == 0) cv_.notify_all();
  }
  bool WaitIdle(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t count_ = 0;
};

struct Shared {
  HttpServerOptions options;
  HttpHandler handler;
  InFlight in_flight;
  std::atomic<bool> stopping{false};
};

std::string ErrorJson(std::string_view message) {
  std::string out = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  out += "\"}";
  return out;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    if (shared_->stopping) return Close();
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(shared_->options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return WriteError(413, "request body exceeds " +
                                 std::to_string(shared_->options.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) return WriteError(431, "request headers too large");
    if (ec) return WriteError(400, "malformed HTTP request: " + ec.message());

    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    HttpRequest out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    for (const auto& field : req) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(req.body());
    stream_.expires_never();
    shared_->in_flight.Enter();
    auto self = shared_from_this();
    HttpResponder respond = [self](HttpResponse response) {
      asio::post(self->stream_.get_executor(), [self, r = std::move(response)]() mutable {
        self->Write(std::move(r), /*counted=*/true);
      });
    };
    try {
      shared_->handler(std::move(out), std::move(respond));
    } catch (const std::exception& e) {
      // Handlers are not supposed to throw; never let one take the server down.
      HttpResponse r;
      r.status = 500;
      r.body = ErrorJson(std::string("internal error: ") + e.what());
      r.headers.emplace_back("Content-Type", "application/json");
      Write(std::move(r), true);
    }
  }

  void WriteError(int status, const std::string& message) {
    keep_alive_ = false;
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = ErrorJson(message);
    Write(std::move(r), /*counted=*/false);
  }

  void Write(HttpResponse response, bool counted) {
    if (written_once_guard_ && counted) {
      // A handler answered twice; keep the first answer.
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) res->set(name, value);
    res->set(http::field::server, "pigtaild");
    res->body() = std::move(response.body);
    bool keep = keep_alive_ && !shared_->stopping;
    res->keep_alive(keep);
    res->prepare_payload();
    written_once_guard_ = counted;
    stream_.expires_after(shared_->options.read_timeout);
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep, counted](beast::error_code ec, size_t) {
          self->written_once_guard_ = false;
          if (counted) self->shared_->in_flight.Leave();
          if (ec || !keep) return self->Close();
          self->Read();
        });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  bool keep_alive_ = true;
  bool written_once_guard_ = false;
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool shut_down = false;

  void Accept() {
    acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted || shared->stopping) return;
      } else {
        beast::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Session>(std::move(s), shared)->Start();
      }
      if (!shared->stopping) Accept();
    });
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->shared->options = options;
  impl->shared->handler = std::move(handler);
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) return Status::InvalidArgument("bad listen address \"" + options.host + "\"");
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.emplace(impl->ioc);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                           ": " + ec.message());
  }
  impl->port = impl->acceptor->local_endpoint().port();
  impl->Accept();
  int n = options.threads < 1 ? 1 : options.threads;
  for (int i = 0; i < n; ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] {
      SetThreadName("http");
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception&) {
          // A handler threw outside its own guard; keep serving.
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(5'000)); }

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Shutdown(std::chrono::milliseconds drain) {
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->shared->stopping = true;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
  });
  impl_->shared->in_flight.WaitIdle(drain);
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace pigtail

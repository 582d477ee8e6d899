#include "server/http_server.h"

#include <algorithm>
#include <array>
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
#include <functional>
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

// Why a read did not produce a request.
struct Refusal {
  int status = 0;  // the HTTP status to answer with; 0: close without answering
  std::string message;
};

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// A field value for an error message: at most 64 bytes.
std::string Shown(std::string_view value) {
  constexpr size_t kMax = 64;
  if (value.size() <= kMax) return std::string(value);
  return std::string(value.substr(0, kMax)) + "...";
}

using RequestParser = http::request_parser<http::string_body>;

// One request's parser with the server's limits and framing rules. The
// sessions and ParseHttpRequest both read through it, so the bytes a fuzzer
// feeds are judged exactly as a connection's are. Not movable: the parser
// refers to the chunk callback.
class RequestReader {
 public:
  explicit RequestReader(const HttpServerOptions& options) : max_body_(options.max_body_bytes) {
    parser_.body_limit(max_body_);
    parser_.header_limit(kMaxHeaderBytes);
    // Beast counts chunk sizes against the body limit but not extensions:
    // count both, so extensions cannot carry unbounded bytes.
    on_chunk_ = [this](uint64_t size, beast::string_view extensions, beast::error_code& ec) {
      chunk_bytes_ += size + extensions.size();
      if (chunk_bytes_ > max_body_) ec = http::error::body_limit;
    };
    parser_.on_chunk_header(on_chunk_);
  }
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  RequestParser& parser() { return parser_; }

  // Once the header is read: a refusal unless the body's framing is
  // unambiguous (RFC 9112 section 6.3).
  std::optional<Refusal> CheckFraming() const {
    const http::request<http::string_body>& req = parser_.get();
    int transfer_encodings = 0;
    int content_lengths = 0;
    std::string_view coding;
    std::string_view length;
    for (const auto& field : req) {
      if (field.name() == http::field::transfer_encoding) {
        ++transfer_encodings;
        coding = TrimOws(std::string_view(field.value().data(), field.value().size()));
      } else if (field.name() == http::field::content_length) {
        ++content_lengths;
        length = std::string_view(field.value().data(), field.value().size());
      }
    }
    if (transfer_encodings > 0) {
      if (req.version() < 11) {
        return Refusal{400, "Transfer-Encoding is not allowed in an HTTP/1.0 request"};
      }
      if (transfer_encodings > 1 || !beast::iequals(coding, "chunked")) {
        return Refusal{400, "unsupported Transfer-Encoding \"" + Shown(coding) +
                                "\": only \"chunked\" is accepted"};
      }
      if (content_lengths > 0) {
        return Refusal{400, "a request must not have both Transfer-Encoding and Content-Length"};
      }
    }
    if (content_lengths > 1 || length.find(',') != std::string_view::npos) {
      return Refusal{400, "a request must have at most one Content-Length value"};
    }
    return std::nullopt;
  }

  // What a failed read means for the client.
  Refusal RefusalFor(beast::error_code ec) const {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Refusal{0, "connection closed before a request: " + ec.message()};
    }
    if (ec == http::error::body_limit) {
      return Refusal{413, "request body (chunk extensions included) exceeds " +
                              std::to_string(max_body_) + " bytes"};
    }
    if (ec == http::error::buffer_overflow) {
      return Refusal{413, "a chunk line or trailer exceeds " +
                              std::to_string(kMaxBufferedRequestBytes) + " bytes"};
    }
    if (ec == http::error::header_limit) return Refusal{431, "request headers too large"};
    return Refusal{400, "malformed HTTP request: " + ec.message()};
  }

  // The whole request; *keep_alive says whether the connection may stay open.
  HttpRequest Release(bool* keep_alive) {
    http::request<http::string_body> req = parser_.release();
    *keep_alive = req.keep_alive();
    HttpRequest out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    for (const auto& field : req) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(req.body());
    return out;
  }

 private:
  const size_t max_body_;
  uint64_t chunk_bytes_ = 0;
  std::function<void(uint64_t, beast::string_view, beast::error_code&)> on_chunk_;
  RequestParser parser_;
};

// The per-connection read buffer: unparsed input never exceeds the limit.
beast::flat_buffer RequestBuffer() { return beast::flat_buffer(kMaxBufferedRequestBytes); }

// A SyncReadStream over bytes in memory, for ParseHttpRequest.
class WireStream {
 public:
  explicit WireStream(std::string_view wire) : rest_(wire) {}

  template <typename MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    if (rest_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    size_t n = asio::buffer_copy(buffers, asio::buffer(rest_.data(), rest_.size()));
    rest_.remove_prefix(n);
    return n;
  }
  template <typename MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

// How long, and for how many bytes, a connection refused with an error keeps
// reading (and dropping) what the client still sends, so that the client
// sees the error reply rather than a reset.
constexpr std::chrono::milliseconds kLingerTime{1'000};
constexpr size_t kLingerBytes = 1 << 20;

// The most a connection reads of a request body per system call, and the
// most read room it keeps between requests.
constexpr size_t kBodyReadBytes = 16 * 1024;
constexpr size_t kIdleReadBytes = 4 * 1024;

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
    reader_.emplace(shared_->options);
    // One deadline for the header and the body.
    stream_.expires_after(shared_->options.read_timeout);
    http::async_read_header(
        stream_, buffer_, reader_->parser(),
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return Refuse(reader_->RefusalFor(ec));
    if (std::optional<Refusal> refusal = reader_->CheckFraming()) return Refuse(*refusal);
    ReserveBodyReads();
    http::async_read(stream_, buffer_, reader_->parser(),
                     [self = shared_from_this()](beast::error_code e, size_t) { self->OnRead(e); });
  }

  // Beast reads at most what the buffer has room for, and no less than 512
  // bytes, and a body drains the buffer as it is read: without room set
  // aside, a 50 kB body took 100 system calls. Room for up to kBodyReadBytes
  // of what the body still needs, within the buffer's limit.
  void ReserveBodyReads() {
    if (reader_->parser().is_done()) return;
    const uint64_t want = std::min<uint64_t>(
        reader_->parser().content_length_remaining().value_or(kBodyReadBytes), kBodyReadBytes);
    buffer_.reserve(std::min<size_t>(buffer_.size() + want, kMaxBufferedRequestBytes));
  }

  void Refuse(const Refusal& refusal) {
    if (refusal.status == 0) return Close();
    WriteError(refusal.status, refusal.message);
  }

  void OnRead(beast::error_code ec) {
    if (ec) return Refuse(reader_->RefusalFor(ec));
    HttpRequest out = reader_->Release(&keep_alive_);
    reader_.reset();
    // Between requests a connection keeps little read room (the bytes of a
    // pipelined request, if any, stay).
    if (buffer_.capacity() > kIdleReadBytes) buffer_.shrink_to_fit();
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
          if (ec) return self->Close();
          // A refused request may have left input unread: drain it first.
          if (!keep) return counted ? self->Close() : self->Linger();
          self->Read();
        });
  }

  // Half-closes, then drops input until the client closes too, or for at
  // most kLingerTime / kLingerBytes; then closes.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::min(kLingerTime, shared_->options.read_timeout));
    lingered_ = 0;
    DrainSome();
  }
  void DrainSome() {
    stream_.async_read_some(
        asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ >= kLingerBytes || self->shared_->stopping) {
            return self->Close();
          }
          self->DrainSome();
        });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_ = RequestBuffer();
  std::optional<RequestReader> reader_;
  std::shared_ptr<Shared> shared_;
  bool keep_alive_ = true;
  bool written_once_guard_ = false;
  std::array<char, 4096> drain_;
  size_t lingered_ = 0;
};

}  // namespace

Result<HttpRequest> ParseHttpRequest(std::string_view wire, const HttpServerOptions& options,
                                     int* http_status) {
  RequestReader reader(options);
  beast::flat_buffer buffer = RequestBuffer();
  WireStream stream(wire);
  beast::error_code ec;
  std::optional<Refusal> refusal;
  http::read_header(stream, buffer, reader.parser(), ec);
  if (ec) {
    refusal = reader.RefusalFor(ec);
  } else {
    refusal = reader.CheckFraming();
    if (!refusal) {
      http::read(stream, buffer, reader.parser(), ec);
      if (ec) refusal = reader.RefusalFor(ec);
    }
  }
  if (refusal) {
    // A session closes silently when the input ends before a request.
    if (refusal->status == 0) refusal->status = 400;
    if (http_status != nullptr) *http_status = refusal->status;
    return Status::InvalidArgument(refusal->message);
  }
  bool keep_alive = false;
  if (http_status != nullptr) *http_status = 0;
  return reader.Release(&keep_alive);
}

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  asio::io_context ioc;
  // The acceptor's handlers and its close run on this strand, never at
  // once on two I/O threads.
  asio::strand<asio::io_context::executor_type> accept_strand = asio::make_strand(ioc);
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
  tcp::endpoint endpoint(asio::ip::make_address(options.host, ec), options.port);
  if (ec) {
    // A host name: listen on the first address it resolves to.
    tcp::resolver resolver(impl->ioc);
    tcp::resolver::results_type found =
        resolver.resolve(options.host, std::to_string(options.port),
                         tcp::resolver::passive | tcp::resolver::address_configured, ec);
    if (ec || found.empty()) {
      return Status::InvalidArgument("bad listen address \"" + options.host +
                                     "\": not an IP address, and resolving it failed: " +
                                     (ec ? ec.message() : std::string("no address")));
    }
    endpoint = found.begin()->endpoint();
  }
  impl->acceptor.emplace(impl->accept_strand);
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
  asio::post(impl_->accept_strand, [this] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
  });
  impl_->shared->in_flight.WaitIdle(drain);
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace pigtail

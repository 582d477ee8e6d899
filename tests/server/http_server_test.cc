// Unit tests of how the HTTP server reads requests, through
// ParseHttpRequest (the sessions' own parser and framing checks, without
// sockets): framing per RFC 9112 section 6, and the limits on what one
// request may occupy.
#include "server/http_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "server/http_client.h"
#include "tests/server/raw_connection.h"

namespace pigtail {
namespace {

HttpServerOptions Options(size_t max_body = 1024) {
  HttpServerOptions options;
  options.max_body_bytes = max_body;
  return options;
}

// The HTTP status the server would answer `wire` with; 0 if it is a request.
int StatusFor(const std::string& wire, const HttpServerOptions& options = Options()) {
  int status = -1;
  Result<HttpRequest> r = ParseHttpRequest(wire, options, &status);
  EXPECT_EQ(r.ok(), status == 0) << r.status().ToString();
  return status;
}

TEST(ParseHttpRequestTest, ReadsContentLengthAndChunkedBodies) {
  Result<HttpRequest> r = ParseHttpRequest(
      "POST /queue/q?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}", Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->target, "/queue/q?x=1");
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(r->Header("x-a"), "b");

  for (const char* coding : {"chunked", "Chunked", "CHUNKED", " chunked "}) {
    Result<HttpRequest> c = ParseHttpRequest(
        std::string("POST /log HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + coding +
            "\r\n\r\n2;name=value\r\n{\"\r\n3\r\na\":\r\n1\r\n1\r\n0\r\n\r\n",
        Options());
    ASSERT_TRUE(c.ok()) << coding << ": " << c.status().ToString();
    EXPECT_EQ(c->body, "{\"a\":1");
  }
  Result<HttpRequest> get = ParseHttpRequest("GET /health HTTP/1.0\r\n\r\n", Options());
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->body, "");
}

// Issue 12: an unsupported coding was read as "no body", and the body then
// ran as a second request on the connection.
TEST(ParseHttpRequestTest, RefusesAmbiguousFraming) {
  const std::string smuggled = "POST /log HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}";
  const std::string head = "POST /queue/q/6a0c9d2e-1f7a-4e55-9a1e-3a1b2c3d4e5f/cancel HTTP/1.1\r\n";
  for (const char* te : {"gzip", "identity", "chunked, chunked", "gzip, chunked", "chunked, gzip",
                         "chunkedx", "", "chunked;q=1"}) {
    std::string wire = head + "Host: h\r\nTransfer-Encoding: " + te + "\r\n\r\n" +
                       std::to_string(smuggled.size()) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
    EXPECT_EQ(StatusFor(wire), 400) << "Transfer-Encoding: " << te;
    EXPECT_EQ(StatusFor(head + "Host: h\r\nTransfer-Encoding: " + te + "\r\n\r\n" + smuggled), 400)
        << "Transfer-Encoding: " << te;
  }
  // Two Transfer-Encoding fields, and Transfer-Encoding with Content-Length
  // in either order and with any coding.
  EXPECT_EQ(StatusFor(head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "0\r\n\r\n"),
            400);
  EXPECT_EQ(StatusFor(head + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "0\r\n\r\n"),
            400);
  for (const char* te : {"chunked", "gzip"}) {
    std::string t = std::string("Transfer-Encoding: ") + te + "\r\n";
    EXPECT_EQ(StatusFor(head + t + "Content-Length: 5\r\n\r\n0\r\n\r\n"), 400) << te;
    EXPECT_EQ(StatusFor(head + "Content-Length: 5\r\n" + t + "\r\n0\r\n\r\n"), 400) << te;
  }
  // A Transfer-Encoding in an HTTP/1.0 request (RFC 9112 section 6.1).
  EXPECT_EQ(StatusFor("POST /log HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  // Duplicate or conflicting Content-Length, as fields or as a list.
  EXPECT_EQ(StatusFor(head + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), 400);
  EXPECT_EQ(StatusFor(head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"), 400);
  EXPECT_EQ(StatusFor(head + "Content-Length: 2, 2\r\n\r\n{}"), 400);
  EXPECT_EQ(StatusFor(head + "Content-Length: 2,3\r\n\r\n{}x"), 400);
  EXPECT_EQ(StatusFor(head + "Content-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(StatusFor(head + "Content-Length: 2\r\n\r\n{}"), 0);

  int status = 0;
  Result<HttpRequest> r =
      ParseHttpRequest(head + "Transfer-Encoding: gzip\r\n\r\n", Options(), &status);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Transfer-Encoding"), std::string::npos);
}

// Issue 12: chunk extensions were not counted against --max-body-bytes and
// an endless one filled memory until the read timeout.
TEST(ParseHttpRequestTest, ChunkExtensionsCountAgainstTheBodyLimit) {
  const std::string head = "POST /log HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  // 17 MiB of extension, no end of line: the buffer limit stops it.
  std::string endless = head + "2;" + std::string(17 << 20, 'x');
  int status = 0;
  Result<HttpRequest> r = ParseHttpRequest(endless, Options(16 << 20), &status);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(status, 413) << r.status().ToString();
  // Just under the buffer limit, with the line ended: the body limit stops
  // it (2 bytes of data plus a 60 KiB extension is over 1 KiB).
  std::string line = "2;" + std::string(60 << 10, 'x') + "\r\n{}\r\n0\r\n\r\n";
  EXPECT_EQ(StatusFor(head + line, Options(1024)), 413);
  EXPECT_EQ(StatusFor(head + line, Options(1 << 20)), 0);
  // Many small extensions add up.
  std::string many = head;
  for (int i = 0; i < 100; ++i) many += "1;e=" + std::string(20, 'x') + "\r\nx\r\n";
  many += "0\r\n\r\n";
  EXPECT_EQ(StatusFor(many, Options(1024)), 413);
  EXPECT_EQ(StatusFor(many, Options(4096)), 0);
  // The extension of the last chunk counts too, and so does a trailer's size.
  EXPECT_EQ(StatusFor(head + "0;" + std::string(2000, 'x') + "\r\n\r\n", Options(1024)), 413);
  EXPECT_EQ(StatusFor(head + "0\r\nX-T: " + std::string(200 << 10, 'x') + "\r\n\r\n"), 413);
  // Chunk data over the limit.
  EXPECT_EQ(StatusFor(head + "401\r\n" + std::string(1025, 'x') + "\r\n0\r\n\r\n"), 413);
  EXPECT_EQ(StatusFor(head + "400\r\n" + std::string(1024, 'x') + "\r\n0\r\n\r\n"), 0);
}

TEST(ParseHttpRequestTest, OtherLimitsAndMalformedInput) {
  EXPECT_EQ(
      StatusFor("POST /log HTTP/1.1\r\nContent-Length: 1025\r\n\r\n" + std::string(1025, 'x')),
      413);
  EXPECT_EQ(StatusFor("GET / HTTP/1.1\r\nX-Big: " + std::string(kMaxHeaderBytes, 'x') + "\r\n\r\n"),
            431);
  EXPECT_EQ(StatusFor(""), 400);
  EXPECT_EQ(StatusFor("GET / HTTP/1.1\r\n"), 400);                              // cut short
  EXPECT_EQ(StatusFor("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}"), 400);  // cut short
  EXPECT_EQ(StatusFor("THIS IS NOT HTTP\r\n\r\n"), 400);
  EXPECT_EQ(StatusFor("GET /\x01 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(StatusFor("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400);
  EXPECT_EQ(StatusFor("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
}

// --listen localhost:PORT was refused: the host had to be an IP address.
TEST(HttpServerTest, ListensOnAHostName) {
  HttpServerOptions options;
  options.host = "localhost";
  options.port = 0;
  auto server = HttpServer::Start(options, [](HttpRequest, HttpResponder respond) {
    respond(HttpResponse{200, {}, "{}"});
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Result<HttpResponse> r =
      SendHttpRequest("GET", "http://localhost:" + std::to_string((*server)->port()) + "/", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);

  options.host = "no-such-host.invalid";
  Result<std::unique_ptr<HttpServer>> bad =
      HttpServer::Start(options, [](HttpRequest, HttpResponder) {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no-such-host.invalid"), std::string::npos)
      << bad.status().message();
}

// A server on a free loopback port that answers every request with its body.
std::unique_ptr<HttpServer> StartEchoServer() {
  HttpServerOptions options;
  options.port = 0;
  auto server = HttpServer::Start(options, [](HttpRequest req, HttpResponder respond) {
    respond(HttpResponse{200, {}, std::move(req.body)});
  });
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

// Text of `size` bytes that differs along its length.
std::string Filler(size_t size) {
  std::string out;
  out.reserve(size);
  for (size_t i = 0; out.size() < size; ++i) out += std::to_string(i) + ",";
  out.resize(size);
  return out;
}

// Bodies of every size, one after another on one keep-alive connection: the
// server makes read room for large bodies and gives it up between requests,
// the client keeps room for large replies.
TEST(HttpServerTest, BodiesOfEverySizeGoBothWaysOnOneConnection) {
  std::unique_ptr<HttpServer> server = StartEchoServer();
  ASSERT_NE(server, nullptr);
  HttpConnection conn("127.0.0.1", std::to_string(server->port()));
  for (size_t size : {0, 1, 511, 512, 513, 5'000, 16'384, 16'385, 70'000, 300'000, 10, 2'000'000}) {
    const std::string body = Filler(size);
    Result<HttpResponse> r = conn.Send("POST", "/echo", body);
    ASSERT_TRUE(r.ok()) << size << ": " << r.status().ToString();
    EXPECT_EQ(r->status, 200) << size;
    EXPECT_EQ(r->body.size(), size);
    EXPECT_TRUE(r->body == body) << "the echo of " << size << " bytes differs";
  }
}

// A large chunked body and, in the same write, a second request: the bytes of
// the second survive the first's read room being given up.
TEST(HttpServerTest, APipelinedRequestAfterALargeChunkedBodyIsServed) {
  std::unique_ptr<HttpServer> server = StartEchoServer();
  ASSERT_NE(server, nullptr);
  testing::RawConnection conn(server->port());
  ASSERT_TRUE(conn.connected());
  const std::string big = Filler(60'000);
  std::string wire = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < big.size(); at += 20'000) {
    char line[16];
    std::snprintf(line, sizeof line, "%zx\r\n", std::min<size_t>(20'000, big.size() - at));
    wire += line + big.substr(at, 20'000) + "\r\n";
  }
  wire += "0\r\n\r\n";
  wire += "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  ASSERT_TRUE(conn.Send(wire));
  const std::string first = conn.ReadResponse(std::chrono::seconds(10));
  EXPECT_EQ(testing::StatusOf(first), 200) << first.substr(0, 200);
  EXPECT_TRUE(first.ends_with("\r\n\r\n" + big)) << first.substr(0, 200);
  const std::string second = conn.ReadResponse(std::chrono::seconds(10));
  EXPECT_EQ(testing::StatusOf(second), 200) << second;
  EXPECT_TRUE(second.ends_with("\r\n\r\nhello")) << second;
}

}  // namespace
}  // namespace pigtail

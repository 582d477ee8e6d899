// Unit tests of the HTTP client's URL parser and of the checks that keep a
// bad target or header off the wire.
#include "server/http_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pigtail {
namespace {

TEST(ParseHttpUrlTest, SplitsValidUrls) {
  struct Case {
    std::string url, host, port, target;
  };
  const std::vector<Case> cases = {
      {"http://127.0.0.1:8000", "127.0.0.1", "8000", "/"},
      {"http://example.com", "example.com", "80", "/"},
      {"http://example.com.", "example.com.", "80", "/"},
      {"http://node_2:1/event", "node_2", "1", "/event"},
      {"http://h:65535/a/b?x=1&y=%2F", "h", "65535", "/a/b?x=1&y=%2F"},
      {"http://h?q=1", "h", "80", "/?q=1"},
      {"http://h:1?a=b", "h", "1", "/?a=b"},
      // Found by fuzz/http_url_fuzz.cc: the brackets of an IPv6 host are not
      // part of the host, and the port after them was lost.
      {"http://[::1]:8001/event", "::1", "8001", "/event"},
      {"http://[::1]:9/x", "::1", "9", "/x"},
      {"http://[fe80::1]/", "fe80::1", "80", "/"},
      {"http://[2001:db8::7]/", "2001:db8::7", "80", "/"},
      {"http://h/;a=b,c!$&'()*+~@:", "h", "80", "/;a=b,c!$&'()*+~@:"},
  };
  for (const Case& c : cases) {
    Result<HttpUrl> url = ParseHttpUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status().ToString();
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->target, c.target) << c.url;
  }
}

TEST(ParseHttpUrlTest, RefusesAnythingThatIsNotASafeHttpUrl) {
  const std::vector<std::string> bad = {
      "",
      "https://h/",
      "HTTP://h/",
      "http://",
      "http:///x",
      "http://h/x\r\nX-Injected: yes",
      "http://h/x HTTP/1.1\r\nX: y\r\n\r\nGET /smuggled",
      "http://h/x\ny",
      "http://h/x y",
      "http://h/x\ty",
      std::string("http://h/x\0y", 12),
      "http://h/\x7f",
      "http://h/\xff",
      "http://h/a\"b",
      "http://h/a<b>",
      "http://h/a\\b",
      "http://h/a^b",
      "http://h/a`b",
      "http://h/a{b}",
      "http://h/a|b",
      "http://h/a[b]",
      "http://h/a#frag",
      "http://h#frag",
      "http://h/%",
      "http://h/%4",
      "http://h/%4g",
      "http://h\r\nX: y/",
      "http://h x/",
      "http://h%41/",
      "http://user:pw@h/",
      "http://@h/",
      "http://h:/",
      "http://h:0/",
      "http://h:65536/",
      "http://h:123456/",
      "http://h:-1/",
      "http://h:8a/",
      "http://h:1:2/",
      "http://:80/",
      "http://.h/",
      "http://a..b/",
      "http://" + std::string(64, 'a') + ".com/",
      "http://" + std::string(254, 'a') + "/",
      "http://[::1/",
      "http://[::1]x/",
      "http://[::1]:/",
      "http://[]:80/",
      "http://a:b:80/",
      "http://h]:80/",
      "http://[nope]/",
      "http://[fe80::1%eth0]/",
      "http://h/" + std::string(kMaxUrlBytes, 'a'),
  };
  for (const std::string& url : bad) {
    Result<HttpUrl> parsed = ParseHttpUrl(url);
    EXPECT_FALSE(parsed.ok()) << "accepted \"" << url << "\" as host \"" << parsed->host
                              << "\" target \"" << parsed->target << "\"";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ParseHttpUrlTest, LengthLimitIsInclusive) {
  std::string url = "http://h/";
  url += std::string(kMaxUrlBytes - url.size(), 'a');
  EXPECT_TRUE(ParseHttpUrl(url).ok());
  EXPECT_FALSE(ParseHttpUrl(url + "a").ok());
}

TEST(ParseHttpUrlTest, ErrorsQuoteOnlyShortPrintableUrls) {
  Result<HttpUrl> ctl = ParseHttpUrl("http://h/x\r\nX-Injected: yes");
  ASSERT_FALSE(ctl.ok());
  EXPECT_EQ(ctl.status().message().find('\r'), std::string::npos) << ctl.status().message();
  Result<HttpUrl> port = ParseHttpUrl("http://h:0/");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("\"http://h:0/\""), std::string::npos);
}

// Defence in depth: whatever a caller passes, no CR/LF reaches the wire.
// The checks run before connecting, so the port need not be open.
TEST(HttpConnectionTest, RefusesTargetsAndHeadersThatCouldEndALineEarly) {
  HttpConnection conn("127.0.0.1", "9");
  for (const char* target : {"/x\r\nX-Injected: yes", "/x HTTP/1.1", "x", "/\n", "/a#b"}) {
    Result<HttpResponse> r = conn.Send("GET", target, "");
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  for (const HttpHeaders& headers :
       {HttpHeaders{{"X-A", "1\r\nX-Injected: yes"}}, HttpHeaders{{"X-A\r\nX-B", "1"}},
        HttpHeaders{{"X-A", std::string("a\0b", 3)}}, HttpHeaders{{"", "1"}}}) {
    Result<HttpResponse> r = conn.Send("GET", "/", "", headers);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  Result<HttpResponse> sent = SendHttpRequest("POST", "http://127.0.0.1:9/x\r\nX: y", "{}");
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pigtail

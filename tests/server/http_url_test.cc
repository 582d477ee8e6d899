#include <gtest/gtest.h>

#include <string>

#include "server/http_client.h"

namespace pigtail {
namespace {

struct UrlCase {
  const char* url;
  const char* host;
  const char* port;
  const char* target;
};

TEST(ParseHttpUrlTest, Parts) {
  const UrlCase cases[] = {
      {"http://127.0.0.1:8000", "127.0.0.1", "8000", "/"},
      {"http://example.org/log/other?x=1", "example.org", "80", "/log/other?x=1"},
      {"http://h:1?a=b", "h", "1", "/?a=b"},
      // Found by fuzz/http_url_fuzz.cc: the brackets of an IPv6 host are not
      // part of the host, and the port after them was lost.
      {"http://[::1]:8001/event", "::1", "8001", "/event"},
      {"http://[fe80::1]/", "fe80::1", "80", "/"},
  };
  for (const UrlCase& c : cases) {
    Result<HttpUrl> url = ParseHttpUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status().ToString();
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->target, c.target) << c.url;
  }
}

TEST(ParseHttpUrlTest, Rejects) {
  for (const char* bad :
       {"https://h/", "http://", "http://u:p@h/", "http://h:99999/", "http://h:/", "http://[::1",
        "http://[::1]x/", "http://[]:80/", "http://a:b:80/", "http://h]:80/"}) {
    Result<HttpUrl> url = ParseHttpUrl(bad);
    EXPECT_FALSE(url.ok()) << bad << " parsed as host " << url->host << " port " << url->port;
    if (!url.ok()) {
      EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace pigtail

// ParseHttpUrl (peer and Potboiler URLs): never throws; a URL that parses
// has a host and a port of 1 to 5 digits up to 65535, a target starting with
// '/', and written back as http://HOST:PORT/TARGET (IPv6 hosts in brackets)
// parses to the same parts (when that is within kMaxUrlBytes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pigtail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<HttpUrl> url = ParseHttpUrl(text);
  if (!url.ok()) return 0;
  FUZZ_CHECK(!url->host.empty(), std::string(text));
  FUZZ_CHECK(!url->port.empty() && url->port.size() <= 5 &&
                 url->port.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(url->port) <= 65535,
             url->port);
  FUZZ_CHECK(url->target.starts_with("/"), url->target);
  const bool v6 = url->host.find(':') != std::string::npos;
  std::string written =
      "http://" + (v6 ? "[" + url->host + "]" : url->host) + ":" + url->port + url->target;
  // Writing the default port out can push a URL at the length limit over it.
  if (written.size() > kMaxUrlBytes) return 0;
  Result<HttpUrl> again = ParseHttpUrl(written);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(again->host == url->host && again->port == url->port && again->target == url->target,
             std::string(text) + " -> " + written + " -> host " + again->host + " port " +
                 again->port + " target " + again->target);
  return 0;
}

// libFuzzer target: arbitrary bytes as one HTTP request, read through the
// server's own parser configuration and framing checks (ParseHttpRequest,
// the code path of every connection). It must never crash, hang or read
// past its limits; a refusal must be a 4xx, and an accepted request must be
// within the body limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const pigtail::HttpServerOptions options = [] {
    pigtail::HttpServerOptions o;
    o.max_body_bytes = 64 << 10;  // small, so inputs reach the limits
    return o;
  }();
  int status = -1;
  pigtail::Result<pigtail::HttpRequest> request = pigtail::ParseHttpRequest(
      std::string_view(reinterpret_cast<const char*>(data), size), options, &status);
  if (request.ok()) {
    FUZZ_CHECK(status == 0, std::to_string(status));
    FUZZ_CHECK(request->body.size() <= options.max_body_bytes,
               std::to_string(request->body.size()));
  } else {
    FUZZ_CHECK(status >= 400 && status <= 499,
               std::to_string(status) + " " + request.status().ToString());
  }
  return 0;
}

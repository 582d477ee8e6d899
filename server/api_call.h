// Internal to the Api implementation (api*.cc): the state of one request.
#ifndef PIGTAIL_SERVER_API_CALL_H_
#define PIGTAIL_SERVER_API_CALL_H_

#include <chrono>
#include <string>

#include "server/api.h"
#include "server/api_util.h"

namespace pigtail {

// One access log line (server/log.h) for "METHOD target".
void WriteAccessLine(const std::string& access, int status, uint64_t latency_ns);

// Answers a request once and records it in the metrics. Copyable, so a
// sequencer callback can carry it.
struct Replier {
  std::string route = "unknown";
  std::chrono::steady_clock::time_point start;
  Metrics* metrics = nullptr;
  HttpResponder respond;
  std::string access;  // "METHOD target" when the access log is on

  void operator()(HttpResponse response) const {
    if (metrics != nullptr || !access.empty()) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
      if (metrics != nullptr) metrics->Record(route, response.status, static_cast<uint64_t>(ns));
      if (!access.empty()) WriteAccessLine(access, response.status, static_cast<uint64_t>(ns));
    }
    respond(std::move(response));
  }
};

struct Api::Call {
  HttpRequest request;
  api::Target target;
  Replier reply;
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_API_CALL_H_

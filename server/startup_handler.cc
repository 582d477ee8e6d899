#include "server/startup_handler.h"

#include "server/api_util.h"

namespace pigtail {

HttpResponse LoadingResponse(const HttpRequest& request) {
  const std::string_view path =
      std::string_view(request.target)
          .substr(0, std::min(request.target.find('?'), request.target.size()));
  if (request.method == "GET" && path == "/health") {
    return api::Json(200, R"({"status":"ok","loading":true})");
  }
  HttpResponse r =
      path == "/ready" && request.method == "GET"
          ? api::Json(
                503,
                R"({"ready":false,"reason":"loading: the node is reading its state and catching up from its log"})")
          : api::Error(503, "the node is still loading; retry shortly", "loading");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

void StartupHandler::Handle(HttpRequest request, HttpResponder respond) {
  if (Api* api = api_.load(std::memory_order_acquire)) {
    return api->Handle(std::move(request), std::move(respond));
  }
  respond(LoadingResponse(request));
}

}  // namespace pigtail

// pigtaild's HTTP handler from the moment it listens. Until the node has
// loaded (no Api set yet) it answers GET /health 200 with "loading":true,
// GET /ready 503 with the reason "loading", and every other request 503
// with Retry-After, so probes and clients can tell a node that is loading
// from one that is down. Once set_api() is called, every request goes to
// the Api.
//
// Thread-safe: Handle may run on any I/O thread while set_api is called.
#ifndef PIGTAIL_SERVER_STARTUP_HANDLER_H_
#define PIGTAIL_SERVER_STARTUP_HANDLER_H_

#include <atomic>

#include "server/api.h"
#include "server/http_message.h"
#include "server/http_server.h"

namespace pigtail {

// The answer of a node that is still loading (see StartupHandler).
HttpResponse LoadingResponse(const HttpRequest& request);

class StartupHandler {
 public:
  void Handle(HttpRequest request, HttpResponder respond);
  // REQUIRES: `api` outlives every Handle call made after this one.
  void set_api(Api* api) { api_.store(api, std::memory_order_release); }

 private:
  std::atomic<Api*> api_{nullptr};
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_STARTUP_HANDLER_H_

// Attached mode: a Pigtail node whose log is an external Potboiler node, as
// the original Pigtail ran (`pigtaild --potboiler-url URL`).
//
// The node registers its own POST /event URL with the external log, which
// then pushes every entry to it; those entries are stored verbatim in the
// node's local EventStore (its copy of the log, so a restart needs no
// re-delivery) and projected into its StateStore, deduplicated by id.
//
// The node writes nothing to a chain of its own. Every entry it would write
// (Create, Add, Progress, Done, ... and POST /log) goes through Write(),
// which the sequencer calls on its thread: POST URL/log with the data as the
// body (201 {"id"}; a redirect to Location: /log/{id} is accepted as well),
// then GET URL/log/{id} for the entry as the log stored
// it, which the sequencer stores and applies before it replies. So a reply
// means the external log accepted the entry and this node applied it: reads
// on this node see the node's own writes, and the sequencer decides every
// claim against a state that holds every earlier claim made here, so no
// lease is granted twice by one attached node. Nodes attached to the same log
// (or its peers) decide independently, as Pigtail peers do: at-least-once.
//
// Errors: the external log unreachable or timing out is Unavailable; an
// unexpected status or body from it is Unavailable with what it said (the
// client sees 503 and may retry). A request that writes several entries is
// not atomic in this mode: entries written before a failure stay in the log
// and arrive through /event.
//
// Thread safety: Write() is called from one thread at a time (the sequencer
// thread); Register() from any thread.
#ifndef PIGTAIL_SERVER_EXTERNAL_LOG_H_
#define PIGTAIL_SERVER_EXTERNAL_LOG_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/uuid.h"
#include "server/http_client.h"

namespace pigtail {

struct ExternalLogOptions {
  // Sent as "Authorization: Bearer <token>" when not empty.
  std::string token;
  std::chrono::milliseconds timeout{10'000};
};

class ExternalLog {
 public:
  // `base_url` is "http://HOST:PORT" of the Potboiler node. InvalidArgument
  // for a malformed URL.
  static Result<std::unique_ptr<ExternalLog>> Open(std::string_view base_url,
                                                   const ExternalLogOptions& options);
  ExternalLog(const ExternalLog&) = delete;
  ExternalLog& operator=(const ExternalLog&) = delete;

  const std::string& base_url() const { return base_url_; }

  // POST URL/log/register {"url": event_url}. 201 is success, also for a
  // repeat (204, from early Potboiler versions, too). Retries a refused connection or a 5xx until
  // `deadline` passes (the log may be starting too).
  Status Register(const std::string& event_url, std::chrono::milliseconds deadline);

  // POST URL/log/deregister {"url": event_url}: 204, or 404 when it was not
  // registered, are both success. A node with an empty local log does this
  // before Register, so that the log delivers everything from its first
  // entry rather than resuming a cursor kept from an earlier life.
  Status Deregister(const std::string& event_url);

  // Writes one entry (see the file comment) and returns it as stored.
  Result<Event> Write(const std::string& data_json, const std::vector<Uuid>& dependencies);

 private:
  ExternalLog(std::string base_url, HttpUrl url, const ExternalLogOptions& options);
  HttpHeaders Headers() const;

  const std::string base_url_;
  const HttpUrl url_;
  const ExternalLogOptions options_;
  HttpConnection connection_;  // Write() only
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_EXTERNAL_LOG_H_

// One log entry fetched from a peer by id (GET /log/{id}), the way hole
// filling, the walk and pigtail-replay's http:// source read it, and the
// form in which a node serves it.
//
// Thread safety: free functions over their arguments.
#ifndef PIGTAIL_SERVER_ENTRY_FETCH_H_
#define PIGTAIL_SERVER_ENTRY_FETCH_H_

#include <functional>
#include <optional>
#include <string>

#include "core/event_store.h"
#include "core/status.h"
#include "core/uuid.h"
#include "server/http_message.h"

namespace pigtail {

// GET /log/{id} serves the owner's bytes with the value of "next" spliced
// in (the Potboiler form). With `?raw=true` a Pigtail node serves the stored
// bytes verbatim instead, says so with kRawHeader: true, and names the next
// entry (if any) in kNextHeader. A peer that answers without kRawHeader (a
// Potboiler node, an older Pigtail) sent the Potboiler form.
inline constexpr char kRawHeader[] = "Pigtail-Raw";
inline constexpr char kNextHeader[] = "Pigtail-Next";

// The Potboiler form of a stored entry: its bytes with "next" set.
std::string ServedEntryJson(const RawRecord& record);

// One entry as a peer served it.
struct FetchedEntry {
  std::string bytes;         // the stored bytes, or the Potboiler form
  std::optional<Uuid> next;  // as the peer named it; nullopt when unreadable
  bool raw = false;          // `bytes` are the stored bytes exactly
};

// GET /log/{id} of a peer through `get` (one GET of a target, returning
// the response): asks for ?raw=true and reads either form. A 404 from a
// peer not yet known to serve raw (*serves_raw false) is asked again
// without the query, for a node that routes on the whole target. nullopt:
// the peer has no such entry. Unavailable for any other status than 200.
Result<std::optional<FetchedEntry>> FetchEntry(
    const std::function<Result<HttpResponse>(const std::string& target)>& get, const Uuid& id,
    bool* serves_raw);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_ENTRY_FETCH_H_

// The Potboiler log event (DESIGN.md §3, docs/event_format.md).
//
// An Event keeps the bytes it arrived as (`raw`) beside the parsed view.
// Identity is the id; `next` is not part of it: the store fills it in when
// serving, but the stored bytes stay as received.
#ifndef PIGTAIL_CORE_EVENT_H_
#define PIGTAIL_CORE_EVENT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hlc.h"
#include "core/queue_op.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail {

struct Event {
  Uuid id;
  Uuid owner;                // the node that created the event
  std::optional<Uuid> prev;  // the owner's previous event
  Hlc when;                  // as the owner stamped it, forever
  std::vector<Uuid> dependencies;
  OpParse op;       // what `data` means to the queue projector
  std::string raw;  // the JSON bytes exactly as received
};

// Parses a Potboiler event from its JSON text and keeps the text verbatim.
// Requires id, owner, when and data; prev may be null or absent; next is
// ignored; dependencies is optional. Never throws. (The parser is
// core/event_parser.h, with the op fields of core/op_grammar.h.)
Result<Event> ParseEvent(std::string raw);

// The fields of a new event this node creates.
struct NewEvent {
  Uuid id;
  Uuid owner;
  std::optional<Uuid> prev;
  Hlc when;
  std::string data_json;  // REQUIRES: valid JSON text
  std::vector<Uuid> dependencies;
};

// Serializes a new event as Potboiler writes it ("next":null, `when` as
// [E,[T],C]; "dependencies" only when not empty) and parses it back into an
// Event. Fails only if data_json is not valid JSON.
Result<Event> MakeEvent(const NewEvent& fields);

// The Event MakeEvent returns for a new event with these fields, no
// dependencies and SerializeQueueOp(op) as data, built without parsing
// anything back.
// REQUIRES: `op` reads back unchanged from SerializeQueueOp(op) (true of
// every op whose strings came from Boost.JSON: an AddOp's info_json must be
// json::serialize output).
Event MakeOpEvent(const Uuid& id, const Uuid& owner, const std::optional<Uuid>& prev,
                  const Hlc& when, QueueOp op);

// The event's stored bytes with the value of "next" set to `next` (or null),
// for serving; every other byte stays as the owner wrote it.
// REQUIRES: event.raw is a JSON object (true for every parsed Event).
std::string EventJsonWithNext(const Event& event, const std::optional<Uuid>& next);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_EVENT_H_

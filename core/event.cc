#include "core/event.h"

#include <boost/json.hpp>
#include <string_view>
#include <utility>

#include "core/event_parser.h"
#include "core/json_splice.h"

namespace pigtail {
namespace json = boost::json;

Result<Event> ParseEvent(std::string raw) {
  // Parsed in place: the parsed Event is not moved again.
  Result<Event> result{Event()};
  Event& event = *result;
  PIGTAIL_RETURN_IF_ERROR(ParseEventText(raw, &event));
  event.raw = std::move(raw);
  return result;
}

namespace {

// The text of a new event as Potboiler writes it, with `data_text` as data.
std::string NewEventJson(const NewEvent& fields, std::string_view data_text) {
  std::string raw;
  raw.reserve(160 + data_text.size() + 40 * fields.dependencies.size());
  raw += "{\"id\":\"";
  raw += fields.id.ToString();
  raw += "\",\"owner\":\"";
  raw += fields.owner.ToString();
  raw += "\",\"prev\":";
  if (fields.prev) {
    raw += '"';
    raw += fields.prev->ToString();
    raw += '"';
  } else {
    raw += "null";
  }
  raw += ",\"next\":null,\"when\":";
  raw += fields.when.ToJson();
  raw += ",\"data\":";
  raw += data_text;
  if (!fields.dependencies.empty()) {
    raw += ",\"dependencies\":[";
    for (size_t i = 0; i < fields.dependencies.size(); ++i) {
      if (i > 0) raw += ',';
      raw += '"';
      raw += fields.dependencies[i].ToString();
      raw += '"';
    }
    raw += ']';
  }
  raw += '}';
  return raw;
}

}  // namespace

Result<Event> MakeEvent(const NewEvent& fields) {
  // The tree lives in an arena on the stack: a typical data needs no heap.
  unsigned char buffer[4096];
  json::monotonic_resource arena(buffer, sizeof(buffer));
  boost::system::error_code ec;
  json::value data = json::parse(fields.data_json, ec, json::storage_ptr(&arena));
  if (ec) return Status::InvalidArgument("data is not valid JSON: " + ec.message());
  return ParseEvent(NewEventJson(fields, json::serialize(data)));
}

Event MakeOpEvent(const Uuid& id, const Uuid& owner, const std::optional<Uuid>& prev,
                  const Hlc& when, QueueOp op) {
  NewEvent fields{id, owner, prev, when, SerializeQueueOp(op), {}};
  Event e;
  e.raw = NewEventJson(fields, fields.data_json);
  e.id = id;
  e.owner = owner;
  e.prev = prev;
  e.when = when;
  e.op = std::move(op);
  return e;
}

std::string EventJsonWithNext(const Event& event, const std::optional<Uuid>& next) {
  // Appended piece by piece: GCC 12 at -O3 takes `"\"" + id + "\""` for an
  // overlapping copy (a false -Wrestrict).
  std::string value = "null";
  if (next) {
    value.assign(1, '"');
    next->AppendTo(&value);
    value.push_back('"');
  }
  return SpliceTopLevelMember(event.raw, "next", value);
}

}  // namespace pigtail

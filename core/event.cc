#include "core/event.h"

#include <boost/json.hpp>

#include "core/json_fields.h"

namespace pigtail {
namespace json = boost::json;

namespace {

// One parser per thread, reused across events so that its internal stack is
// allocated once; each parse puts its tree in a monotonic arena that starts
// in a per-thread buffer, so a typical event needs no heap allocation for the
// tree at all. The tree never outlives the call that built it.
class ReusedParser {
 public:
  // Parses `text` into a tree held in `arena`; same grammar, limits and
  // errors as json::parse with default options.
  json::value Parse(std::string_view text, json::monotonic_resource* arena,
                    boost::system::error_code& ec) {
    parser_.reset(json::storage_ptr(arena));
    parser_.write(text.data(), text.size(), ec);
    if (ec) return nullptr;
    return parser_.release();
  }

  unsigned char* buffer() { return buffer_; }
  static constexpr size_t kBufferSize = 8192;

 private:
  json::parser parser_;
  unsigned char buffer_[kBufferSize];
};

ReusedParser& ThreadParser() {
  thread_local ReusedParser parser;
  return parser;
}

}  // namespace

Result<Event> ParseEvent(std::string raw) {
  boost::system::error_code ec;
  ReusedParser& parser = ThreadParser();
  json::monotonic_resource arena(parser.buffer(), ReusedParser::kBufferSize);
  json::value v = parser.Parse(raw, &arena, ec);
  if (ec) return Status::InvalidArgument("event is not valid JSON: " + ec.message());
  if (!v.is_object()) return Status::InvalidArgument("event must be a JSON object");
  const json::object& o = v.get_object();

  Event event;
  const json::value* id = o.if_contains("id");
  const json::value* owner = o.if_contains("owner");
  const json::value* when = o.if_contains("when");
  const json::value* data = o.if_contains("data");
  if (id == nullptr) return Status::InvalidArgument("event has no \"id\"");
  if (owner == nullptr) return Status::InvalidArgument("event has no \"owner\"");
  if (when == nullptr) return Status::InvalidArgument("event has no \"when\"");
  if (data == nullptr) return Status::InvalidArgument("event has no \"data\"");
  PIGTAIL_ASSIGN_OR_RETURN(event.id, json_fields::ToUuid(*id, "\"id\""));
  PIGTAIL_ASSIGN_OR_RETURN(event.owner, json_fields::ToUuid(*owner, "\"owner\""));
  PIGTAIL_ASSIGN_OR_RETURN(event.when, json_fields::ToHlc(*when, "\"when\""));
  if (const json::value* prev = o.if_contains("prev"); prev != nullptr && !prev->is_null()) {
    PIGTAIL_ASSIGN_OR_RETURN(event.prev, json_fields::ToUuid(*prev, "\"prev\""));
  }
  if (const json::value* deps = o.if_contains("dependencies");
      deps != nullptr && !deps->is_null()) {
    if (!deps->is_array()) return Status::InvalidArgument("\"dependencies\" must be an array");
    for (const json::value& d : deps->get_array()) {
      PIGTAIL_ASSIGN_OR_RETURN(Uuid dep, json_fields::ToUuid(d, "dependency"));
      event.dependencies.push_back(dep);
    }
  }
  event.op = ParseQueueOp(*data);
  event.raw = std::move(raw);
  return event;
}

Result<Event> MakeEvent(const NewEvent& fields) {
  boost::system::error_code ec;
  json::value data = json::parse(fields.data_json, ec);
  if (ec) return Status::InvalidArgument("data is not valid JSON: " + ec.message());
  std::string raw =
      "{\"id\":\"" + fields.id.ToString() + "\",\"owner\":\"" + fields.owner.ToString() +
      "\",\"prev\":" + (fields.prev ? "\"" + fields.prev->ToString() + "\"" : "null") +
      ",\"next\":null,\"when\":" + fields.when.ToJson() + ",\"data\":" + json::serialize(data);
  if (!fields.dependencies.empty()) {
    raw += ",\"dependencies\":[";
    for (size_t i = 0; i < fields.dependencies.size(); ++i) {
      if (i > 0) raw += ',';
      raw += "\"" + fields.dependencies[i].ToString() + "\"";
    }
    raw += ']';
  }
  raw += '}';
  return ParseEvent(std::move(raw));
}

std::string EventJsonWithNext(const Event& event, const std::optional<Uuid>& next) {
  boost::system::error_code ec;
  json::value v = json::parse(event.raw, ec);
  if (ec || !v.is_object()) return event.raw;
  json::object& o = v.get_object();
  if (next) {
    o["next"] = next->ToString();
  } else {
    o["next"] = nullptr;
  }
  return json::serialize(v);
}

}  // namespace pigtail

// The Potboiler event parser (ParseEvent): it never throws, an event keeps
// its bytes verbatim, the meaning does not depend on the layout (the text
// and Boost.JSON's compact re-serialization of it give the same event or
// the same error), and the JSON it is served as (with "next") parses back
// to the same event.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/event.h"
#include "fuzz/fuzz_check.h"

namespace pigtail {
namespace {

bool SameEvent(const Event& a, const Event& b) {
  return a.id == b.id && a.owner == b.owner && a.prev == b.prev && a.when == b.when &&
         a.dependencies == b.dependencies && a.op == b.op;
}

}  // namespace
}  // namespace pigtail

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pigtail;
  std::string text(reinterpret_cast<const char*>(data), size);
  Result<Event> event = ParseEvent(text);
  boost::system::error_code ec;
  boost::json::value tree = boost::json::parse(text, ec);
  if (ec) {
    FUZZ_CHECK(!event.ok(), "not JSON, yet parsed");
    return 0;
  }
  const std::string compact = boost::json::serialize(tree);
  // Only a layout Boost.JSON round-trips says anything: some number texts
  // do not (0e445 reads as NaN, which serializes as no JSON number).
  boost::json::value reparsed = boost::json::parse(compact, ec);
  if (ec || reparsed != tree) return 0;
  Result<Event> again = ParseEvent(compact);
  FUZZ_CHECK(event.ok() == again.ok(), "layout changed the outcome: " + event.status().ToString() +
                                           "; compact: " + again.status().ToString());
  if (!event.ok()) {
    FUZZ_CHECK(event.status() == again.status(), "layout changed the error: " + compact);
    return 0;
  }
  FUZZ_CHECK(SameEvent(*event, *again), "layout changed the event: " + compact);
  FUZZ_CHECK(event->raw == text, "raw bytes changed");
  for (const std::optional<Uuid>& next : {std::optional<Uuid>(), std::optional<Uuid>(event->id)}) {
    std::string served = EventJsonWithNext(*event, next);
    Result<Event> back = ParseEvent(served);
    FUZZ_CHECK(back.ok(), back.status().ToString() + ": " + served);
    FUZZ_CHECK(SameEvent(*back, *event), "served form differs: " + served);
  }
  return 0;
}

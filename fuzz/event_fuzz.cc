// The Potboiler event parser: the SAX fast path (ParseEvent) and the tree
// parser (ParseEventWithTree) agree on every input, an event keeps its bytes
// verbatim, and the JSON it is served as (with "next") parses back to the
// same event.
#include <cstddef>
#include <cstdint>
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
  Result<Event> fast = ParseEvent(text);
  Result<Event> tree = ParseEventWithTree(text);
  FUZZ_CHECK(fast.ok() == tree.ok(),
             "fast path: " + fast.status().ToString() + "; tree: " + tree.status().ToString());
  if (!fast.ok()) return 0;
  FUZZ_CHECK(SameEvent(*fast, *tree), "the parsers disagree on the fields");
  FUZZ_CHECK(fast->raw == text, "raw bytes changed");
  FUZZ_CHECK(tree->raw == text, "raw bytes changed");
  for (const std::optional<Uuid>& next : {std::optional<Uuid>(), std::optional<Uuid>(fast->id)}) {
    std::string served = EventJsonWithNext(*fast, next);
    Result<Event> back = ParseEvent(served);
    FUZZ_CHECK(back.ok(), back.status().ToString() + ": " + served);
    FUZZ_CHECK(SameEvent(*back, *fast), "served form differs: " + served);
  }
  return 0;
}

// Entry arrays (GET /log/range, POST /log/batch): the split keeps each
// element's bytes verbatim, and what parses encodes back to an array that
// parses to the same entries with the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/entry_array.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pigtail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<std::vector<std::string_view>> split = SplitJsonObjectArray(text);
  if (split.ok()) {
    for (std::string_view element : *split) {
      FUZZ_CHECK(element.data() >= text.data() &&
                     element.data() + element.size() <= text.data() + text.size(),
                 "an element is not a slice of the input");
      FUZZ_CHECK(element.size() >= 2 && element.front() == '{' && element.back() == '}',
                 std::string(element));
    }
  }
  Result<std::vector<Event>> events = ParseEntryArray(text);
  if (!events.ok()) return 0;
  FUZZ_CHECK(split.ok() && split->size() == events->size(), "split and parse disagree");
  for (size_t i = 0; i < events->size(); ++i) {
    FUZZ_CHECK((*events)[i].raw == (*split)[i], "element bytes changed");
  }
  std::string encoded = EncodeEntryArray(std::span<const Event>(*events));
  Result<std::vector<Event>> again = ParseEntryArray(encoded);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(again->size() == events->size(), encoded);
  for (size_t i = 0; i < events->size(); ++i) {
    FUZZ_CHECK((*again)[i].raw == (*events)[i].raw && (*again)[i].id == (*events)[i].id, encoded);
  }
  return 0;
}

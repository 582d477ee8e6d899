// The wire form of a batch of log entries between Pigtail nodes (GET
// /log/range, POST /log/batch): a JSON array whose elements are the entries'
// stored bytes, verbatim, e.g. `[{"id":...},{"id":...}]`. Splitting keeps
// each element's bytes exactly as sent, so an entry replicated through any
// number of nodes is stored with the bytes its owner wrote.
//
// Thread safety: free functions over their arguments.
#ifndef PIGTAIL_SERVER_ENTRY_ARRAY_H_
#define PIGTAIL_SERVER_ENTRY_ARRAY_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/event_store.h"
#include "core/status.h"

namespace pigtail {

// "[" raw "," raw ... "]" of the events' stored bytes.
std::string EncodeEntryArray(std::span<const RawRecord> records);
std::string EncodeEntryArray(std::span<const Event> events);

// How many entries of `records`, from index `from` on, EncodeEntryArray
// writes in at most `max_bytes`; at least one when `from` is in range (an
// entry larger than `max_bytes` goes alone).
size_t EntriesWithin(const std::vector<RawRecord>& records, size_t from, size_t max_bytes);

// The GET /log/range response header that says a page was cut short by its
// size: more entries follow.
inline constexpr char kTruncatedHeader[] = "Pigtail-Truncated";

// The text of each element of a JSON array of objects, verbatim.
// InvalidArgument when `text` is not an array of objects (an unterminated
// string or object, a non-object element, trailing bytes).
Result<std::vector<std::string_view>> SplitJsonObjectArray(std::string_view text);

// Splits and parses every element with ParseEvent. InvalidArgument names
// the index of the first element that is not an entry.
Result<std::vector<Event>> ParseEntryArray(std::string_view text);

// A timestamp as the `after_when` query parameter of GET /log/range:
// "E.T.C" in decimal.
std::string HlcQueryText(const Hlc& hlc);
Result<Hlc> ParseHlcQueryText(std::string_view text);

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_ENTRY_ARRAY_H_

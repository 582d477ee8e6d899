// The lines of a log dump (docs/replay.md, "The dump format"): JSONL, one
// entry per line, holding every entry's stored bytes exactly.
//
//  * An entry whose bytes hold no line break ('\n' or '\r') is written as
//    its bytes, verbatim: the line is the entry's JSON object.
//  * Any other entry is written as one JSON string whose value is its bytes.
//
// An entry is a JSON object, so a line that starts with '"' is always the
// second form; a dump written before the second form existed reads the same.
#ifndef PIGTAIL_REPLAY_DUMP_LINE_H_
#define PIGTAIL_REPLAY_DUMP_LINE_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace pigtail::replay {

// The line (without its "\n") that holds an entry with these stored bytes.
std::string DumpLine(std::string_view bytes);

// The stored bytes a dump line (without its "\n") holds. InvalidArgument
// for a line in the string form that is not one JSON string.
Result<std::string> DumpLineBytes(std::string_view line);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_DUMP_LINE_H_

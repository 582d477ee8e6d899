// An EventSource over a JSONL dump: one Potboiler event per line, its bytes
// exactly as stored, verbatim or as a JSON string (replay/dump_line.h; what
// `pigtail-replay export` writes). Positions
// are 1-based line numbers. An empty final line (the file ends with "\n")
// is not a record; any other empty line, and any line that does not parse as
// an event, is a corrupt record.
#ifndef PIGTAIL_REPLAY_JSONL_SOURCE_H_
#define PIGTAIL_REPLAY_JSONL_SOURCE_H_

#include <cstdio>
#include <memory>
#include <string>

#include "replay/event_source.h"

namespace pigtail::replay {

// Opens `path` ("-" reads stdin). IOError if it cannot be opened.
Result<std::unique_ptr<EventSource>> OpenJsonlSource(const std::string& path,
                                                     CorruptionReporter* reporter);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_JSONL_SOURCE_H_

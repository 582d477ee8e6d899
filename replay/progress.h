// Progress reporting for long replay steps: a sink interface, and a
// terminal implementation that redraws one status line on stderr
// (events/s, done/total, ETA).
#ifndef PIGTAIL_REPLAY_PROGRESS_H_
#define PIGTAIL_REPLAY_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "replay/event_source.h"

namespace pigtail::replay {

struct ProgressSnapshot {
  std::string_view phase;  // "rebuild", "verify", "merge", ...
  uint64_t events = 0;     // events handled so far in this phase
  SourceProgress source;   // the source's own count (events or bytes)
  double seconds = 0;      // since the phase started
};

// Receives snapshots. Implementations decide how often to show them.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Update(const ProgressSnapshot& snapshot) = 0;
  // The phase is over; `snapshot` holds its final figures.
  virtual void Finish(const ProgressSnapshot& snapshot) = 0;
};

// Draws at most every `interval` on `out` with a carriage return, and a
// final line with a newline. Not thread-safe.
std::unique_ptr<ProgressSink> NewTerminalProgress(
    std::FILE* out, std::chrono::milliseconds interval = std::chrono::milliseconds(250));

// One status line, e.g.
// "rebuild: 412,000 events  183,211 ev/s  41.2 MiB/96.0 MiB (42.9%)  ETA 3s".
std::string FormatProgress(const ProgressSnapshot& snapshot);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_PROGRESS_H_

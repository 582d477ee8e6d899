// The queue projector: state' = apply(state, event). Pure: no clock reads,
// no randomness, no I/O. Applying events in any order, any number of times,
// gives the same registers (see docs/registers.md).
#ifndef PIGTAIL_CORE_PROJECTOR_H_
#define PIGTAIL_CORE_PROJECTOR_H_

#include <cstdint>
#include <string>

#include "core/event.h"
#include "core/state.h"

namespace pigtail {

enum class ApplyKind {
  kChanged,    // a queue op that changed at least one register
  kUnchanged,  // a queue op that lost to what the registers already hold
  kForeign,    // data that is not a queue op; stored, not projected
  kRejected,   // a malformed queue op; recorded with its reason
};

struct ApplyOutcome {
  ApplyKind kind = ApplyKind::kUnchanged;
  std::string reason;  // for kRejected
};

// Running totals of outcomes, for metrics and replay reports.
struct ApplyStats {
  uint64_t changed = 0;
  uint64_t unchanged = 0;
  uint64_t foreign = 0;
  uint64_t rejected = 0;
  void Count(const ApplyOutcome& outcome);
  uint64_t total() const { return changed + unchanged + foreign + rejected; }
};

// Applies one event to `state`. Never throws on bad data.
ApplyOutcome ApplyEvent(const Event& event, State* state);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_PROJECTOR_H_

// Register-by-register comparison of an expected State (usually a rebuild
// from the log) with what a StateStore holds: the core of `verify`.
#ifndef PIGTAIL_REPLAY_STATE_DIFF_H_
#define PIGTAIL_REPLAY_STATE_DIFF_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/state.h"
#include "core/state_store.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail::replay {

struct RegisterDifference {
  enum class Kind { kQueue, kTask, kRejected, kDigest };
  Kind kind = Kind::kTask;
  std::string queue;                    // kQueue, kTask, kDigest (empty: the total)
  std::optional<Uuid> id;               // kTask: task id; kRejected: event id
  std::optional<std::string> expected;  // JSON of the decoded record; nullopt: absent
  std::optional<std::string> actual;    // likewise
  // Set when the stored register exists but does not decode (actual is then
  // nullopt): why. A task register whose id could not be learned has no id.
  std::optional<std::string> undecodable = std::nullopt;

  // One line: "task q/<id>: expected {...} actual {...}" (actual
  // "(does not decode: ...)" for an undecodable register).
  std::string ToString() const;
};

std::string_view DifferenceKindName(RegisterDifference::Kind kind);

struct StateDiff {
  std::vector<RegisterDifference> differences;  // at most max_differences
  uint64_t total = 0;                           // all differences found
  // Registers on either side, each key counted once.
  uint64_t registers_compared = 0;
  uint64_t registers_expected = 0;  // in `expected`
  uint64_t registers_stored = 0;    // in the store, undecodable ones included
  uint64_t undecodable = 0;         // stored registers that do not decode
};

// Compares every queue, task and rejected register, and the stored digests,
// of `actual` with `expected`. Reads `actual` a page at a time; memory is one
// page plus the sorted ids of one expected queue. A stored register that
// does not decode (Corruption from the store) is a difference, reported
// with its key, and the comparison goes on with the rest; its id is learned
// by probing the ids `expected` has (GetTask), so a register whose id the
// log does not have is reported without one.
// FailedPrecondition if expected.digests_stale().
Result<StateDiff> DiffStateWithStore(const State& expected, StateStore* actual,
                                     size_t max_differences = 1000);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_STATE_DIFF_H_

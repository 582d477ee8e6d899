// What replay does with a record it cannot read (a line that is not a valid
// Potboiler event, a stored event that does not decode). Modelled on
// RocksDB's WALRecoveryMode: named policies, each with the situation it is
// meant for.
#ifndef PIGTAIL_REPLAY_CORRUPTION_H_
#define PIGTAIL_REPLAY_CORRUPTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pigtail::replay {

enum class CorruptionPolicy {
  // Fail at the first unreadable record with its position (line or sequence
  // number) and the reason. Use it by default, and whenever the log is the
  // only copy: a rebuild must not silently drop events, and an operator
  // should look at the record before deciding.
  kStop,
  // Skip unreadable records, count them and keep the first few positions
  // and reasons for the report. Use it to salvage a damaged dump (a torn
  // last line after a crash, a hand-edited file), or to compare what the
  // readable part of a log projects to; never for a rebuild that replaces
  // live state without reading the report.
  kSkipAndCount,
};

// "stop" / "skip".
std::string_view CorruptionPolicyName(CorruptionPolicy policy);
// Accepts the names above; InvalidArgument otherwise.
Result<CorruptionPolicy> ParseCorruptionPolicy(std::string_view name);

struct CorruptRecord {
  uint64_t position = 0;  // line number (JSONL) or sequence number (store)
  std::string reason;
};

// Collects corrupt records under a policy, like LevelDB's
// log::Reader::Reporter. Not thread-safe.
class CorruptionReporter {
 public:
  static constexpr size_t kKeptRecords = 20;

  explicit CorruptionReporter(CorruptionPolicy policy) : policy_(policy) {}

  // Reports an unreadable record. Returns a Corruption status naming
  // `position_name` and `position` under kStop; counts it and returns OK under
  // kSkipAndCount.
  Status Report(std::string_view position_name, uint64_t position, std::string_view reason);

  CorruptionPolicy policy() const { return policy_; }
  uint64_t skipped() const { return skipped_; }
  // The first kKeptRecords records skipped.
  const std::vector<CorruptRecord>& first_records() const { return first_; }

 private:
  CorruptionPolicy policy_;
  uint64_t skipped_ = 0;
  std::vector<CorruptRecord> first_;
};

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_CORRUPTION_H_

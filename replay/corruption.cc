#include "replay/corruption.h"

namespace pigtail::replay {

std::string_view CorruptionPolicyName(CorruptionPolicy policy) {
  switch (policy) {
    case CorruptionPolicy::kStop:
      return "stop";
    case CorruptionPolicy::kSkipAndCount:
      return "skip";
  }
  return "unknown";
}

Result<CorruptionPolicy> ParseCorruptionPolicy(std::string_view name) {
  if (name == "stop") return CorruptionPolicy::kStop;
  if (name == "skip") return CorruptionPolicy::kSkipAndCount;
  return Status::InvalidArgument("unknown corruption policy \"" + std::string(name) +
                                 "\" (expected stop or skip)");
}

Status CorruptionReporter::Report(std::string_view position_name, uint64_t position,
                                  std::string_view reason) {
  if (policy_ == CorruptionPolicy::kStop) {
    return Status::Corruption(std::string(position_name) + " " + std::to_string(position) + ": " +
                              std::string(reason));
  }
  ++skipped_;
  if (first_.size() < kKeptRecords) first_.push_back({position, std::string(reason)});
  return Status::Ok();
}

}  // namespace pigtail::replay

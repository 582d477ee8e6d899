#include "tests/core/state_checks.h"

#include "core/codec.h"

namespace pigtail::testing {

Digest DigestFromScratch(const State& state) {
  Digest total;
  for (const auto& [name, slot] : state.queues()) {
    if (slot.record) total.Add(Digest::Of(EncodeQueueRecord(*slot.record)));
    for (const auto& [id, task] : slot.tasks) total.Add(Digest::Of(EncodeTaskRecord(task)));
  }
  for (const auto& [id, reason] : state.rejected()) {
    total.Add(Digest::Of(EncodeRejected(id, reason)));
  }
  return total;
}

}  // namespace pigtail::testing

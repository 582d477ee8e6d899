// The registers a batch of events changed, with the checkpoint and digests
// that go with them: the unit a StateStore commits atomically.
#ifndef PIGTAIL_CORE_STATE_BATCH_H_
#define PIGTAIL_CORE_STATE_BATCH_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/codec.h"
#include "core/digest.h"
#include "core/queue_tally.h"
#include "core/registers.h"
#include "core/uuid.h"

namespace pigtail {

struct StateBatch {
  std::vector<QueueRecord> queues;  // new values of changed queue registers
  std::vector<TaskRecord> tasks;    // new values of changed task registers
  // Either empty or task_bytes[i] == EncodeTaskRecord(tasks[i]), so a store
  // need not encode again (State::TakeChanges fills it; a batch built by
  // hand may leave it empty, and must clear it when it edits `tasks`).
  std::vector<std::string> task_bytes;
  std::vector<std::pair<Uuid, std::string>> rejected;  // newly rejected ops
  std::map<std::string, Digest> queue_digests;         // new digests of the queues touched
  std::map<std::string, QueueTally> queue_tallies;     // new tallies of the same queues
  Digest total_digest;                                 // digest of the whole state after
  uint64_t checkpoint = 0;                             // the last log sequence number applied

  bool empty() const { return queues.empty() && tasks.empty() && rejected.empty(); }

  // EncodeTaskRecord(tasks[i]): task_bytes[i] when filled, else encoded
  // into `*scratch`. Valid until the batch or `*scratch` changes.
  std::string_view TaskEncoding(size_t i, std::string* scratch) const {
    if (task_bytes.size() == tasks.size()) return task_bytes[i];
    *scratch = EncodeTaskRecord(tasks[i]);
    return *scratch;
  }
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_STATE_BATCH_H_

#include "core/registers.h"

#include <algorithm>
#include <utility>

namespace pigtail {

bool MergeStatus(TaskStatus* reg, const TaskStatus& incoming) {
  if (incoming.key <= reg->key) return false;
  *reg = incoming;
  return true;
}

bool MergeTaskStatus(TaskRecord* task, const TaskStatus& incoming) {
  if (!MergeStatus(&task->status, incoming)) return false;
  if (Purged(*task)) {
    task->add.reset();
    task->progress.reset();
    task->failures.clear();
  }
  return true;
}

bool MergeProgress(TaskRecord* task, const TaskProgress& incoming) {
  if (Purged(*task) || (task->progress && incoming.stamp <= task->progress->stamp)) return false;
  task->progress = incoming;
  return true;
}

bool MergeFailure(TaskRecord* task, const FailedAttempt& incoming) {
  if (Purged(*task)) return false;
  std::vector<FailedAttempt>& failures = task->failures;
  auto attempt = [](const AttemptStamp& s) { return std::pair(s.round, s.lease); };
  auto it = std::lower_bound(failures.begin(), failures.end(), incoming,
                             [&](const FailedAttempt& a, const FailedAttempt& b) {
                               return attempt(a.stamp) < attempt(b.stamp);
                             });
  if (it != failures.end() && attempt(it->stamp) == attempt(incoming.stamp)) {
    if (incoming.stamp <= it->stamp) return false;
    *it = incoming;
    return true;
  }
  if (failures.size() == kMaxFailures && it == failures.begin()) return false;
  failures.insert(it, incoming);
  if (failures.size() > kMaxFailures) failures.erase(failures.begin());
  return true;
}

bool QueuePaused(const QueueRecord& queue) {
  return queue.paused && queue.last_pause &&
         (!queue.last_delete || *queue.last_delete < *queue.last_pause);
}

bool TaskVisible(const TaskRecord& task, const QueueRecord* queue) {
  if (queue == nullptr || !queue->alive || !task.add) return false;
  return !queue->last_delete || Stamp{task.add->hlc, task.id} > *queue->last_delete;
}

bool QueueWriteTakesEffect(const QueueRecord* queue, QueueWrite kind, const Stamp& stamp) {
  if (queue == nullptr) return true;
  if (kind == QueueWrite::kCreateOrDelete) return stamp > queue->last;
  return !queue->last_delete || stamp > *queue->last_delete;
}

}  // namespace pigtail

#include "core/registers.h"

namespace pigtail {

bool MergeStatus(TaskStatus* reg, const TaskStatus& incoming) {
  if (incoming.key <= reg->key) return false;
  *reg = incoming;
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

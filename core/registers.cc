#include "core/registers.h"

namespace pigtail {

bool MergeStatus(TaskStatus* reg, const TaskStatus& incoming) {
  if (incoming.key <= reg->key) return false;
  *reg = incoming;
  return true;
}

bool TaskVisible(const TaskRecord& task, const QueueRecord* queue) {
  if (queue == nullptr || !queue->alive || !task.add) return false;
  return !queue->last_delete || Stamp{task.add->hlc, task.id} > *queue->last_delete;
}

}  // namespace pigtail

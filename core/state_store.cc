#include "core/state_store.h"

namespace pigtail {

Result<std::vector<TaskRecord>> StateStore::GetTasks(std::vector<TaskKey> keys) {
  if (keys.empty()) return std::vector<TaskRecord>();
  SortUnique(&keys);
  return ReadTasks(keys);
}

Result<std::vector<TaskRecord>> StateStore::ReadTasks(const std::vector<TaskKey>& keys) {
  std::vector<TaskRecord> found;
  for (const TaskKey& key : keys) {
    PIGTAIL_ASSIGN_OR_RETURN(std::optional<TaskRecord> task, GetTask(key.queue, key.id));
    if (task) found.push_back(std::move(*task));
  }
  return found;
}

}  // namespace pigtail

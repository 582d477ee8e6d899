#include "core/state_store.h"

namespace pigtail {

Result<std::vector<TaskRecord>> StateStore::GetTasks(std::vector<TaskKey> keys) {
  if (keys.empty()) return std::vector<TaskRecord>();
  SortUnique(&keys);
  return ReadTasks(keys);
}

std::vector<std::string> StateStore::PutStoredTallies(
    State* state, const std::map<std::string, Digest>& digests,
    const std::map<std::string, QueueTally>& tallies) {
  std::map<std::string, QueueTally> all = tallies;
  for (const auto& [name, digest] : digests) all.try_emplace(name);
  std::vector<std::string> names;
  for (const auto& [name, tally] : all) {
    auto digest = digests.find(name);
    state->PutStoredTally(name, digest == digests.end() ? Digest{} : digest->second, tally);
    names.push_back(name);
  }
  return names;
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

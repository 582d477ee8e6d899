#include "replay/commit_pipeline.h"

#include <utility>

namespace pigtail::replay {

CommitPipeline::~CommitPipeline() {
  if (in_flight_.valid()) in_flight_.wait();
}

Status CommitPipeline::Start(bool sync) {
  PIGTAIL_RETURN_IF_ERROR(Finish());
  if (!overlap_) return target_->Commit(next_, sync);
  std::swap(next_, writing_);
  for (size_t i = 0; i < writing_.tasks.size(); ++i)
    writing_tasks_.emplace(writing_.tasks[i].id, i);
  in_flight_ =
      std::async(std::launch::async, [this, sync]() { return target_->Commit(writing_, sync); });
  return Status::Ok();
}

Status CommitPipeline::Finish() {
  if (!in_flight_.valid()) return Status::Ok();
  writing_tasks_.clear();
  return in_flight_.get();
}

Result<std::vector<TaskRecord>> CommitPipeline::GetTasks(std::vector<TaskKey> keys) {
  std::vector<TaskRecord> held;
  if (!writing_tasks_.empty()) {
    std::erase_if(keys, [&](const TaskKey& key) {
      auto [first, last] = writing_tasks_.equal_range(key.id);
      for (auto it = first; it != last; ++it) {
        const TaskRecord& task = writing_.tasks[it->second];
        if (task.queue != key.queue) continue;
        held.push_back(task);
        return true;
      }
      return false;
    });
  }
  if (keys.empty()) return held;
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<TaskRecord> stored, target_->GetTasks(std::move(keys)));
  stored.insert(stored.end(), std::make_move_iterator(held.begin()),
                std::make_move_iterator(held.end()));
  return stored;
}

}  // namespace pigtail::replay

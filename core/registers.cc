#include "core/registers.h"

#include <algorithm>
#include <utility>

namespace pigtail {

bool MergeStatus(TaskStatus* reg, const TaskStatus& incoming) {
  if (incoming.key <= reg->key) return false;
  *reg = incoming;
  return true;
}

bool TaskRecord::operator==(const TaskRecord& other) const {
  return queue == other.queue && id == other.id && add == other.add && status == other.status &&
         History(*this) == History(other);
}

namespace {

// Calls change(history) on a copy of the task's history and keeps the copy
// (or none, if it is empty) when it returns true: the shared original never
// changes.
template <typename Change>
bool ChangeHistory(TaskRecord* task, Change&& change) {
  if (Purged(*task)) return false;
  auto copy = std::make_shared<TaskHistory>(History(*task));
  if (!change(*copy)) return false;
  if (copy->empty()) {
    task->history.reset();
  } else {
    task->history = std::move(copy);
  }
  return true;
}

}  // namespace

bool MergeTaskStatus(TaskRecord* task, const TaskStatus& incoming, std::string_view result_json) {
  if (!MergeStatus(&task->status, incoming)) return false;
  if (Purged(*task)) {
    task->add.reset();
    task->history.reset();
  } else if ((task->history != nullptr || !result_json.empty()) &&
             History(*task).result_json != result_json) {
    ChangeHistory(task, [&](TaskHistory& h) {
      h.result_json = result_json;
      return true;
    });
  }
  return true;
}

bool MergeProgress(TaskRecord* task, const TaskProgress& incoming) {
  const std::optional<TaskProgress>& current = History(*task).progress;
  if (current && incoming.stamp <= current->stamp) return false;
  return ChangeHistory(task, [&](TaskHistory& h) {
    h.progress = incoming;
    return true;
  });
}

bool MergeFailure(TaskRecord* task, const FailedAttempt& incoming) {
  auto attempt = [](const AttemptStamp& s) { return std::pair(s.round, s.lease); };
  auto less = [&](const FailedAttempt& a, const FailedAttempt& b) {
    return attempt(a.stamp) < attempt(b.stamp);
  };
  const std::vector<FailedAttempt>& current = History(*task).failures;
  auto it = std::lower_bound(current.begin(), current.end(), incoming, less);
  const size_t at = static_cast<size_t>(it - current.begin());
  const bool same_attempt = it != current.end() && attempt(it->stamp) == attempt(incoming.stamp);
  if (same_attempt ? incoming.stamp <= it->stamp : current.size() == kMaxFailures && at == 0) {
    return false;
  }
  return ChangeHistory(task, [&](TaskHistory& h) {
    std::vector<FailedAttempt>& failures = h.failures;
    if (same_attempt) {
      failures[at] = incoming;
      return true;
    }
    failures.insert(failures.begin() + static_cast<std::ptrdiff_t>(at), incoming);
    if (failures.size() > kMaxFailures) failures.erase(failures.begin());
    return true;
  });
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

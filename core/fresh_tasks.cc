#include "core/fresh_tasks.h"

#include <variant>

#include "core/projector.h"
#include "core/queue_op.h"

namespace pigtail {

FreshTasks::FreshTasks(const State& base) : base_(base) { state_.set_track_changes(false); }

void FreshTasks::Want(const std::string& queue, size_t count) {
  if (count == 0) return;
  auto it = wanted_.find(queue);
  if (it != wanted_.end()) {
    it->second += count;
    return;
  }
  const QueueRecord* record = base_.FindQueue(queue);
  if (record == nullptr) return;
  state_.PutQueue(*record);
  wanted_.emplace(queue, count);
}

void FreshTasks::Take(const Event& entry) {
  if (wanted_.empty()) return;
  const QueueOp* op = std::get_if<QueueOp>(&entry.op);
  if (op == nullptr) return;
  if (const auto* add = std::get_if<AddOp>(op)) {
    TakeAdd(entry, *add, entry.id);
  } else if (const auto* batch = std::get_if<BatchOp>(op)) {
    for (size_t k = 0; k < batch->adds.size() && !wanted_.empty(); ++k) {
      TakeAdd(entry, batch->adds[k], BatchTaskId(entry.id, k));
    }
  }
}

void FreshTasks::TakeAdd(const Event& entry, const AddOp& add, const Uuid& id) {
  auto it = wanted_.find(add.queue_name);
  if (it == wanted_.end() || base_.FindTask(add.queue_name, id) != nullptr) return;
  // Applied as an entry of its own with the task's id, as the projector
  // applies the Adds of a Batch.
  Event one;
  one.id = id;
  one.owner = entry.owner;
  one.when = entry.when;
  one.op = QueueOp(add);
  (void)ApplyEvent(one, &state_);
  ++taken_;
  if (--it->second == 0) wanted_.erase(it);
}

}  // namespace pigtail

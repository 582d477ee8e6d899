#include "core/cold_tasks.h"

#include <algorithm>
#include <type_traits>
#include <variant>

namespace pigtail {
namespace {

void AppendIfAbsent(const State& state, const std::string& queue, const Uuid& id,
                    std::vector<TaskKey>* keys) {
  if (state.FindTask(queue, id) == nullptr && state.HoldsDropped(queue)) {
    keys->push_back(TaskKey{queue, id});
  }
}

}  // namespace

void AppendAbsentTasks(const State& state, const Event& event, bool fresh,
                       std::vector<TaskKey>* keys) {
  const auto* op = std::get_if<QueueOp>(&event.op);
  if (op == nullptr) return;
  auto task_op = [&](const auto& o) {
    using T = std::decay_t<decltype(o)>;
    if constexpr (std::is_same_v<T, AddOp>) {
      if (!fresh) AppendIfAbsent(state, o.queue_name, event.id, keys);
    } else if constexpr (std::is_same_v<T, ProgressOp> || std::is_same_v<T, DoneOp> ||
                         std::is_same_v<T, FailOp> || std::is_same_v<T, CancelOp> ||
                         std::is_same_v<T, RetryOp> || std::is_same_v<T, PurgeOp>) {
      AppendIfAbsent(state, o.queue_name, o.id, keys);
    }
  };
  if (const auto* batch = std::get_if<BatchOp>(op)) {
    for (const TaskOp& t : batch->ops) std::visit(task_op, t);
    for (size_t k = 0; k < batch->adds.size() && !fresh; ++k) {
      AppendIfAbsent(state, batch->adds[k].queue_name, BatchTaskId(event.id, k), keys);
    }
  } else {
    std::visit(task_op, *op);
  }
}

void AppendAbsentTasks(const State& state, const WriteRequest& request,
                       std::vector<TaskKey>* keys) {
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ClaimOneRequest> || std::is_same_v<T, FailRequest> ||
                      std::is_same_v<T, CancelRequest> || std::is_same_v<T, RetryRequest>) {
          AppendIfAbsent(state, r.queue, r.task, keys);
        } else if constexpr (std::is_same_v<T, DoneRequest>) {
          for (const DoneItem& item : r.items) AppendIfAbsent(state, r.queue, item.id, keys);
        }
      },
      request);
}

void SortUnique(std::vector<TaskKey>* keys) {
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
}

}  // namespace pigtail

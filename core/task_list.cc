#include "core/task_list.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace pigtail {
namespace {

struct FilterName {
  std::string_view name;
  TaskFilter filter;
};
constexpr std::array<FilterName, 8> kFilterNames = {{
    {"open", TaskFilter::kOpen},
    {"pending", TaskFilter::kPending},
    {"delayed", TaskFilter::kDelayed},
    {"working", TaskFilter::kWorking},
    {"done", TaskFilter::kDone},
    {"dead", TaskFilter::kDead},
    {"cancelled", TaskFilter::kCancelled},
    {"all", TaskFilter::kAll},
}};

bool Matches(TaskFilter filter, const TaskView& view, uint64_t now_ns) {
  switch (filter) {
    case TaskFilter::kOpen:
      return view.state == TaskState::kPending || view.state == TaskState::kWorking;
    case TaskFilter::kPending:
      return view.state == TaskState::kPending;
    case TaskFilter::kDelayed:
      return view.state == TaskState::kPending && !view.claimable && view.ready_at_ns > now_ns;
    case TaskFilter::kWorking:
      return view.state == TaskState::kWorking;
    case TaskFilter::kDone:
      return view.state == TaskState::kDone;
    case TaskFilter::kDead:
      return view.state == TaskState::kDead;
    case TaskFilter::kCancelled:
      return view.state == TaskState::kCancelled;
    case TaskFilter::kAll:
      return true;
  }
  return false;
}

ClaimOrder OrderOf(const TaskRecord& task) {
  return ClaimOrder{task.add->priority, task.add->hlc, task.id};
}

}  // namespace

Result<TaskFilter> ParseTaskFilter(std::string_view name) {
  for (const FilterName& f : kFilterNames) {
    if (f.name == name) return f.filter;
  }
  std::string names;
  for (const FilterName& f : kFilterNames)
    names += (names.empty() ? "" : ", ") + std::string(f.name);
  return Status::InvalidArgument("state must be one of " + names + "; got \"" + std::string(name) +
                                 "\"");
}

Result<TaskPage> ListTasks(const State& state, std::string_view queue, TaskFilter filter,
                           const std::optional<Uuid>& after, size_t limit, uint64_t now_ns,
                           const TaskRecord* after_stored) {
  TaskPage page;
  const State::QueueSlot* slot = state.FindSlot(queue);
  std::optional<ClaimOrder> cursor;
  if (after) {
    const TaskRecord* at = state.FindTask(queue, *after);
    if (at == nullptr && after_stored != nullptr && after_stored->id == *after) at = after_stored;
    if (at == nullptr || !at->add) return UnknownAfter(queue, *after);
    cursor = OrderOf(*at);
  }
  if (slot == nullptr || !slot->record) return page;
  std::vector<std::pair<ClaimOrder, ListedTask>> matching;
  for (const auto& [id, task] : slot->tasks) {
    if (!TaskVisible(task, &*slot->record)) continue;
    ClaimOrder order = OrderOf(task);
    if (cursor && !(*cursor < order)) continue;
    TaskView view = ViewTask(task, *slot->record, now_ns);
    if (!Matches(filter, view, now_ns)) continue;
    matching.emplace_back(order, ListedTask{&task, view});
  }
  const auto by_order = [](const auto& a, const auto& b) { return a.first < b.first; };
  const size_t take = std::min(limit, matching.size());
  std::partial_sort(matching.begin(), matching.begin() + static_cast<std::ptrdiff_t>(take),
                    matching.end(), by_order);
  page.tasks.reserve(take);
  for (size_t i = 0; i < take; ++i) page.tasks.push_back(matching[i].second);
  if (matching.size() > take && take > 0) page.next_after = page.tasks.back().task->id;
  return page;
}

Status UnknownAfter(std::string_view queue, const Uuid& after) {
  return Status::NotFound("task " + after.ToString() + " (after) is not in queue \"" +
                          std::string(queue) + "\"");
}

bool ListsFinished(TaskFilter filter) {
  return filter == TaskFilter::kDone || filter == TaskFilter::kDead ||
         filter == TaskFilter::kCancelled || filter == TaskFilter::kAll;
}

void AppendStoredTasks(const State& state, std::string_view queue, TaskFilter filter,
                       uint64_t now_ns, const std::optional<Uuid>& after,
                       const std::optional<Uuid>& upto, const std::vector<TaskRecord>& stored,
                       std::vector<TaskCopy>* out) {
  const State::QueueSlot* slot = state.FindSlot(queue);
  if (slot == nullptr || !slot->record) return;
  const QueueRecord& record = *slot->record;
  auto in_range = [&](const Uuid& id) { return (!after || *after < id) && (!upto || id <= *upto); };
  // What the State holds in range: its version wins.
  std::vector<const TaskRecord*> held;
  for (const auto& [id, task] : slot->tasks) {
    if (in_range(id)) held.push_back(&task);
  }
  std::sort(held.begin(), held.end(),
            [](const TaskRecord* a, const TaskRecord* b) { return a->id < b->id; });
  auto emit = [&](const TaskRecord& task) {
    if (!TaskVisible(task, &record)) return;
    TaskView view = ViewTask(task, record, now_ns);
    if (Matches(filter, view, now_ns)) out->push_back(TaskCopy{task, view});
  };
  auto h = held.begin();
  for (const TaskRecord& s : stored) {
    if (!in_range(s.id)) continue;
    for (; h != held.end() && (*h)->id < s.id; ++h) emit(**h);
    if (h != held.end() && (*h)->id == s.id) {
      emit(**h++);
    } else {
      emit(s);
    }
  }
  for (; h != held.end(); ++h) emit(**h);
}

}  // namespace pigtail

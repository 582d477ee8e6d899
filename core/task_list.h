// Listing a queue's tasks by read-time state, a page at a time, in claim
// order (priority, then oldest Add, then id): GET /queue/{name}.
#ifndef PIGTAIL_CORE_TASK_LIST_H_
#define PIGTAIL_CORE_TASK_LIST_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/registers.h"
#include "core/state.h"
#include "core/status.h"
#include "core/task_view.h"
#include "core/uuid.h"

namespace pigtail {

// Which tasks a listing holds. A task waiting for its delay or its retry
// backoff is both pending and delayed.
enum class TaskFilter : uint8_t {
  kOpen,     // pending or working: the original Pigtail listing (default)
  kPending,  // pending, ready or not (an expired lease reads pending)
  kDelayed,  // pending and not claimable before a later time
  kWorking,  // leased, the lease still running
  kDone,
  kDead,
  kCancelled,
  kAll,
};

// "open", "pending", "delayed", "working", "done", "dead", "cancelled",
// "all"; InvalidArgument for anything else, naming the accepted values.
Result<TaskFilter> ParseTaskFilter(std::string_view name);

inline constexpr size_t kDefaultTaskPage = 1000;
inline constexpr size_t kMaxTaskPage = 10'000;

struct ListedTask {
  const TaskRecord* task = nullptr;
  TaskView view;
};

struct TaskPage {
  std::vector<ListedTask> tasks;  // in claim order
  // The last task's id when more tasks match after it (the next page's
  // `after`); none on the last page.
  std::optional<Uuid> next_after;
};

// Up to `limit` (1 to kMaxTaskPage) visible tasks of `queue` that match
// `filter` at `now_ns`, in claim order, after the task `after` (which need
// not match the filter). NotFound when `after` is not a task of the queue:
// in `state`, or `after_stored` (its register read from the state store,
// when `state` dropped it).
// Costs O(tasks of the queue in `state` + limit log limit).
Result<TaskPage> ListTasks(const State& state, std::string_view queue, TaskFilter filter,
                           const std::optional<Uuid>& after, size_t limit, uint64_t now_ns,
                           const TaskRecord* after_stored = nullptr);

// The NotFound of an `after` that is not a task of `queue`.
Status UnknownAfter(std::string_view queue, const Uuid& after);

// Whether `filter` lists finished tasks (done, dead, cancelled, all), which
// a State that drops them (State::evict_finished) does not hold.
bool ListsFinished(TaskFilter filter);

struct TaskCopy {
  TaskRecord task;
  TaskView view;
};

// Listing by id, for a State that drops finished tasks: appends to `out`,
// in id order, the visible tasks of `queue` that match `filter` whose ids
// are in (after, upto] (no `upto`: no upper bound). They are the registers
// of `stored` (the state store's, in id order, every one in that range),
// each replaced by the State's when it holds the task (it may be newer), and
// the tasks the State holds in that range that the store does not yet.
void AppendStoredTasks(const State& state, std::string_view queue, TaskFilter filter,
                       uint64_t now_ns, const std::optional<Uuid>& after,
                       const std::optional<Uuid>& upto, const std::vector<TaskRecord>& stored,
                       std::vector<TaskCopy>* out);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_TASK_LIST_H_

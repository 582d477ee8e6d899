// Which dropped task registers an op or a request needs back in memory
// (State, "Dropping finished tasks"): the tasks it names that the State
// does not hold, of queues it dropped tasks of (State::HoldsDropped; in any
// other queue such a task is new). The caller reads them from the state store
// (StateStore::GetTasks) and puts back what it finds with State::Reinstate
// before deciding or applying; a task the store does not hold either is
// new. Pure: the reading is the caller's.
#ifndef PIGTAIL_CORE_COLD_TASKS_H_
#define PIGTAIL_CORE_COLD_TASKS_H_

#include <string>
#include <vector>

#include "core/event.h"
#include "core/state.h"
#include "core/uuid.h"
#include "core/write_request.h"

namespace pigtail {

struct TaskKey {
  std::string queue;
  Uuid id;
  auto operator<=>(const TaskKey&) const = default;
};

// Appends the tasks `event`'s op writes that `state` does not hold. With
// `fresh` (the entry was minted here just now, so no other entry can name
// its id) an Add's task is new and is not listed.
void AppendAbsentTasks(const State& state, const Event& event, bool fresh,
                       std::vector<TaskKey>* keys);
// Appends the tasks `request` names that `state` does not hold (the ones a
// claim, done, fail, cancel or retry of a task is decided against).
void AppendAbsentTasks(const State& state, const WriteRequest& request, std::vector<TaskKey>* keys);

// Sorts `keys` and drops repeats.
void SortUnique(std::vector<TaskKey>* keys);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_COLD_TASKS_H_

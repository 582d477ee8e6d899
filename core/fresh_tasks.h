// The tasks that the Add entries of a sequencer batch create, before the
// batch is in the log, in a State of their own: claims waiting on their
// queues are decided against it (core/decide.h) in the same batch, so an
// add and the claim that takes its task share one synced append instead of
// two, one after the other.
//
// The State holds a copy of each wanted queue's register from the node's
// State, and of each queue at most as many of its new tasks as were wanted
// (the first ones, in entry order), projected as the entries will be
// (core/projector.h). A task the node's State already holds is left out:
// its register there may differ. Pure: no I/O, no clock.
#ifndef PIGTAIL_CORE_FRESH_TASKS_H_
#define PIGTAIL_CORE_FRESH_TASKS_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "core/event.h"
#include "core/state.h"

namespace pigtail {

class FreshTasks {
 public:
  // `base` must outlive this object and not change while it is used.
  explicit FreshTasks(const State& base);
  FreshTasks(const FreshTasks&) = delete;
  FreshTasks& operator=(const FreshTasks&) = delete;

  // Takes up to `count` more tasks of `queue` (a claim waiting on it for
  // that many). A queue `base` does not hold is not taken.
  void Want(const std::string& queue, size_t count);
  bool wants_any() const { return !wanted_.empty(); }

  // Takes the wanted tasks that `entry` adds: an Add's, or those of a Batch
  // of Adds (with BatchTaskId ids). Other entries add none.
  void Take(const Event& entry);

  // The queues' registers and the tasks taken.
  const State& state() const { return state_; }
  size_t taken() const { return taken_; }

 private:
  void TakeAdd(const Event& entry, const AddOp& add, const Uuid& id);

  const State& base_;
  State state_;
  std::map<std::string, size_t, std::less<>> wanted_;  // tasks still wanted, by queue
  size_t taken_ = 0;
};

}  // namespace pigtail

#endif  // PIGTAIL_CORE_FRESH_TASKS_H_

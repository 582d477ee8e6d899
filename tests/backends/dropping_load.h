// Expects that a store loads into a State that drops finished tasks (the
// way pigtaild starts) as what `full`, holding every register the store
// holds, says: digests, task counts, counts by state and claim indexes,
// with no finished task of an alive queue read into memory.
#ifndef PIGTAIL_TESTS_BACKENDS_DROPPING_LOAD_H_
#define PIGTAIL_TESTS_BACKENDS_DROPPING_LOAD_H_

#include <gtest/gtest.h>

#include "core/state_store.h"
#include "core/task_view.h"

namespace pigtail::testing {

inline void ExpectDroppingLoadMatches(StateStore* store, State& full) {
  State loaded;
  loaded.set_evict_finished(true);
  Status status = store->LoadInto(&loaded);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(loaded.total_digest(), full.total_digest());
  EXPECT_EQ(loaded.task_count(), full.task_count());
  size_t in_memory = 0;
  for (const auto& [name, slot] : full.queues()) {
    EXPECT_EQ(loaded.QueueDigest(name), full.QueueDigest(name)) << name;
    EXPECT_EQ(CountTasks(loaded, name, 0), CountTasks(full, name, 0)) << name;
    const State::QueueSlot* got = loaded.FindSlot(name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_EQ(got->open, slot.open) << name;
    EXPECT_EQ(got->leased, slot.leased) << name;
    const bool alive = slot.record && slot.record->alive;
    for (const auto& [id, task] : slot.tasks) {
      const bool live = task.status.key.outcome == Outcome::kLive;
      const TaskRecord* held = loaded.FindTask(name, id);
      if (live) {
        EXPECT_NE(held, nullptr) << name << " " << id.ToString();
      } else if (alive) {
        EXPECT_EQ(held, nullptr) << name << " " << id.ToString();
      }
    }
    in_memory += got->tasks.size();
  }
  EXPECT_EQ(loaded.dropped_count(), loaded.task_count() - in_memory);
}

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_BACKENDS_DROPPING_LOAD_H_

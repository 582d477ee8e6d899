// Helpers that build real events (JSON text parsed by ParseEvent) for tests.
#ifndef PIGTAIL_TESTS_CORE_TEST_EVENTS_H_
#define PIGTAIL_TESTS_CORE_TEST_EVENTS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "core/event.h"
#include "core/queue_op.h"
#include "core/uuid.h"

namespace pigtail::testing {

// A deterministic UUID from a number (for readable, reproducible tests).
Uuid TestId(uint64_t n);

// An event with the given id, owner and time carrying `op`. Aborts the test
// binary if the event does not parse (a bug in the test).
Event OpEvent(const Uuid& id, const Uuid& owner, Hlc when, const QueueOp& op);

// The same with arbitrary data JSON.
Event DataEvent(const Uuid& id, const Uuid& owner, Hlc when, const std::string& data_json);

// An Add of `task_name` to `queue` with `info_json`, every other field at
// its default.
inline AddOp PlainAdd(std::string queue, std::string task_name, std::string info_json) {
  return AddOp{std::move(queue), std::move(task_name), std::move(info_json), 0, 0, {}, {}};
}

// Nanoseconds per millisecond.
inline constexpr uint64_t kMs = 1'000'000;

// An HLC at `ms` milliseconds (and logical count `count`).
inline Hlc AtMs(uint64_t ms, uint32_t count = 0) { return Hlc{0, ms * kMs, count}; }

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CORE_TEST_EVENTS_H_

// Real events for the backend tests: owner chains built with MakeEvent, and
// a random, reproducible stream of queue operations (with rejected ops,
// foreign data and strings full of quotes, backslashes, NULs and unicode).
#ifndef PIGTAIL_TESTS_BACKENDS_WORKLOAD_H_
#define PIGTAIL_TESTS_BACKENDS_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/queue_op.h"
#include "core/state.h"
#include "core/uuid.h"

namespace pigtail::testing {

// Strings that stress storage: quotes, backslashes, NUL, control bytes,
// multi-byte UTF-8.
const std::vector<std::string>& AwkwardStrings();

// Builds owner chains: each owner's next event has the previous one as
// `prev` and a `when` 1 ms later. Ids are drawn from a seeded generator, so a
// seed always gives the same events. Not thread-safe.
class EventMaker {
 public:
  explicit EventMaker(uint64_t seed);

  Uuid NewId();
  // The next event of `owner`'s chain with `data_json` as its data.
  // Aborts the test binary if the JSON is invalid (a bug in the test).
  Event Next(const Uuid& owner, const std::string& data_json,
             const std::vector<Uuid>& dependencies = {});
  Event NextOp(const Uuid& owner, const QueueOp& op);

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::map<Uuid, std::pair<Uuid, Hlc>> last_;  // owner -> (last id, last when)
};

// Generates a stream of queue events: creates a few queues, then adds tasks,
// claims, heartbeats, completes, fails, cancels and deletes/recreates
// queues, with some malformed ops and foreign data mixed in.
class QueueWorkload {
 public:
  QueueWorkload(uint64_t seed, size_t owners);
  // The next `n` events.
  std::vector<Event> Take(size_t n);
  EventMaker& maker() { return maker_; }

 private:
  Event One();

  EventMaker maker_;
  std::vector<Uuid> owners_;
  std::vector<std::string> queues_;
  std::vector<std::pair<std::string, Uuid>> tasks_;  // (queue, id) added so far
  size_t produced_ = 0;
};

// Applies `events` to `state` in order, then settles its digests.
void ProjectAll(const std::vector<Event>& events, State* state);

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_BACKENDS_WORKLOAD_H_

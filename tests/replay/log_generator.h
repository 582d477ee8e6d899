// Realistic synthetic Potboiler logs for replay tests and benchmarks, made
// with core's MakeEvent + SerializeQueueOp: several owners with prev-chained
// entries, queue creates (and a rare delete + re-create), adds, claims and
// heartbeats, dones, Batch entries of claims or dones (2%), fails (retry and
// dead), cancels, data that belongs to another application, and malformed
// queue ops. Deterministic for a seed.
#ifndef PIGTAIL_TESTS_REPLAY_LOG_GENERATOR_H_
#define PIGTAIL_TESTS_REPLAY_LOG_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"

namespace pigtail::replay::testing {

struct LogSpec {
  uint64_t events = 10'000;
  uint32_t owners = 3;
  uint32_t queues = 4;
  uint64_t seed = 1;
  // Restrict Progress to this many tasks (0: any task): a long log over a
  // small state, for memory tests.
  uint32_t hot_tasks = 0;
};

class LogGenerator {
 public:
  explicit LogGenerator(const LogSpec& spec);

  // The next event, or false when spec.events have been produced.
  bool Next(Event* event);

 private:
  struct Task {
    std::string queue;
    Uuid id;
    uint64_t lease = 0;
  };
  Uuid RandomId();
  std::string PickQueue();
  std::string NextData();

  LogSpec spec_;
  std::mt19937_64 rng_;
  uint64_t produced_ = 0;
  uint64_t time_ns_ = 1'700'000'000'000'000'000ULL;
  std::vector<Uuid> owners_;
  std::vector<std::optional<Uuid>> last_of_owner_;
  std::vector<Task> tasks_;
  Uuid next_id_;  // the id of the event being made (the task id of an Add)
};

// All events of `spec` in order.
std::vector<Event> GenerateLog(const LogSpec& spec);

// Writes `events` as JSONL (raw bytes + "\n"). Aborts the test on failure.
void WriteJsonl(const std::vector<Event>& events, const std::string& path);

// Streams `spec` straight to a JSONL file without holding the log.
void WriteJsonlLog(const LogSpec& spec, const std::string& path);

// A fresh directory under the system temp dir, named after `tag`.
std::string TempDir(const std::string& tag);

}  // namespace pigtail::replay::testing

#endif  // PIGTAIL_TESTS_REPLAY_LOG_GENERATOR_H_

// Property tests: merging registers is commutative, associative and
// idempotent, and applying a set of events gives the same state in any order.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "core/projector.h"
#include "core/registers.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::OpEvent;
using testing::TestId;

// A status register value drawn from small domains, so that equal fields
// (and equal HLCs) are common. The payload is a function of the event id, as
// it is for real registers (one event, one value).
TaskStatus GenStatus() {
  TaskStatus s;
  s.key.round = static_cast<uint32_t>(*rc::gen::inRange(0, 2));
  s.key.outcome = static_cast<Outcome>(*rc::gen::inRange(0, 5));
  s.key.lease = static_cast<uint64_t>(*rc::gen::inRange(0, 3));
  s.key.phase = static_cast<Phase>(*rc::gen::inRange(0, 2));
  s.key.hlc = Hlc{0, static_cast<uint64_t>(*rc::gen::inRange(0, 4)),
                  static_cast<uint32_t>(*rc::gen::inRange(0, 2))};
  uint64_t event = static_cast<uint64_t>(*rc::gen::inRange(1, 6));
  s.key.event_id = TestId(event);
  s.worker = TestId(100 + event);
  s.error = "e" + std::to_string(event);
  return s;
}

TaskStatus Merged(TaskStatus a, const TaskStatus& b) {
  MergeStatus(&a, b);
  return a;
}

RC_GTEST_PROP(RegisterLaws, StatusMergeIsCommutative, ()) {
  TaskStatus a = GenStatus(), b = GenStatus();
  RC_ASSERT(Merged(a, b) == Merged(b, a));
}

RC_GTEST_PROP(RegisterLaws, StatusMergeIsAssociative, ()) {
  TaskStatus a = GenStatus(), b = GenStatus(), c = GenStatus();
  RC_ASSERT(Merged(Merged(a, b), c) == Merged(a, Merged(b, c)));
}

RC_GTEST_PROP(RegisterLaws, StatusMergeIsIdempotent, ()) {
  TaskStatus a = GenStatus(), b = GenStatus();
  RC_ASSERT(Merged(a, a) == a);
  RC_ASSERT(Merged(Merged(a, b), b) == Merged(a, b));
}

RC_GTEST_PROP(RegisterLaws, MergeResultIsTheMaximumKey, ()) {
  TaskStatus a = GenStatus(), b = GenStatus();
  RC_ASSERT(Merged(a, b).key == std::max(a.key, b.key));
}

// Failed attempts from small domains: leases 0 to 14 in rounds 0 and 1, so
// more than kMaxFailures attempts and repeats of one attempt are common.
FailedAttempt GenFailure() {
  FailedAttempt f;
  f.stamp.round = static_cast<uint32_t>(*rc::gen::inRange(0, 2));
  f.stamp.lease = static_cast<uint64_t>(*rc::gen::inRange(0, 15));
  f.stamp.hlc = Hlc{0, static_cast<uint64_t>(*rc::gen::inRange(0, 4)), 0};
  uint64_t event = static_cast<uint64_t>(*rc::gen::inRange(1, 40));
  f.stamp.event_id = TestId(event);
  f.worker = TestId(100 + event);
  f.error = "e" + std::to_string(event);
  return f;
}

// The failures kept are the same in any order of merging: per attempt the
// greatest stamp, and the kMaxFailures latest attempts, oldest first.
RC_GTEST_PROP(RegisterLaws, FailuresKeepTheLatestAttemptsInAnyOrder, ()) {
  std::vector<FailedAttempt> failures =
      *rc::gen::container<std::vector<FailedAttempt>>(rc::gen::exec([] { return GenFailure(); }));
  std::map<std::pair<uint32_t, uint64_t>, FailedAttempt> expected;
  for (const FailedAttempt& f : failures) {
    auto [it, inserted] = expected.try_emplace({f.stamp.round, f.stamp.lease}, f);
    if (!inserted && it->second.stamp < f.stamp) it->second = f;
  }
  std::vector<FailedAttempt> want;
  for (const auto& [attempt, f] : expected) want.push_back(f);
  if (want.size() > kMaxFailures) {
    want.erase(want.begin(), want.end() - static_cast<long>(kMaxFailures));
  }
  TaskRecord a, b;
  for (const FailedAttempt& f : failures) MergeFailure(&a, f);
  std::mt19937_64 rng(*rc::gen::arbitrary<uint64_t>());
  std::shuffle(failures.begin(), failures.end(), rng);
  for (const FailedAttempt& f : failures) {
    MergeFailure(&b, f);
    MergeFailure(&b, f);  // idempotent
  }
  RC_ASSERT(History(a).failures == want);
  RC_ASSERT(History(b).failures == want);
}

// Queue and task events on one queue, from small domains.
Event GenEvent(uint64_t serial) {
  Uuid id = TestId(serial);
  Hlc when = AtMs(static_cast<uint64_t>(*rc::gen::inRange(0, 5)));
  uint64_t task_number = 1 + static_cast<uint64_t>(*rc::gen::inRange(0, 3));
  Uuid task = TestId(task_number);
  Uuid worker = TestId(50 + static_cast<uint64_t>(*rc::gen::inRange(0, 2)));
  uint64_t lease = static_cast<uint64_t>(*rc::gen::inRange(0, 3));
  QueueOp op;
  const uint32_t round = static_cast<uint32_t>(*rc::gen::inRange(0, 2));
  // A progress or a result (the same text from two events, sometimes).
  const std::string json = *rc::gen::arbitrary<bool>() ? "" : "[" + std::to_string(lease) + "]";
  switch (*rc::gen::inRange(0, 10)) {
    case 0:
      op = CreateOp{"q", static_cast<uint64_t>(*rc::gen::inRange(1, 4)), {}, {}};
      break;
    case 1:
      op = DeleteOp{"q"};
      break;
    case 2:
      op = ProgressOp{"q", task, worker, lease, round, json};
      break;
    case 3:
      op = DoneOp{"q", task, worker, 0, round, json};
      break;
    case 4:
      op = FailOp{"q", task, worker, lease, "x", 5, *rc::gen::arbitrary<bool>(), round};
      break;
    case 5:
      op = CancelOp{"q", task, round};
      break;
    case 6:
      op = RetryOp{"q", task, round + 1};
      break;
    case 7:
      op = PauseOp{"q", *rc::gen::arbitrary<bool>()};
      break;
    case 8:
      op = PurgeOp{"q", task};
      break;
    default:
      // An Add's id is its task's id, so a repeated Add must be the same
      // event: its time is a function of the task.
      id = task;
      when = AtMs(task_number);
      op = AddOp{"q", "t", "{}", 0, 0, {}, {}, task_number % 2 ? uint64_t{7} : uint64_t{0}};
      break;
  }
  return OpEvent(id, TestId(900), when, op);
}

RC_GTEST_PROP(RegisterLaws, StateIsAFunctionOfTheSetOfEvents, ()) {
  int n = *rc::gen::inRange(1, 25);
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) events.push_back(GenEvent(10 + static_cast<uint64_t>(i)));
  std::vector<size_t> order(events.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<size_t> shuffled = order;
  std::mt19937_64 rng(*rc::gen::arbitrary<uint64_t>());
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  // Duplicates: apply some events a second time at random places.
  std::vector<size_t> with_dups = shuffled;
  for (size_t i :
       *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, order.size()))) {
    with_dups.insert(with_dups.begin() + static_cast<long>(i % (with_dups.size() + 1)), i);
  }
  State a, b;
  for (size_t i : order) ApplyEvent(events[i], &a);
  for (size_t i : with_dups) ApplyEvent(events[i], &b);
  RC_ASSERT(a.SameRegisters(b));
  RC_ASSERT(a.total_digest() == b.total_digest());
  RC_ASSERT(a.QueueDigest("q") == b.QueueDigest("q"));
}

}  // namespace
}  // namespace pigtail

// The convergence proof by model test: random histories from several nodes
// and workers, applied in many random orders with random duplicates, must
// give identical registers and digests, equal to what a naive model of the
// register semantics (DESIGN.md §5) says.
//
// Histories include entries stamped far ahead (time, epoch and count at
// their limits, as a broken or hostile clock writes them) and leases of
// UINT64_MAX ms. A second test models admission (docs/registers.md,
// "Hostile clocks"): nodes with skewed clocks defer what is beyond their
// bounds and are offered it again later, and still end with equal stored
// sets, registers and digests.
//
// PIGTAIL_SEED=<n> reproduces a run; PIGTAIL_MODEL_HISTORIES=<n> sets how
// many histories to try (default 10,000).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "core/clock.h"
#include "core/cold_tasks.h"
#include "core/memory_store.h"
#include "core/projector.h"
#include "core/task_view.h"
#include "tests/core/state_checks.h"
#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::OpEvent;
using testing::TestId;

constexpr int kNodes = 3;
constexpr int kWorkers = 4;
const char* const kQueues[] = {"alpha", "beta"};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// Generates one history. HLC times come from a small range and nodes share
// it, so equal HLCs across nodes happen on purpose.
class HistoryGenerator {
 public:
  // `hostile`: one event in `hostile` is stamped as a broken or hostile
  // clock would (0: none).
  explicit HistoryGenerator(uint64_t seed, int hostile = 12) : rng_(seed), hostile_(hostile) {}

  std::vector<Event> Generate() {
    std::vector<Event> events;
    int n = Pick(5, 60);
    for (int i = 0; i < n; ++i) events.push_back(Next());
    return events;
  }

 private:
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  const char* Queue() { return kQueues[Pick(0, 1)]; }

  Event Next() {
    Uuid id = TestId(++serial_);
    Uuid owner = TestId(1000 + static_cast<uint64_t>(Pick(1, kNodes)));
    Hlc when{0, static_cast<uint64_t>(Pick(0, 30)) * 1'000'000, static_cast<uint32_t>(Pick(0, 1))};
    if (hostile_ > 0 && Pick(1, hostile_) == 1) when = Hostile(when);
    Uuid worker = TestId(2000 + static_cast<uint64_t>(Pick(1, kWorkers)));
    uint64_t lease = static_cast<uint64_t>(Pick(0, 3));
    int roll = Pick(0, 99);
    if (roll < 6) {
      std::optional<uint32_t> attempts;
      if (Pick(0, 1)) attempts = static_cast<uint32_t>(Pick(1, 4));
      uint64_t timeout_ms = Pick(0, 9) == 0 ? UINT64_MAX : static_cast<uint64_t>(Pick(1, 20));
      return OpEvent(id, owner, when, CreateOp{Queue(), timeout_ms, attempts, {}});
    }
    if (roll < 9) {
      if (Pick(0, 2) == 0) return OpEvent(id, owner, when, PauseOp{Queue(), Pick(0, 1) == 0});
      return OpEvent(id, owner, when, DeleteOp{Queue()});
    }
    if (roll < 9 + 22 || tasks_.empty()) {
      if (Pick(0, 4) > 0) return OpEvent(id, owner, when, Add(id));
      // A Batch of Adds. Test ids are consecutive, so its tasks' ids
      // (BatchTaskId) are those of the next entries: some name a task that
      // a later Add names too.
      BatchOp batch;
      for (int k = Pick(1, 3) - 1; k >= 0; --k) {
        batch.adds.push_back(Add(BatchTaskId(id, batch.adds.size())));
      }
      return OpEvent(id, owner, when, batch);
    }
    if (roll < 84 && Pick(0, 7) == 0) {
      // A Batch of status ops, usually on distinct tasks; one that names a
      // task twice is rejected whole.
      BatchOp batch;
      for (int n = Pick(1, 4); n > 0; --n) {
        TaskOp op = StatusOp(Pick(31, 83), worker, static_cast<uint64_t>(Pick(0, 3)));
        bool repeat = false;
        for (const TaskOp& other : batch.ops) repeat |= SameTask(other, op);
        if (!repeat || Pick(0, 4) == 0) batch.ops.push_back(std::move(op));
      }
      return OpEvent(id, owner, when, batch);
    }
    if (roll < 84) return OpEvent(id, owner, when, ToQueueOp(StatusOp(roll, worker, lease)));
    if (roll < 92) {
      return testing::DataEvent(id, owner, when,
                                R"({"Set":{"key":"k","value":)" + std::to_string(serial_) + "}}");
    }
    if (Pick(0, 1) == 0) {
      // An operator's retry, starting round 1 to 3 of a task.
      auto [queue, task] =
          tasks_[static_cast<size_t>(Pick(0, static_cast<int>(tasks_.size()) - 1))];
      return OpEvent(id, owner, when, RetryOp{queue, task, static_cast<uint32_t>(Pick(1, 3))});
    }
    // Malformed queue ops, rejected by the projector.
    static const char* const kMalformed[] = {
        R"({"Add":{"queue_name":"alpha","info":1}})", R"({"Create":{"name":"beta"}})",
        R"({"Progress":{"queue_name":"alpha","id":"nope","worker_id":"x"}})",
        R"({"Delete":"bad name!"})", R"({"Done":7})"};
    return testing::DataEvent(id, owner, when, kMalformed[Pick(0, 4)]);
  }

  // An Add of task `task` (listed for later ops) to a random queue.
  AddOp Add(const Uuid& task) {
    const char* queue = Queue();
    tasks_.push_back({queue, task});
    uint64_t run_at_ms = 0;
    if (Pick(0, 4) == 0) run_at_ms = static_cast<uint64_t>(Pick(0, 40));
    return AddOp{queue,
                 "task " + std::to_string(serial_),
                 "{\"n\":" + std::to_string(serial_) + "}",
                 Pick(-1, 1),
                 static_cast<uint64_t>(Pick(0, 2)) * 5,
                 {},
                 {},
                 run_at_ms};
  }

  // A stamp from a clock that is off: a few seconds ahead (admissible
  // later), a century or the end of time ahead, or epoch or count at or
  // near their limits.
  Hlc Hostile(Hlc when) {
    constexpr uint64_t kSecond = 1'000'000'000;
    switch (Pick(0, 5)) {
      case 0:
        when.time += static_cast<uint64_t>(Pick(1, 3)) * kSecond;
        break;
      case 1:
        when.time += 100ull * 365 * 24 * 3600 * kSecond;
        break;
      case 2:
        when.time = UINT64_MAX - static_cast<uint64_t>(Pick(0, 1));
        break;
      case 3:
        when.epoch = Pick(0, 1) ? UINT32_MAX : 1;
        break;
      case 4:
        when.count = Pick(0, 1) ? UINT32_MAX : kMaxHlcCount + 1;
        break;
      default:
        when = Hlc{UINT32_MAX, when.time + 15 * kSecond, UINT32_MAX};
        break;
    }
    return when;
  }

  // Status ops mostly name a known task in its own queue, sometimes the
  // wrong queue or an unknown id. `roll` in [31, 84) picks the kind.
  TaskOp StatusOp(int roll, const Uuid& worker, uint64_t lease) {
    auto [queue, task] = tasks_[static_cast<size_t>(Pick(0, static_cast<int>(tasks_.size()) - 1))];
    if (Pick(0, 19) == 0) queue = Queue();
    if (Pick(0, 29) == 0) task = TestId(999999);
    // Mostly round 0; sometimes a later round, as after a Retry.
    const uint32_t round = Pick(0, 3) == 0 ? static_cast<uint32_t>(Pick(1, 3)) : 0;
    // Progress and results, sometimes; the same text in two events on purpose.
    std::string json = Pick(0, 2) == 0 ? "{\"p\":" + std::to_string(Pick(0, 3)) + "}" : "";
    if (roll < 55) return ProgressOp{queue, task, worker, lease, round, json};
    if (roll < 65) {
      return FailOp{queue,
                    task,
                    worker,
                    lease,
                    "err " + std::to_string(serial_),
                    static_cast<uint64_t>(Pick(0, 10)),
                    Pick(0, 3) == 0,
                    round};
    }
    if (roll < 67) return PurgeOp{queue, task};
    if (roll < 72) return CancelOp{queue, task, round};
    return DoneOp{queue, task, worker, lease % 2, round, json};
  }

  static bool SameTask(const TaskOp& a, const TaskOp& b) {
    auto key = [](const TaskOp& op) {
      return std::visit([](const auto& o) { return std::make_pair(o.queue_name, o.id); }, op);
    };
    return key(a) == key(b);
  }

  std::mt19937_64 rng_;
  const int hostile_;
  uint64_t serial_ = 0;
  std::vector<std::pair<std::string, Uuid>> tasks_;
};

// The naive model: each register is the maximum of the values written to it,
// computed directly from the whole set of events.
struct Model {
  std::map<std::string, QueueRecord> queues;
  using TaskKey = std::pair<std::string, Uuid>;
  std::map<TaskKey, StatusKey> status;
  std::map<TaskKey, std::string> result;  // of the op that wrote `status`
  std::map<TaskKey, TaskProgress> progress;
  // Every failed attempt: per (round, lease), the Fail with the greatest stamp.
  std::map<TaskKey, std::map<std::pair<uint32_t, uint64_t>, FailedAttempt>> failures;
  std::map<std::pair<std::string, Uuid>, TaskAdd> added;  // the least Add of each task
  std::map<Uuid, bool> rejected;

  explicit Model(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (std::holds_alternative<RejectedOp>(e.op)) rejected[e.id] = true;
      const QueueOp* op = std::get_if<QueueOp>(&e.op);
      if (op == nullptr) continue;
      if (const auto* batch = std::get_if<BatchOp>(op)) {
        // Each op as an entry of its own with the batch's id and time, each
        // Add with its task's id.
        for (const TaskOp& t : batch->ops) Apply(e, ToQueueOp(t));
        for (size_t k = 0; k < batch->adds.size(); ++k) {
          Event as_entry = e;
          as_entry.id = BatchTaskId(e.id, k);
          Apply(as_entry, batch->adds[k]);
        }
      } else {
        Apply(e, *op);
      }
    }
  }

  void Apply(const Event& e, const QueueOp& queue_op) {
    const QueueOp* op = &queue_op;
    Stamp stamp{e.when, e.id};
    auto key = [&](uint32_t round, Outcome o, uint64_t lease, Phase p) {
      return StatusKey{round, o, lease, p, e.when, e.id};
    };
    if (const auto* c = std::get_if<CreateOp>(op)) {
      QueueRecord& q = Queue(c->name);
      if (stamp > q.last) {
        q.last = stamp;
        q.alive = true;
        q.timeout_ms = c->timeout_ms;
        q.max_attempts = c->max_attempts;
      }
    } else if (const auto* d = std::get_if<DeleteOp>(op)) {
      QueueRecord& q = Queue(d->name);
      if (stamp > q.last) {
        q.last = stamp;
        q.alive = false;
        q.timeout_ms = 0;
        q.max_attempts.reset();
      }
      if (!q.last_delete || stamp > *q.last_delete) q.last_delete = stamp;
    } else if (const auto* pause = std::get_if<PauseOp>(op)) {
      QueueRecord& q = Queue(pause->queue_name);
      if (!q.last_pause || stamp > *q.last_pause) {
        q.last_pause = stamp;
        q.paused = pause->paused;
      }
    } else if (const auto* a = std::get_if<AddOp>(op)) {
      TaskAdd add{e.when,      a->task_name,    a->info_json,  a->priority,
                  a->delay_ms, a->max_attempts, a->timeout_ms, a->run_at_ms};
      auto [it, inserted] = added.try_emplace({a->queue_name, e.id}, add);
      if (!inserted && add < it->second) it->second = std::move(add);
      Max({a->queue_name, e.id}, key(0, Outcome::kLive, 0, Phase::kPending));
    } else if (const auto* p = std::get_if<ProgressOp>(op)) {
      Max({p->queue_name, p->id}, key(p->round, Outcome::kLive, p->lease, Phase::kWorking));
      if (!p->progress_json.empty()) {
        TaskProgress reported{AttemptStamp{p->round, p->lease, e.when, e.id}, p->progress_json};
        auto [it, inserted] = progress.try_emplace({p->queue_name, p->id}, reported);
        if (!inserted && it->second.stamp < reported.stamp) it->second = reported;
      }
    } else if (const auto* f = std::get_if<FailOp>(op)) {
      Max({f->queue_name, f->id},
          f->dead ? key(f->round, Outcome::kDead, f->lease, Phase::kPending)
                  : key(f->round, Outcome::kLive, f->lease + 1, Phase::kPending));
      FailedAttempt failed{AttemptStamp{f->round, f->lease, e.when, e.id}, f->worker_id, f->error};
      auto [it, inserted] =
          failures[{f->queue_name, f->id}].try_emplace({f->round, f->lease}, failed);
      if (!inserted && it->second.stamp < failed.stamp) it->second = failed;
    } else if (const auto* purge = std::get_if<PurgeOp>(op)) {
      Max({purge->queue_name, purge->id}, key(kPurgeRound, Outcome::kPurged, 0, Phase::kPending));
    } else if (const auto* r = std::get_if<RetryOp>(op)) {
      Max({r->queue_name, r->id}, key(r->round, Outcome::kLive, 0, Phase::kPending));
    } else if (const auto* x = std::get_if<CancelOp>(op)) {
      Max({x->queue_name, x->id}, key(x->round, Outcome::kCancelled, 0, Phase::kPending));
    } else if (const auto* done = std::get_if<DoneOp>(op)) {
      Max({done->queue_name, done->id},
          key(done->round, Outcome::kDone, done->lease, Phase::kWorking), done->result_json);
    }
  }

  QueueRecord& Queue(const std::string& name) {
    QueueRecord& q = queues[name];
    q.name = name;
    return q;
  }
  void Max(const TaskKey& task, const StatusKey& k, const std::string& op_result = "") {
    auto [it, inserted] = status.try_emplace(task, k);
    if (inserted || it->second < k) {
      it->second = k;
      result[task] = op_result;
    }
  }
};

void ExpectMatchesModel(const State& state, const Model& model) {
  ASSERT_EQ(state.rejected().size(), model.rejected.size());
  size_t queue_records = 0;
  for (const auto& [name, slot] : state.queues()) queue_records += slot.record ? 1 : 0;
  ASSERT_EQ(queue_records, model.queues.size());
  for (const auto& [name, q] : model.queues) {
    const QueueRecord* got = state.FindQueue(name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_EQ(*got, q) << name;
  }
  ASSERT_EQ(state.task_count(), model.status.size());
  for (const auto& [task, key] : model.status) {
    const TaskRecord* got = state.FindTask(task.first, task.second);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->status.key, key) << task.first << " " << task.second.ToString();
    // A purged task keeps its status key alone.
    const bool purged = key.outcome == Outcome::kPurged;
    auto added = model.added.find(task);
    EXPECT_EQ(got->add.has_value(), added != model.added.end() && !purged);
    if (got->add && added != model.added.end()) {
      EXPECT_EQ(*got->add, added->second);
    }
    EXPECT_EQ(History(*got).result_json, model.result.at(task));
    auto progress = model.progress.find(task);
    if (purged || progress == model.progress.end()) {
      EXPECT_FALSE(History(*got).progress.has_value());
    } else {
      EXPECT_EQ(History(*got).progress, progress->second);
    }
    // The kMaxFailures latest attempts that failed, oldest first.
    std::vector<FailedAttempt> failures;
    auto failed = model.failures.find(task);
    if (!purged && failed != model.failures.end()) {
      for (const auto& [attempt, f] : failed->second) failures.push_back(f);
      if (failures.size() > kMaxFailures) {
        failures.erase(failures.begin(), failures.end() - static_cast<long>(kMaxFailures));
      }
    }
    EXPECT_EQ(History(*got).failures, failures);
    EXPECT_EQ(got->history == nullptr, History(*got).empty()) << "an empty history is null";
  }
}

// Calls check(history_seed, events) for `histories` random histories drawn
// from PIGTAIL_SEED (else a random seed), printed under `name` so that a
// run can be reproduced; stops at the first fatal failure.
template <typename Check>
void ForEachHistory(const char* name, uint64_t histories, Check check) {
  const uint64_t seed = EnvOr("PIGTAIL_SEED", std::random_device{}());
  std::printf("%s: seed=%llu histories=%llu (PIGTAIL_SEED=%llu reproduces)\n", name,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(histories),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (uint64_t h = 0; h < histories; ++h) {
    const uint64_t history_seed = rng();
    SCOPED_TRACE("PIGTAIL_SEED=" + std::to_string(seed) + " history " + std::to_string(h) +
                 " (history seed " + std::to_string(history_seed) + ")");
    check(history_seed, HistoryGenerator(history_seed).Generate());
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// `events` shuffled, each delivered twice with probability 1/4.
std::vector<const Event*> ShuffledWithDuplicates(const std::vector<Event>& events,
                                                 std::mt19937_64* rng) {
  std::vector<const Event*> order;
  for (const Event& e : events) {
    order.push_back(&e);
    if ((*rng)() % 4 == 0) order.push_back(&e);  // a duplicate delivery
  }
  std::shuffle(order.begin(), order.end(), *rng);
  return order;
}

// The tallies of a State that keeps every task (QueueSlot::task_count and
// finished) equal a count of its tasks.
void ExpectTalliesMatchScan(const State& state) {
  for (const auto& [name, slot] : state.queues()) {
    QueueTally scanned;
    for (const auto& [id, task] : slot.tasks) {
      scanned.Count(task, slot.record ? &*slot.record : nullptr);
    }
    ASSERT_EQ((QueueTally{slot.task_count, slot.finished}), scanned) << name;
  }
}

// The live counts and delayed sets kept step by step equal those counted
// from scratch (the claim indexes turned off and on), and the counts they
// give equal a scan of the tasks at times past every stamp.
void ExpectLiveCountsMatchScan(State* state) {
  uint64_t latest = 0;
  for (const auto& [name, slot] : state->queues()) {
    for (const auto& [id, task] : slot.tasks) {
      latest = std::max(latest, task.status.key.hlc.time);
      if (task.add) latest = std::max(latest, task.add->hlc.time);
    }
  }
  auto after = [latest](uint64_t ns) {
    return latest > UINT64_MAX - ns ? UINT64_MAX : latest + ns;
  };
  const uint64_t times[] = {latest, after(5'000'000), after(30'000'000), after(3'600'000'000'000),
                            UINT64_MAX};
  std::map<std::string, std::pair<LiveCounts, std::set<ReadyOrder>>> kept;
  std::map<std::pair<std::string, uint64_t>, QueueCounts> counted;
  for (const auto& [name, slot] : state->queues()) {
    kept[name] = {slot.live, slot.delayed};
    for (uint64_t t : times) counted[{name, t}] = CountTasks(*state, name, t);
  }
  state->set_claim_index(false);
  for (const auto& [key, counts] : counted) {
    ASSERT_EQ(CountTasks(*state, key.first, key.second), counts)
        << key.first << " at " << key.second;
  }
  state->set_claim_index(true);
  for (const auto& [name, slot] : state->queues()) {
    ASSERT_EQ(slot.live, kept[name].first) << name;
    ASSERT_EQ(slot.delayed, kept[name].second) << name;
  }
}

TEST(ConvergenceModelTest, RandomHistoriesConvergeInAnyOrderWithDuplicates) {
  const uint64_t histories = EnvOr("PIGTAIL_MODEL_HISTORIES", 10000);
  constexpr int kOrders = 4;
  uint64_t events_applied = 0;
  ForEachHistory("convergence model", histories,
                 [&](uint64_t history_seed, const std::vector<Event>& events) {
                   State reference;
                   for (const Event& e : events) ApplyEvent(e, &reference);
                   ASSERT_EQ(reference.total_digest(), testing::DigestFromScratch(reference));
                   ASSERT_NO_FATAL_FAILURE(ExpectMatchesModel(reference, Model(events)));

                   std::mt19937_64 order_rng(history_seed);
                   for (int o = 0; o < kOrders; ++o) {
                     std::vector<const Event*> order = ShuffledWithDuplicates(events, &order_rng);
                     State replica;
                     for (const Event* e : order) ApplyEvent(*e, &replica);
                     events_applied += order.size();
                     ASSERT_TRUE(replica.SameRegisters(reference)) << "order " << o;
                     ASSERT_NO_FATAL_FAILURE(ExpectTalliesMatchScan(replica));
                     ASSERT_NO_FATAL_FAILURE(ExpectLiveCountsMatchScan(&replica));
                     ASSERT_EQ(replica.total_digest(), reference.total_digest());
                     for (const char* q : kQueues)
                       ASSERT_EQ(replica.QueueDigest(q), reference.QueueDigest(q));
                     // The claim index is derived state: it must converge too.
                     for (const char* q : kQueues) {
                       const State::QueueSlot* a = replica.FindSlot(q);
                       const State::QueueSlot* b = reference.FindSlot(q);
                       ASSERT_EQ(a == nullptr, b == nullptr);
                       if (a != nullptr) {
                         ASSERT_EQ(a->open, b->open);
                         ASSERT_EQ(a->leased, b->leased);
                       }
                     }
                   }
                 });
  std::printf("convergence model: %llu events applied across %d orders per history\n",
              static_cast<unsigned long long>(events_applied), kOrders);
}

// The digests of `got` are those of `reference`: in all, per queue, and
// over as many task registers. Non-const: reading a digest settles it.
void ExpectSameDigests(State& got, State& reference) {
  ASSERT_EQ(got.total_digest(), reference.total_digest());
  ASSERT_EQ(got.task_count(), reference.task_count());
  for (const char* q : kQueues) ASSERT_EQ(got.QueueDigest(q), reference.QueueDigest(q)) << q;
}

// A State that drops finished tasks (State::set_evict_finished) over a
// memory state store, as a node runs one: before each event the tasks it
// names that are out of memory are read back (core/cold_tasks.h), and
// changes are committed and finished tasks dropped after every event
// (`every_event`) or at random points.
class DroppingReplica {
 public:
  // `drop_live`: as a replay runs one, with the claim indexes off and live
  // tasks dropped too.
  DroppingReplica(bool every_event, uint64_t seed, bool drop_live = false)
      : store_(NewMemoryStateStore()), every_event_(every_event), rng_(seed) {
    state_.set_evict_finished(true);
    if (drop_live) {
      state_.set_claim_index(false);
      state_.set_evict_live(true);
    }
  }

  void Apply(const Event& event) {
    std::vector<TaskKey> keys;
    AppendAbsentTasks(state_, event, /*fresh=*/false, &keys);
    Result<std::vector<TaskRecord>> stored = store_->GetTasks(std::move(keys));
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    for (TaskRecord& t : *stored) state_.Reinstate(std::move(t));
    ApplyEvent(event, &state_);
    ++seq_;
    if (every_event_ || rng_() % 3 == 0) {
      ASSERT_NO_FATAL_FAILURE(CommitAndDrop());
    }
  }

  // Applies `order`, then commits and drops what is left.
  void ApplyAll(const std::vector<const Event*>& order) {
    for (const Event* e : order) ASSERT_NO_FATAL_FAILURE(Apply(*e));
    ASSERT_NO_FATAL_FAILURE(CommitAndDrop());
  }

  void CommitAndDrop() {
    ASSERT_TRUE(store_->Commit(state_.TakeChanges(seq_), false).ok());
    dropped_ += state_.EvictCommitted(seq_);
  }

  State& state() { return state_; }
  StateStore& store() { return *store_; }
  size_t dropped() const { return dropped_; }

 private:
  State state_;
  std::unique_ptr<StateStore> store_;
  const bool every_event_;
  std::mt19937_64 rng_;
  uint64_t seq_ = 0;
  size_t dropped_ = 0;
};

// Replays every model history, shuffled with duplicates, into a
// DroppingReplica (`drop_live`: live tasks are dropped too), once dropping
// after every event and once at random points. Each replica must give the
// reference's digests, then `check` it; finally every register it stored
// must equal the reference's. Prints the tasks dropped from memory.
void ForEachDroppingReplay(
    const char* name, bool drop_live,
    const std::function<void(DroppingReplica& replica, const State& reference)>& check) {
  const uint64_t histories = EnvOr("PIGTAIL_MODEL_HISTORIES", 10000) / 5;
  uint64_t dropped = 0;
  ForEachHistory(name, histories, [&](uint64_t history_seed, const std::vector<Event>& events) {
    State reference;
    for (const Event& e : events) ApplyEvent(e, &reference);
    std::mt19937_64 order_rng(history_seed);
    for (bool every_event : {true, false}) {
      std::vector<const Event*> order = ShuffledWithDuplicates(events, &order_rng);
      DroppingReplica replica(every_event, order_rng(), drop_live);
      ASSERT_NO_FATAL_FAILURE(replica.ApplyAll(order));
      dropped += replica.dropped();
      ASSERT_NO_FATAL_FAILURE(ExpectSameDigests(replica.state(), reference))
          << "every_event " << every_event;
      ASSERT_NO_FATAL_FAILURE(check(replica, reference)) << "every_event " << every_event;
      State loaded;
      ASSERT_TRUE(replica.store().LoadInto(&loaded).ok());
      ASSERT_TRUE(loaded.SameRegisters(reference)) << "every_event " << every_event;
    }
  });
  std::printf("%s: %llu tasks dropped from memory\n", name,
              static_cast<unsigned long long>(dropped));
}

// Dropping finished tasks from memory changes no register, digest or
// count: the store (every register) equals the reference, and so do the
// digests and counts the dropping State reports.
TEST(ConvergenceModelTest, DroppingFinishedTasksChangesNothing) {
  ForEachDroppingReplay(
      "dropping model", /*drop_live=*/false, [](DroppingReplica& replica, const State& reference) {
        State& got = replica.state();
        for (const char* q : kQueues) {
          const State::QueueSlot* a = got.FindSlot(q);
          const State::QueueSlot* b = reference.FindSlot(q);
          if (a != nullptr && b != nullptr) {
            ASSERT_EQ(a->open, b->open) << q;
            ASSERT_EQ(a->leased, b->leased) << q;
          }
          // Finished counts are exact unless a Delete arrived after tasks
          // added after it were dropped (State::QueueSlot::finished).
          const uint64_t now = 1;
          QueueCounts counted = CountTasks(got, q, now);
          QueueCounts want = CountTasks(reference, q, now);
          const QueueRecord* record = reference.FindQueue(q);
          if (record == nullptr || !record->last_delete) {
            ASSERT_EQ(counted, want) << q;
          }
        }
        // A restart reads the tallies and what memory holds, and goes on
        // as the node did: same digests, counts and claim indexes. It
        // holds the same tasks, or more after the Delete edge above (a
        // task dropped while visible that a late Delete made invisible
        // only while the queue is deleted).
        State restarted;
        restarted.set_evict_finished(true);
        ASSERT_TRUE(replica.store().LoadInto(&restarted).ok());
        ASSERT_EQ(restarted.total_digest(), got.total_digest());
        ASSERT_EQ(restarted.task_count(), got.task_count());
        ASSERT_LE(restarted.dropped_count(), got.dropped_count());
        for (const char* q : kQueues) {
          ASSERT_EQ(restarted.QueueDigest(q), got.QueueDigest(q)) << q;
          ASSERT_EQ(CountTasks(restarted, q, 1), CountTasks(got, q, 1)) << q;
          const State::QueueSlot* a = restarted.FindSlot(q);
          const State::QueueSlot* b = got.FindSlot(q);
          ASSERT_EQ(a == nullptr, b == nullptr) << q;
          if (a != nullptr) {
            ASSERT_EQ(a->open, b->open) << q;
            ASSERT_EQ(a->leased, b->leased) << q;
            ASSERT_EQ(a->finished, b->finished) << q;
            ASSERT_GE(a->tasks.size(), b->tasks.size()) << q;
            if (!a->record || !a->record->last_delete) {
              ASSERT_EQ(a->tasks.size(), b->tasks.size()) << q;
            }
          }
        }
        // A queue holds dropped tasks exactly when the store has a task of
        // it that memory does not (core/cold_tasks.h reads no other queue).
        for (const char* q : kQueues) {
          Result<std::vector<TaskRecord>> stored =
              replica.store().ListTasks(q, std::nullopt, 1'000'000);
          ASSERT_TRUE(stored.ok()) << stored.status().ToString();
          const bool absent = std::ranges::any_of(
              *stored, [&](const TaskRecord& t) { return got.FindTask(q, t.id) == nullptr; });
          ASSERT_EQ(got.HoldsDropped(q), absent) << q;
          ASSERT_EQ(restarted.HoldsDropped(q), std::ranges::any_of(*stored,
                                                                   [&](const TaskRecord& t) {
                                                                     return restarted.FindTask(
                                                                                q, t.id) == nullptr;
                                                                   }))
              << q;
        }
        // What is in memory is what is live, and every register is stored.
        for (const auto& [name, slot] : got.queues()) {
          for (const auto& [id, task] : slot.tasks) {
            bool droppable = task.status.key.outcome != Outcome::kLive && slot.record &&
                             TaskVisible(task, &*slot.record);
            ASSERT_FALSE(droppable) << name << " " << id.ToString() << " stayed in memory";
          }
        }
      });
}

// Dropping live tasks too, as a replay does (State::set_evict_live), changes
// no register or digest either, and leaves no live task in memory once all
// is committed.
TEST(ConvergenceModelTest, DroppingLiveTasksInAReplayChangesNothing) {
  ForEachDroppingReplay(
      "replay dropping model", /*drop_live=*/true, [](DroppingReplica& replica, const State&) {
        State& got = replica.state();
        for (const char* q : kQueues) {
          if (const State::QueueSlot* slot = got.FindSlot(q)) {
            for (const auto& [id, task] : slot->tasks) {
              ASSERT_NE(task.status.key.outcome, Outcome::kLive) << "a live task stayed";
            }
          }
        }
      });
}

// Admission (docs/registers.md, "Hostile clocks"): each node admits an entry
// only when its clock can observe it (HybridClock::Observe, as the
// sequencer does), with a physical clock skewed within the offset. Over
// rounds of rising real time every node is offered random subsets of what
// it has not stored (anti-entropy), in random order with duplicates, and
// finally everything. The nodes' clocks never leave their bounds, and the
// nodes end with equal registers and digests: those of the entries within
// the entry-only bounds (epoch, count) and not a century ahead.
TEST(ConvergenceModelTest, AdmissionDefersButNodesConverge) {
  const uint64_t seed = EnvOr("PIGTAIL_SEED", std::random_device{}());
  const uint64_t histories = EnvOr("PIGTAIL_MODEL_HISTORIES", 10000) / 5;
  std::printf("admission model: seed=%llu histories=%llu (PIGTAIL_SEED=%llu reproduces)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(histories),
              static_cast<unsigned long long>(seed));
  using testing::kMs;
  constexpr uint64_t kOffset = 5 * kMs;
  constexpr uint64_t kFinal = 4'000 * kMs;  // past every "a few seconds ahead" stamp
  std::mt19937_64 rng(seed);
  uint64_t deferred = 0;
  for (uint64_t h = 0; h < histories; ++h) {
    const uint64_t history_seed = rng();
    SCOPED_TRACE("PIGTAIL_SEED=" + std::to_string(seed) + " history " + std::to_string(h) +
                 " (history seed " + std::to_string(history_seed) + ")");
    std::vector<Event> events = HistoryGenerator(history_seed, 6).Generate();

    std::vector<Event> admissible;
    for (const Event& e : events) {
      if (e.when.epoch == 0 && e.when.count <= kMaxHlcCount && e.when.time <= kFinal) {
        admissible.push_back(e);
      }
    }
    State reference;
    for (const Event& e : admissible) ApplyEvent(e, &reference);

    std::mt19937_64 node_rng(history_seed);
    uint64_t real = 0;
    struct Replica {
      uint64_t skew;  // physical = real + skew, within [0, 3 ms]
      std::unique_ptr<HybridClock> clock;
      std::set<Uuid> stored;
      State state;
    };
    std::vector<Replica> nodes(kNodes);
    for (Replica& n : nodes) {
      n.skew = node_rng() % (3 * kMs);
      n.clock = std::make_unique<HybridClock>(kOffset, [&real, &n] { return real + n.skew; });
    }
    for (int round = 0; round <= 6; ++round) {
      real = round == 6 ? kFinal
                        : real + node_rng() % (500 * kMs);  // at most 2.5 s before the final round
      for (Replica& n : nodes) {
        std::vector<const Event*> offer;
        for (const Event& e : events) {
          if (round == 6 || node_rng() % 2 == 0) offer.push_back(&e);
          if (node_rng() % 5 == 0) offer.push_back(&e);
        }
        std::shuffle(offer.begin(), offer.end(), node_rng);
        for (const Event* e : offer) {
          if (!n.clock->Observe(e->when).ok()) {
            ++deferred;
            continue;
          }
          n.stored.insert(e->id);
          ApplyEvent(*e, &n.state);
        }
        const Hlc last = n.clock->Last();
        ASSERT_EQ(last.epoch, 0u);
        ASSERT_LE(last.count, kMaxHlcCount);
        ASSERT_LE(last.time, real + n.skew + kOffset);
      }
    }
    for (Replica& n : nodes) {
      ASSERT_EQ(n.stored.size(), admissible.size());
      ASSERT_TRUE(n.state.SameRegisters(reference));
      ASSERT_EQ(n.state.total_digest(), reference.total_digest());
    }
  }
  std::printf("admission model: %llu offers deferred\n", static_cast<unsigned long long>(deferred));
}

}  // namespace
}  // namespace pigtail

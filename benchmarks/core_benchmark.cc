// Parse + project events in memory, in log order and shuffled; the digests
// of both must match (the benchmark fails otherwise).
//
//   build/benchmarks/core_benchmark --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/memory_store.h"
#include "core/projector.h"
#include "core/queue_op.h"
#include "core/task_view.h"

namespace pigtail {
namespace {

constexpr int kTasks = 33'334;  // 1/3 each Add, Progress, Done: ~100k events

// Raw event text: for each task an Add, a Progress (claim) and a Done, from
// three owners, with {"task_name":"hello","info":{"foo":"bar"}} payloads.
const std::vector<std::string>& RawLog() {
  static const std::vector<std::string> log = [] {
    std::vector<std::string> out;
    std::mt19937_64 rng(7);
    Uuid owners[3] = {Uuid::Random(), Uuid::Random(), Uuid::Random()};
    Uuid worker = Uuid::Random();
    uint64_t t = 1'700'000'000'000'000'000ull;
    auto append = [&](const Uuid& id, const QueueOp& op) {
      NewEvent e{id, owners[rng() % 3], std::nullopt, Hlc{0, t += 1000, 0}, SerializeQueueOp(op),
                 {}};
      out.push_back(MakeEvent(e)->raw);
    };
    append(Uuid::Random(), CreateOp{"bench", 30000, std::nullopt, std::nullopt});
    for (int i = 0; i < kTasks; ++i) {
      Uuid task = Uuid::Random();
      append(task, AddOp{"bench", "hello", R"({"foo":"bar"})", 0, 0, {}, {}});
      append(Uuid::Random(), ProgressOp{"bench", task, worker, 0});
      append(Uuid::Random(), DoneOp{"bench", task, worker, 0});
    }
    return out;
  }();
  return log;
}

std::vector<Event> ParsedLog(bool shuffled) {
  std::vector<Event> events;
  for (const std::string& raw : RawLog()) events.push_back(*ParseEvent(raw));
  if (shuffled) std::shuffle(events.begin(), events.end(), std::mt19937_64(11));
  return events;
}

Digest OrderedDigest() {
  static const Digest digest = [] {
    State state;
    for (const Event& e : ParsedLog(false)) ApplyEvent(e, &state);
    return state.total_digest();
  }();
  return digest;
}

void BM_ParseEvents(benchmark::State& bench) {
  const auto& log = RawLog();
  for (auto _ : bench) {
    for (const std::string& raw : log) {
      Result<Event> e = ParseEvent(raw);
      benchmark::DoNotOptimize(e);
    }
  }
  bench.SetItemsProcessed(bench.iterations() * static_cast<int64_t>(log.size()));
}
BENCHMARK(BM_ParseEvents)->Unit(benchmark::kMillisecond);

// Projection alone, from parsed events; arg 1 = shuffled order.
void BM_Project(benchmark::State& bench) {
  std::vector<Event> events = ParsedLog(bench.range(0) == 1);
  Digest digest;
  for (auto _ : bench) {
    State state;
    state.set_track_changes(false);
    for (const Event& e : events) ApplyEvent(e, &state);
    digest = state.total_digest();
  }
  if (digest != OrderedDigest()) bench.SkipWithError("digest differs from log order");
  bench.SetItemsProcessed(bench.iterations() * static_cast<int64_t>(events.size()));
}
BENCHMARK(BM_Project)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Parse + project from raw text; arg 1 = shuffled order.
void BM_ParseAndProject(benchmark::State& bench) {
  std::vector<std::string> log = RawLog();
  if (bench.range(0) == 1) std::shuffle(log.begin(), log.end(), std::mt19937_64(13));
  Digest digest;
  for (auto _ : bench) {
    State state;
    state.set_track_changes(false);
    for (const std::string& raw : log) ApplyEvent(*ParseEvent(raw), &state);
    digest = state.total_digest();
  }
  if (digest != OrderedDigest()) bench.SkipWithError("digest differs from log order");
  bench.SetItemsProcessed(bench.iterations() * static_cast<int64_t>(log.size()));
}
BENCHMARK(BM_ParseAndProject)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Parsing the claims of 100 tasks: one Batch entry of 100 Progress ops
// (arg 1, as pigtaild writes them) or 100 entries of one op (arg 0).
// items/s counts ops.
void BM_ParseClaims(benchmark::State& bench) {
  const bool batched = bench.range(0) == 1;
  Uuid owner = Uuid::Random();
  Uuid worker = Uuid::Random();
  BatchOp batch;
  for (int i = 0; i < 100; ++i)
    batch.ops.emplace_back(ProgressOp{"bench", Uuid::Random(), worker, 1});
  std::vector<std::string> raws;
  const Hlc when{0, 1'700'000'000'000'000'000ull, 0};
  if (batched) {
    raws.push_back(MakeOpEvent(Uuid::Random(), owner, Uuid::Random(), when, batch).raw);
  } else {
    for (const TaskOp& op : batch.ops) {
      raws.push_back(MakeOpEvent(Uuid::Random(), owner, Uuid::Random(), when, ToQueueOp(op)).raw);
    }
  }
  for (auto _ : bench) {
    for (const std::string& raw : raws) {
      Result<Event> e = ParseEvent(raw);
      benchmark::DoNotOptimize(e);
    }
  }
  bench.SetItemsProcessed(bench.iterations() * 100);
}
BENCHMARK(BM_ParseClaims)->Arg(0)->Arg(1);

// Claim-next's read: the first 100 claimable tasks of a queue that holds
// 10,000 ready Pending tasks and `arg` Working ones whose leases still run
// (long-running work, e.g. video encodes), all added before the pending ones.
void BM_ClaimableTasks(benchmark::State& bench) {
  const int working = static_cast<int>(bench.range(0));
  State state;
  Uuid owner = Uuid::Random();
  Uuid worker = Uuid::Random();
  uint64_t t = 1'700'000'000'000'000'000ull;
  auto apply = [&](const QueueOp& op) {
    Uuid id = Uuid::Random();
    ApplyEvent(MakeOpEvent(id, owner, std::nullopt, Hlc{0, t += 1000, 0}, op), &state);
    return id;
  };
  apply(CreateOp{"bench", 3'600'000, std::nullopt, std::nullopt});
  for (int i = 0; i < working + 10'000; ++i) {
    Uuid task = apply(AddOp{"bench", "hello", R"({"foo":"bar"})", 0, 0, {}, {}});
    if (i < working) apply(ProgressOp{"bench", task, worker, 0});
  }
  size_t claimable = 0;
  for (auto _ : bench) {
    std::vector<const TaskRecord*> tasks = ClaimableTasks(state, "bench", t, 100);
    claimable = tasks.size();
    benchmark::DoNotOptimize(tasks.data());
  }
  if (claimable != 100) bench.SkipWithError("expected 100 claimable tasks");
  bench.SetItemsProcessed(bench.iterations() * 100);
}
BENCHMARK(BM_ClaimableTasks)->Arg(100)->Arg(1'000)->Arg(10'000)->Arg(100'000);

// A node's start: loading a state store that holds 200,000 Pending tasks
// of one queue into a State. The store yields them in id order: with ids
// a node mints (time-ordered, arg 0) that is the order they were added in,
// so the order they are claimed in; with random ids (arg 1: entries from
// clients that pick their own) it is not, and the claim index is built
// after the load (State::BeginLoad). items/s counts tasks.
void BM_LoadState(benchmark::State& bench) {
  constexpr int kLoadTasks = 200'000;
  const bool random_ids = bench.range(0) == 1;
  std::unique_ptr<StateStore> store = NewMemoryStateStore();
  {
    State state;
    Uuid owner = Uuid::Random();
    uint64_t t = 1'700'000'000'000'000'000ull;
    auto apply = [&](const QueueOp& op) {
      t += 100'000;  // ten tasks a millisecond
      const Uuid id = random_ids ? Uuid::Random() : Uuid::TimeOrdered(t / 1'000'000);
      ApplyEvent(MakeOpEvent(id, owner, std::nullopt, Hlc{0, t, 0}, op), &state);
    };
    apply(CreateOp{"bench", 30'000, std::nullopt, std::nullopt});
    for (int i = 0; i < kLoadTasks; ++i) {
      apply(AddOp{"bench", "hello", R"({"foo":"bar"})", 0, 0, {}, {}});
    }
    state.SettleDigests();
    if (!store->BulkLoad(state, 0).ok()) return bench.SkipWithError("bulk load failed");
  }
  size_t claimable = 0;
  for (auto _ : bench) {
    auto state = std::make_unique<State>();
    state->set_evict_finished(true);
    state->BeginLoad();  // as Node::Open
    if (!store->LoadInto(state.get(), {}).ok()) return bench.SkipWithError("load failed");
    state->FinishLoad();
    claimable = ClaimableTasks(*state, "bench", UINT64_MAX, 1).size();
    bench.PauseTiming();  // not the State's teardown
    state.reset();
    bench.ResumeTiming();
  }
  if (claimable != 1) bench.SkipWithError("expected a claimable task");
  bench.SetItemsProcessed(bench.iterations() * kLoadTasks);
}
BENCHMARK(BM_LoadState)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pigtail

BENCHMARK_MAIN();

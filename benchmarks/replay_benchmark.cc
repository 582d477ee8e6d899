// Replay throughput: a realistic log (tests/replay/log_generator.h) of
// PIGTAIL_REPLAY_BENCH_EVENTS events (default 200,000; 1,000,000 for the
// figures in README.md) replayed from a JSONL dump into memory, RocksDB and
// PostgreSQL (when PIGTAIL_TEST_POSTGRES_URI is set), in log order, shuffled,
// and with 10% duplicates; every run checks its digest against the ordered
// in-memory projection. Also: parse only, and verify (rebuild + compare
// register by register) against a RocksDB state.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "backends/registry.h"
#include "core/projector.h"
#include "replay/jsonl_source.h"
#include "replay/replayer.h"
#include "replay/state_diff.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {

enum Order { kOrdered = 0, kShuffled = 1, kDuplicates = 2 };
const char* kOrderNames[] = {"ordered", "shuffled", "dup10"};

uint64_t EventCount() {
  const char* env = std::getenv("PIGTAIL_REPLAY_BENCH_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 200'000;
}

struct Fixture {
  std::string dir;
  std::string files[3];
  Digest expected;
  uint64_t events[3] = {0, 0, 0};

  Fixture() {
    dir = testing::TempDir("bench");
    std::vector<Event> log = testing::GenerateLog({.events = EventCount(), .seed = 42});
    State state;
    state.set_track_changes(false);
    for (const Event& e : log) ApplyEvent(e, &state);
    expected = state.total_digest();
    files[kOrdered] = dir + "/ordered.jsonl";
    testing::WriteJsonl(log, files[kOrdered]);
    events[kOrdered] = log.size();
    std::mt19937_64 rng(7);
    std::vector<Event> shuffled = log;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    files[kShuffled] = dir + "/shuffled.jsonl";
    testing::WriteJsonl(shuffled, files[kShuffled]);
    events[kShuffled] = shuffled.size();
    std::vector<Event> dup = log;
    for (size_t i = 0; i < log.size() / 10; ++i) dup.push_back(log[rng() % log.size()]);
    std::shuffle(dup.begin() + static_cast<long>(log.size()), dup.end(), rng);
    // Interleave the duplicates through the log.
    std::vector<Event> mixed;
    mixed.reserve(dup.size());
    size_t extra = log.size();
    for (size_t i = 0; i < log.size(); ++i) {
      mixed.push_back(std::move(dup[i]));
      if (i % 10 == 9 && extra < dup.size()) mixed.push_back(std::move(dup[extra++]));
    }
    files[kDuplicates] = dir + "/dup10.jsonl";
    testing::WriteJsonl(mixed, files[kDuplicates]);
    events[kDuplicates] = mixed.size();
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& TheFixture() {
  static Fixture* f = new Fixture();
  return *f;
}

void BM_Parse(benchmark::State& st) {
  Fixture& f = TheFixture();
  for (auto _ : st) {
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(f.files[kOrdered], &reporter);
    std::vector<SourcedEvent> batch;
    uint64_t n = 0;
    while ((*source)->Next({}, &batch).ok() && !batch.empty()) n += batch.size();
    benchmark::DoNotOptimize(n);
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * f.events[kOrdered]));
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond)->UseRealTime();

// Args: order, backend (0 memory, 1 rocksdb, 2 postgres), mode (0 commit, 1 bulk).
void BM_Replay(benchmark::State& st) {
  Fixture& f = TheFixture();
  auto order = static_cast<Order>(st.range(0));
  int backend = static_cast<int>(st.range(1));
  bool bulk = st.range(2) == 1;
  const char* pg = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  if (backend == 2 && pg == nullptr) {
    st.SkipWithError("PIGTAIL_TEST_POSTGRES_URI not set (run via scripts/pg_cluster.sh)");
    return;
  }
  st.SetLabel(std::string(kOrderNames[order]) + "/" +
              (backend == 0   ? "memory"
               : backend == 1 ? "rocksdb"
                              : "postgres") +
              (bulk ? "/bulk" : "/commit"));
  int run = 0;
  for (auto _ : st) {
    st.PauseTiming();
    BackendOptions options;
    options.postgres_schema = "replay_bench_" + std::to_string(::getpid());
    std::string uri = backend == 0   ? "memory:"
                      : backend == 1 ? "rocksdb:" + f.dir + "/state" + std::to_string(run++)
                                     : std::string(pg);
    auto store = OpenStateStore(uri, options);
    if (!store.ok() || !(*store)->Reset().ok()) {
      st.SkipWithError("cannot open the state store");
      return;
    }
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(f.files[order], &reporter);
    ReplayOptions ro;
    ro.write_mode = bulk ? WriteMode::kBulkLoad : WriteMode::kCommitBatches;
    State state;
    st.ResumeTiming();
    Result<ReplayReport> r = Replay(source->get(), &state, store->get(), ro, nullptr);
    st.PauseTiming();
    if (!r.ok() || r->digest != f.expected) {
      st.SkipWithError(r.ok() ? "digest differs from the ordered projection"
                              : r.status().ToString().c_str());
      return;
    }
    store->reset();
    st.ResumeTiming();
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * f.events[order]));
}
BENCHMARK(BM_Replay)
    ->ArgsProduct({{kOrdered, kShuffled, kDuplicates}, {0, 1}, {0, 1}})
    ->Args({kOrdered, 2, 0})
    ->Args({kOrdered, 2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

void BM_Verify(benchmark::State& st) {
  Fixture& f = TheFixture();
  std::string uri = "rocksdb:" + f.dir + "/verify";
  {
    auto store = OpenStateStore(uri);
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(f.files[kOrdered], &reporter);
    ReplayOptions ro;
    ro.write_mode = WriteMode::kBulkLoad;
    State state;
    if (!store.ok() || !Replay(source->get(), &state, store->get(), ro, nullptr).ok()) {
      st.SkipWithError("cannot build the state to verify");
      return;
    }
  }
  auto store = OpenStateStore(uri);
  for (auto _ : st) {
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(f.files[kOrdered], &reporter);
    State state;
    Result<ReplayReport> r = Replay(source->get(), &state, nullptr, {}, nullptr);
    Result<StateDiff> diff = DiffStateWithStore(state, store->get());
    if (!r.ok() || !diff.ok() || diff->total != 0) {
      st.SkipWithError("verify failed or found differences");
      return;
    }
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * f.events[kOrdered]));
}
BENCHMARK(BM_Verify)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace
}  // namespace pigtail::replay

BENCHMARK_MAIN();

// Replay throughput: a realistic log (tests/replay/log_generator.h) of
// PIGTAIL_REPLAY_BENCH_EVENTS events (default 200,000; 1,000,000 for the
// figures in README.md) replayed from a JSONL dump into memory, RocksDB and
// PostgreSQL (when PIGTAIL_TEST_POSTGRES_URI is set), in log order, shuffled,
// and with 10% duplicates; every run checks its digest against the ordered
// in-memory projection. Also: parse only, and verify (rebuild + compare
// register by register) against a RocksDB state.
//
// BM_RawWrite writes the ordered log's raw lines into a plain RocksDB
// (WriteBatch of 1,000 Puts keyed by a big-endian sequence number, WAL on,
// no sync: the "RocksDB append raw events" row of ../shared/BENCHMARKS.md).
// After all runs the benchmark prints issue 6's limit from the same run,
// 1 / (1/parse rate + 1/raw write rate), and each RocksDB replay row's
// ratio to it (goal >= 0.5) and to the parse rate alone, per wall-clock
// second and per CPU-second of the benchmark thread.
//
// BM_CopyRegisters writes the ordered log's final registers, projected
// before timing, with one BulkLoad (for PostgreSQL a TRUNCATE and COPY);
// the summary gives each PostgreSQL replay row's wall time against it
// (issue 16: the COPY's time at least 0.70 of the replay's).
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "backends/rocksdb_keys.h"
#include "core/projector.h"
#include "replay/jsonl_source.h"
#include "replay/replayer.h"
#include "replay/state_diff.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {

enum Order { kOrdered = 0, kShuffled = 1, kDuplicates = 2 };
const char* kOrderNames[] = {"ordered", "shuffled", "dup10"};

// The number in environment variable `name`, or `fallback` when unset.
// PIGTAIL_REPLAY_BENCH_EVENTS: the log's size; PIGTAIL_REPLAY_READ_AHEAD,
// PIGTAIL_REPLAY_OVERLAP_COMMITS (0 or 1), PIGTAIL_REPLAY_COMMIT_EVERY and
// PIGTAIL_REPLAY_MEMORY_MB: ReplayOptions for the BM_Replay rows.
uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* env = std::getenv(name);
  return env != nullptr ? std::strtoull(env, nullptr, 10) : fallback;
}

uint64_t EventCount() { return EnvNumber("PIGTAIL_REPLAY_BENCH_EVENTS", 200'000); }

struct Fixture {
  std::string dir;
  std::string files[3];
  Digest expected;
  uint64_t events[3] = {0, 0, 0};
  State final_state;  // the ordered log's projection, settled

  Fixture() {
    dir = testing::TempDir("bench");
    std::vector<Event> log = testing::GenerateLog({.events = EventCount(), .seed = 42});
    final_state.set_track_changes(false);
    final_state.set_claim_index(false);  // rebuilt at each queue Create and Delete otherwise
    for (const Event& e : log) ApplyEvent(e, &final_state);
    final_state.SettleDigests();
    expected = final_state.total_digest();
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

// Built on first use; main deletes it, which removes its directory (the
// logs of a 1,000,000-event run take about a gigabyte).
std::unique_ptr<Fixture>& FixtureSlot() {
  static std::unique_ptr<Fixture> f;
  return f;
}

Fixture& TheFixture() {
  if (FixtureSlot() == nullptr) FixtureSlot() = std::make_unique<Fixture>();
  return *FixtureSlot();
}

// Wall-clock and benchmark-thread CPU seconds of the timed sections, summed
// per benchmark row, for the summary printed at exit.
struct Rate {
  uint64_t events = 0;
  double wall = 0;
  double cpu = 0;
  double process_cpu = 0;        // all threads (read-ahead, RocksDB's background work)
  bool rocksdb_replay = false;   // a BM_Replay row into RocksDB
  bool postgres_replay = false;  // a BM_Replay row into PostgreSQL
  double per_wall() const { return wall > 0 ? static_cast<double>(events) / wall : 0; }
  double per_cpu() const { return cpu > 0 ? static_cast<double>(events) / cpu : 0; }
};

std::map<std::string, Rate>& Rates() {
  static auto* rates = new std::map<std::string, Rate>();
  return *rates;
}

double CpuSeconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double ThreadCpuSeconds() { return CpuSeconds(CLOCK_THREAD_CPUTIME_ID); }
double ProcessCpuSeconds() { return CpuSeconds(CLOCK_PROCESS_CPUTIME_ID); }

// Times one section into Rates()[name].
class SectionTimer {
 public:
  SectionTimer() = default;
  void Stop(const std::string& name, uint64_t events) {
    Rate& r = Rates()[name];
    r.events += events;
    r.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
    r.cpu += ThreadCpuSeconds() - cpu_;
    r.process_cpu += ProcessCpuSeconds() - process_cpu_;
  }

 private:
  std::chrono::steady_clock::time_point wall_ = std::chrono::steady_clock::now();
  double cpu_ = ThreadCpuSeconds();
  double process_cpu_ = ProcessCpuSeconds();
};

void BM_Parse(benchmark::State& st) {
  Fixture& f = TheFixture();
  for (auto _ : st) {
    SectionTimer timer;
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(f.files[kOrdered], &reporter);
    std::vector<SourcedEvent> batch;
    uint64_t n = 0;
    while ((*source)->Next({}, &batch).ok() && !batch.empty()) n += batch.size();
    benchmark::DoNotOptimize(n);
    timer.Stop("parse", n);
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * f.events[kOrdered]));
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond)->UseRealTime();

// The raw write half of the limit: the ordered log's lines (read into memory
// before timing) appended to a fresh plain RocksDB.
void BM_RawWrite(benchmark::State& st) {
  Fixture& f = TheFixture();
  std::vector<std::string> lines;
  {
    std::ifstream in(f.files[kOrdered], std::ios::binary);
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  }
  int run = 0;
  for (auto _ : st) {
    st.PauseTiming();
    std::string path = f.dir + "/raw" + std::to_string(run++);
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw_db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path, &raw_db);
    if (!s.ok()) {
      st.SkipWithError(s.ToString().c_str());
      return;
    }
    std::unique_ptr<rocksdb::DB> db(raw_db);
    rocksdb::WriteOptions write_options;  // WAL on, no sync
    st.ResumeTiming();
    SectionTimer timer;
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < lines.size() && s.ok(); ++i) {
      batch.Put(rocks::SeqKey(i + 1), lines[i]);
      if (batch.Count() == 1000 || i + 1 == lines.size()) {
        s = db->Write(write_options, &batch);
        batch.Clear();
      }
    }
    timer.Stop("raw_write", lines.size());
    st.PauseTiming();
    if (!s.ok()) {
      st.SkipWithError(s.ToString().c_str());
      return;
    }
    db.reset();
    std::filesystem::remove_all(path);
    st.ResumeTiming();
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * lines.size()));
}
BENCHMARK(BM_RawWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

const char* BackendName(int backend) {
  return backend == 0 ? "memory" : backend == 1 ? "rocksdb" : "postgres";
}

// An empty state store of `backend` (0 memory, 1 RocksDB in a new
// directory of the fixture's, 2 PostgreSQL at PIGTAIL_TEST_POSTGRES_URI in
// a schema of this process); null after skipping `st` with the reason.
std::unique_ptr<StateStore> EmptyStore(benchmark::State& st, int backend) {
  static int stores = 0;
  const char* pg = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  if (backend == 2 && pg == nullptr) {
    st.SkipWithError("PIGTAIL_TEST_POSTGRES_URI not set (run via scripts/pg_cluster.sh)");
    return nullptr;
  }
  BackendOptions options;
  options.postgres_schema = "replay_bench_" + std::to_string(::getpid());
  std::string uri = backend == 0 ? "memory:"
                    : backend == 1
                        ? "rocksdb:" + TheFixture().dir + "/store" + std::to_string(stores++)
                        : std::string(pg);
  auto store = OpenStateStore(uri, options);
  if (!store.ok() || !(*store)->Reset().ok()) {
    st.SkipWithError("cannot open the state store");
    return nullptr;
  }
  return std::move(store).value();
}

// Args: order, backend (0 memory, 1 rocksdb, 2 postgres), mode (0 commit, 1 bulk).
void BM_Replay(benchmark::State& st) {
  Fixture& f = TheFixture();
  auto order = static_cast<Order>(st.range(0));
  int backend = static_cast<int>(st.range(1));
  bool bulk = st.range(2) == 1;
  st.SetLabel(std::string(kOrderNames[order]) + "/" + BackendName(backend) +
              (bulk ? "/bulk" : "/commit"));
  for (auto _ : st) {
    st.PauseTiming();
    std::unique_ptr<StateStore> store = EmptyStore(st, backend);
    if (store == nullptr) return;
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(f.files[order], &reporter);
    ReplayOptions ro;
    ro.write_mode = bulk ? WriteMode::kBulkLoad : WriteMode::kCommitBatches;
    ro.read_ahead_batches = EnvNumber("PIGTAIL_REPLAY_READ_AHEAD", 0);
    ro.rebuild_claim_index = false;  // as the replay tool (replay/cli.cc)
    ro.overlap_commits = EnvNumber("PIGTAIL_REPLAY_OVERLAP_COMMITS", 0) != 0;
    ro.commit_every_events = EnvNumber("PIGTAIL_REPLAY_COMMIT_EVERY", ro.commit_every_events);
    ro.memory_budget_bytes = EnvNumber("PIGTAIL_REPLAY_MEMORY_MB", ro.memory_budget_bytes >> 20)
                             << 20;
    State state;
    st.ResumeTiming();
    SectionTimer timer;
    Result<ReplayReport> r = Replay(source->get(), &state, store.get(), ro, nullptr);
    const std::string row = "BM_Replay/" + std::to_string(order) + "/" + std::to_string(backend) +
                            "/" + std::to_string(bulk ? 1 : 0);
    timer.Stop(row, f.events[order]);
    Rates()[row].rocksdb_replay = backend == 1;
    Rates()[row].postgres_replay = backend == 2;
    st.PauseTiming();
    if (!r.ok() || r->digest != f.expected) {
      st.SkipWithError(r.ok() ? "digest differs from the ordered projection"
                              : r.status().ToString().c_str());
      return;
    }
    store.reset();
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

// The registers a replay of the ordered log ends with, projected before
// timing, written by one BulkLoad (PostgreSQL: TRUNCATE and COPY in one
// transaction): the floor of any replay into that backend. Arg: backend
// (1 rocksdb, 2 postgres).
void BM_CopyRegisters(benchmark::State& st) {
  Fixture& f = TheFixture();
  int backend = static_cast<int>(st.range(0));
  st.SetLabel(BackendName(backend));
  for (auto _ : st) {
    st.PauseTiming();
    std::unique_ptr<StateStore> store = EmptyStore(st, backend);
    if (store == nullptr) return;
    st.ResumeTiming();
    SectionTimer timer;
    Status s = store->BulkLoad(f.final_state, f.events[kOrdered]);
    timer.Stop(std::string("copy/") + BackendName(backend), f.events[kOrdered]);
    st.PauseTiming();
    if (!s.ok()) {
      st.SkipWithError(s.ToString().c_str());
      return;
    }
    store.reset();
    st.ResumeTiming();
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * f.events[kOrdered]));
}
BENCHMARK(BM_CopyRegisters)
    ->Arg(1)
    ->Arg(2)
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

// Issue 6's limit and each RocksDB replay row against it and against parse.
void PrintSummary() {
  const std::map<std::string, Rate>& rates = Rates();
  auto parse = rates.find("parse");
  auto raw = rates.find("raw_write");
  if (parse == rates.end() || raw == rates.end()) {
    std::printf("\nlimit: needs BM_Parse and BM_RawWrite in the same run\n");
    return;
  }
  auto limit = [](double a, double b) { return a > 0 && b > 0 ? 1 / (1 / a + 1 / b) : 0; };
  double limit_wall = limit(parse->second.per_wall(), raw->second.per_wall());
  double limit_cpu = limit(parse->second.per_cpu(), raw->second.per_cpu());
  std::printf("\n%-28s %12s %12s\n", "events/s", "wall", "thread CPU");
  std::printf("%-28s %12.0f %12.0f\n", "parse", parse->second.per_wall(), parse->second.per_cpu());
  std::printf("%-28s %12.0f %12.0f\n", "raw write (RocksDB)", raw->second.per_wall(),
              raw->second.per_cpu());
  std::printf("%-28s %12.0f %12.0f\n", "limit 1/(1/parse+1/raw)", limit_wall, limit_cpu);
  std::printf("\n%-28s %9s %9s %9s\n", "ms (all rows)", "wall", "thread", "process");
  for (const auto& [name, rate] : rates) {
    std::printf("%-28s %9.0f %9.0f %9.0f\n", name.c_str(), rate.wall * 1e3, rate.cpu * 1e3,
                rate.process_cpu * 1e3);
  }
  std::printf("\n%-28s %9s %9s %9s | %9s %9s %9s\n", "RocksDB replay", "wall/s", "/limit", "/parse",
              "cpu/s", "/limit", "/parse");
  for (const auto& [name, rate] : rates) {
    if (!rate.rocksdb_replay) continue;
    std::printf("%-28s %9.0f %9.2f %9.2f | %9.0f %9.2f %9.2f\n", name.c_str(), rate.per_wall(),
                rate.per_wall() / limit_wall, rate.per_wall() / parse->second.per_wall(),
                rate.per_cpu(), rate.per_cpu() / limit_cpu,
                rate.per_cpu() / parse->second.per_cpu());
  }
  std::printf("goal: /limit >= 0.50 (issue 6); stricter: /parse >= 0.50\n");
}

// Issue 16: each replay into PostgreSQL against a COPY of its final
// registers, as the COPY's wall time over the replay's.
void PrintPostgresSummary() {
  const std::map<std::string, Rate>& rates = Rates();
  auto copy = rates.find("copy/postgres");
  if (copy == rates.end()) return;
  std::printf("\n%-28s %9s %9s %12s\n", "PostgreSQL replay", "wall ms", "copy ms", "copy/replay");
  for (const auto& [name, rate] : rates) {
    if (!rate.postgres_replay || rate.wall <= 0) continue;
    std::printf("%-28s %9.0f %9.0f %12.2f\n", name.c_str(), rate.wall * 1e3,
                copy->second.wall * 1e3, copy->second.wall / rate.wall);
  }
  std::printf("goal: copy/replay >= 0.70 (issue 16)\n");
}

}  // namespace
}  // namespace pigtail::replay

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  pigtail::replay::PrintSummary();
  pigtail::replay::PrintPostgresSummary();
  pigtail::replay::FixtureSlot().reset();
  return 0;
}

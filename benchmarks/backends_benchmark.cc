// Backend throughput: the same workloads on every backend.
//
//   Append/<backend>/sync:<0|1>   append raw events in batches of 1,000
//   Commit/<backend>/sync:<0|1>   commit the StateBatch of 1,000 projected events
//   Scan/<backend>                read the whole log (--scan_events events,
//                                 default 1,000,000) in pages of 10,000
//   ScanOwner/<backend>           read the same log as GET /log/range serves
//                                 it: by owner, raw, in pages of 1,000
//
// Backends: memory, rocksdb (a fresh temporary directory, removed at exit),
// and postgres when PIGTAIL_TEST_POSTGRES_URI is set (a fresh schema,
// dropped at exit). Events are 1/3 each Add, Progress and Done of the
// peer job-queue workload: {"task_name":"hello",
// "info":{"foo":"bar"}} tasks on one queue, one owner chain.
//
// Flags (besides Google Benchmark's): --scan_events=N, --backends=a,b,c
#include <benchmark/benchmark.h>

#include <pqxx/pqxx>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/event.h"
#include "core/projector.h"
#include "core/queue_op.h"
#include "core/state.h"

namespace pigtail {
namespace {

constexpr size_t kBatch = 1000;
constexpr size_t kScanPage = 10'000;

struct BenchBackend {
  std::string name;
  std::string uri;
  BackendOptions options;
  std::string dir;  // rocksdb: removed at exit
};

std::vector<BenchBackend>& Backends() {
  static std::vector<BenchBackend> backends;
  return backends;
}

[[noreturn]] void Die(const Status& s, const char* what) {
  std::fprintf(stderr, "backends_benchmark: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

// One owner's chain of Add / Progress / Done events.
class EventSource {
 public:
  EventSource() : owner_(Uuid::Random()), worker_(Uuid::Random()) {}

  std::vector<Event> Next(size_t n) {
    std::vector<Event> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      QueueOp op;
      switch (count_ % 3) {
        case 0:
          op = AddOp{"bench", "hello", R"({"foo":"bar"})", 0, 0, std::nullopt, std::nullopt};
          break;
        case 1:
          op = ProgressOp{"bench", last_task_, worker_, 0};
          break;
        default:
          op = DoneOp{"bench", last_task_, worker_, 0};
          break;
      }
      NewEvent fields;
      fields.id = Uuid::Random();
      fields.owner = owner_;
      fields.prev = prev_;
      fields.when = Hlc{0, 1'700'000'000'000'000'000ULL + count_ * 1000, 0};
      fields.data_json = SerializeQueueOp(op);
      Event e = Check(MakeEvent(fields), "make event");
      if (count_ % 3 == 0) last_task_ = e.id;
      prev_ = e.id;
      ++count_;
      out.push_back(std::move(e));
    }
    return out;
  }

  // The Create that precedes the tasks.
  Event Create() {
    NewEvent fields;
    fields.id = Uuid::Random();
    fields.owner = Uuid::Random();
    fields.when = Hlc{0, 1'600'000'000'000'000'000ULL, 0};
    fields.data_json = SerializeQueueOp(CreateOp{"bench", 30'000, std::nullopt, std::nullopt});
    return Check(MakeEvent(fields), "make event");
  }

 private:
  Uuid owner_;
  Uuid worker_;
  std::optional<Uuid> prev_;
  Uuid last_task_;
  uint64_t count_ = 0;
};

void BM_Append(benchmark::State& st, const BenchBackend* backend, bool sync) {
  auto store = Check(OpenEventStore(backend->uri, backend->options), "open event store");
  EventSource source;
  uint64_t bytes = 0;
  for (auto _ : st) {
    st.PauseTiming();
    std::vector<Event> batch = source.Next(kBatch);
    for (const Event& e : batch) bytes += e.raw.size();
    st.ResumeTiming();
    auto seqs = Check(store->Append(batch, sync), "append");
    benchmark::DoNotOptimize(seqs);
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * kBatch));
  st.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_Commit(benchmark::State& st, const BenchBackend* backend, bool sync) {
  auto store = Check(OpenStateStore(backend->uri, backend->options), "open state store");
  Status reset = store->Reset();
  if (!reset.ok()) Die(reset, "reset");
  EventSource source;
  State state;
  (void)ApplyEvent(source.Create(), &state);
  uint64_t checkpoint = 1;
  uint64_t registers = 0;
  for (auto _ : st) {
    st.PauseTiming();
    for (const Event& e : source.Next(kBatch)) (void)ApplyEvent(e, &state);
    checkpoint += kBatch;
    StateBatch batch = state.TakeChanges(checkpoint);
    registers += batch.tasks.size() + batch.queues.size();
    st.ResumeTiming();
    Status s = store->Commit(batch, sync);
    if (!s.ok()) Die(s, "commit");
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * kBatch));
  st.counters["registers/s"] =
      benchmark::Counter(static_cast<double>(registers), benchmark::Counter::kIsRate);
}

// The log the scans read: `events` events of one owner, in a store of its
// own (a URI-local schema or directory per backend), filled by the first
// scan that opens it. Sets *have to the events it holds.
std::unique_ptr<EventStore> ScanLog(const BenchBackend& backend, uint64_t events, uint64_t* have) {
  BenchBackend own = backend;
  if (own.name == "rocksdb") own.uri += "-scan";
  if (own.name == "postgres") own.options.postgres_schema += "_scan";
  auto store = Check(OpenEventStore(own.uri, own.options), "open event store");
  *have = Check(store->LastSequence(), "last sequence");
  EventSource source;
  while (*have < events) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch * 10, events - *have));
    auto seqs = Check(store->Append(source.Next(n), false), "fill log");
    *have += n;
  }
  return store;
}

void BM_Scan(benchmark::State& st, const BenchBackend* backend, uint64_t events) {
  uint64_t have = 0;
  auto store = ScanLog(*backend, events, &have);
  for (auto _ : st) {
    uint64_t after = 0;
    uint64_t seen = 0;
    for (;;) {
      auto page = Check(store->Scan(after, kScanPage), "scan");
      if (page.empty()) break;
      after = page.back().seq;
      seen += page.size();
    }
    if (seen != have) {
      st.SkipWithError("scan saw fewer events than stored");
      break;
    }
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * have));
}

// What GET /log/range serves a peer catching up: the owner's entries, as
// stored, in pages of 1,000, each page after the last one's timestamp.
void BM_ScanOwner(benchmark::State& st, const BenchBackend* backend, uint64_t events) {
  uint64_t have = 0;
  auto store = ScanLog(*backend, events, &have);
  const std::map<Uuid, Uuid> heads = Check(store->Heads(), "heads");
  if (heads.empty()) {
    st.SkipWithError("the log is empty");
    return;
  }
  const Uuid owner = heads.begin()->first;
  for (auto _ : st) {
    std::optional<Hlc> after;
    uint64_t seen = 0;
    for (;;) {
      auto page = Check(store->ScanOwnerRaw(owner, after, kBatch), "scan owner");
      if (page.empty()) break;
      after = Check(ParseEvent(page.back().bytes), "parse the page's last entry").when;
      seen += page.size();
    }
    if (seen != have) {
      st.SkipWithError("the owner scan saw fewer events than stored");
      break;
    }
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * have));
}

void DropPostgresSchemas() {
  for (const BenchBackend& b : Backends()) {
    if (b.name != "postgres") continue;
    try {
      pqxx::connection conn(b.uri);
      pqxx::work tx(conn);
      for (const std::string& schema :
           {b.options.postgres_schema, b.options.postgres_schema + "_scan"}) {
        tx.exec0("DROP SCHEMA IF EXISTS " + tx.quote_name(schema) + " CASCADE");
      }
      tx.commit();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "backends_benchmark: could not drop schema: %s\n", e.what());
    }
  }
}

}  // namespace
}  // namespace pigtail

int main(int argc, char** argv) {
  using namespace pigtail;
  uint64_t scan_events = 1'000'000;
  std::string wanted = "memory,rocksdb,postgres";
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--scan_events=", 14) == 0) {
      scan_events = std::strtoull(argv[i] + 14, nullptr, 10);
    } else if (std::strncmp(argv[i], "--backends=", 11) == 0) {
      wanted = argv[i] + 11;
    } else {
      rest.push_back(argv[i]);
    }
  }
  auto want = [&](const std::string& name) {
    return ("," + wanted + ",").find("," + name + ",") != std::string::npos;
  };
#ifndef NDEBUG
  std::fprintf(stderr, "WARNING: assertions are on (not a release build); figures are slow\n");
#endif
  std::string suffix = Uuid::Random().ToString().substr(0, 8);
  if (want("memory")) Backends().push_back({"memory", "memory:", {}, {}});
  if (want("rocksdb")) {
    std::string dir =
        (std::filesystem::temp_directory_path() / ("pigtail-bench-" + suffix)).string();
    Backends().push_back({"rocksdb", "rocksdb:" + dir, {}, dir});
  }
  const char* pg = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  if (want("postgres")) {
    if (pg != nullptr && *pg != '\0') {
      BackendOptions options;
      options.postgres_schema = "pigtail_bench_" + suffix;
      Backends().push_back({"postgres", pg, options, {}});
    } else {
      std::fprintf(stderr, "postgres: PIGTAIL_TEST_POSTGRES_URI not set; not measured\n");
    }
  }
  std::printf("scan_events=%llu batch=%zu\n", static_cast<unsigned long long>(scan_events), kBatch);
  for (const BenchBackend& b : Backends()) {
    for (bool sync : {false, true}) {
      benchmark::RegisterBenchmark(("Append/" + b.name + "/sync:" + (sync ? "1" : "0")).c_str(),
                                   BM_Append, &b, sync)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
    for (bool sync : {false, true}) {
      benchmark::RegisterBenchmark(("Commit/" + b.name + "/sync:" + (sync ? "1" : "0")).c_str(),
                                   BM_Commit, &b, sync)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(("Scan/" + b.name).c_str(), BM_Scan, &b, scan_events)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
    benchmark::RegisterBenchmark(("ScanOwner/" + b.name).c_str(), BM_ScanOwner, &b, scan_events)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  DropPostgresSchemas();
  for (const BenchBackend& b : Backends()) {
    if (b.dir.empty()) continue;
    std::error_code ec;
    std::filesystem::remove_all(b.dir, ec);
    std::filesystem::remove_all(b.dir + "-scan", ec);
  }
  return 0;
}

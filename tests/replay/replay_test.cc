// Library-level tests of replay: backends agree, verify finds a tampered
// register, corruption policies, resume after an interruption, import/export,
// merge and compare.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "backends/registry.h"
#include "core/memory_store.h"
#include "core/projector.h"
#include "replay/compare.h"
#include "replay/jsonl_source.h"
#include "replay/log_copy.h"
#include "replay/replayer.h"
#include "replay/state_diff.h"
#include "replay/store_source.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {

using testing::GenerateLog;
using testing::LogSpec;
using testing::TempDir;
using testing::WriteJsonl;

Digest DirectDigest(const std::vector<Event>& events) {
  State state;
  for (const Event& e : events) ApplyEvent(e, &state);
  return state.total_digest();
}

std::unique_ptr<EventStore> StoreWith(const std::vector<Event>& events) {
  auto store = NewMemoryEventStore();
  EXPECT_TRUE(store->Append(events, false).ok());
  return store;
}

ReplayOptions SmallBatches() {
  ReplayOptions o;
  o.batch_events = 97;
  o.commit_every_events = 500;
  return o;
}

// Replays `events` (through a memory EventStore) into `target`.
Result<ReplayReport> ReplayInto(const std::vector<Event>& events, StateStore* target,
                                const ReplayOptions& options = SmallBatches()) {
  auto log = StoreWith(events);
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source = NewStoreSource(log.get(), &reporter);
  State state;
  return Replay(source.get(), &state, target, options, nullptr);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir("lib"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A state store in schema `schema_prefix`<pid> of the throwaway cluster
  // that scripts/test.sh starts.
  static void OpenPostgres(const std::string& schema_prefix, std::unique_ptr<StateStore>* out) {
    const char* uri = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
    ASSERT_NE(uri, nullptr) << "PIGTAIL_TEST_POSTGRES_URI is not set: run the tests via "
                               "scripts/test.sh, which starts a throwaway PostgreSQL";
    BackendOptions options;
    options.postgres_schema = schema_prefix + std::to_string(::getpid());
    auto pg = OpenStateStore(uri, options);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    *out = std::move(pg).value();
  }
  std::string dir_;
};

TEST_F(ReplayTest, MemoryAndRocksDbGiveEqualDigests) {
  std::vector<Event> events = GenerateLog({.events = 5000, .seed = 11});
  Digest expected = DirectDigest(events);
  ASSERT_FALSE(expected.IsZero());

  auto memory = NewMemoryStateStore();
  Result<ReplayReport> a = ReplayInto(events, memory.get());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->digest, expected);
  EXPECT_EQ(a->events, events.size());
  EXPECT_GT(a->commits, 5u);
  EXPECT_GT(a->stats.foreign, 0u);
  EXPECT_GT(a->stats.rejected, 0u);

  auto rocks = OpenStateStore("rocksdb:" + dir_ + "/state");
  ASSERT_TRUE(rocks.ok()) << rocks.status().ToString();
  Result<ReplayReport> b = ReplayInto(events, rocks->get());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->digest, expected);
  EXPECT_EQ((*rocks)->Digests()->total, expected);
  EXPECT_EQ((*rocks)->Checkpoint().value(), events.size());

  // The bulk path into a fresh store gives the same registers.
  auto bulk = OpenStateStore("rocksdb:" + dir_ + "/bulk");
  ASSERT_TRUE(bulk.ok());
  ReplayOptions options = SmallBatches();
  options.write_mode = WriteMode::kBulkLoad;
  Result<ReplayReport> c = ReplayInto(events, bulk->get(), options);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*bulk)->Digests()->total, expected);
  State rebuilt;
  for (const Event& e : events) ApplyEvent(e, &rebuilt);
  EXPECT_EQ(DiffStateWithStore(rebuilt, bulk->get()).status().code(),
            StatusCode::kFailedPrecondition);  // stale digests are not compared
  rebuilt.SettleDigests();
  Result<StateDiff> diff = DiffStateWithStore(rebuilt, bulk->get());
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->total, 0u);
  EXPECT_GT(diff->registers_compared, 1000u);
}

// A committing rebuild keeps the live tasks only: finished ones leave its
// State once committed and are read back from the target when a later
// entry names them; the target still ends with every register.
TEST_F(ReplayTest, CommittingRebuildKeepsWhatTheBudgetHolds) {
  std::vector<Event> events = GenerateLog({.events = 5000, .seed = 13});
  State full;
  for (const Event& e : events) ApplyEvent(e, &full);
  full.SettleDigests();
  size_t live = 0;
  for (const auto& [name, slot] : full.queues()) {
    for (const auto& [id, task] : slot.tasks) live += task.status.key.outcome == Outcome::kLive;
  }
  constexpr size_t kKept = 100;  // tasks the budget holds
  ASSERT_GT(live, 5 * kKept);    // so live tasks leave memory too

  // Also with commits overlapped: a task read back while the commit that
  // writes it is in flight comes from that commit's batch.
  for (bool overlap : {false, true}) {
    SCOPED_TRACE(overlap ? "overlapped commits" : "commits in line");
    auto rocks = OpenStateStore("rocksdb:" + dir_ + "/dropping" + (overlap ? "1" : "0"));
    ASSERT_TRUE(rocks.ok()) << rocks.status().ToString();
    auto log = StoreWith(events);
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = NewStoreSource(log.get(), &reporter);
    ReplayOptions options = SmallBatches();
    options.memory_budget_bytes = kKept * kChangedTaskBytes;
    options.overlap_commits = overlap;
    State state;
    Result<ReplayReport> r = Replay(source.get(), &state, rocks->get(), options, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->digest, full.total_digest());
    // After the last commit, at most kKept live tasks stayed in memory (and
    // the finished ones whose visibility could change: State::Droppable).
    EXPECT_EQ(state.task_count(), full.task_count());
    size_t live_kept = 0;
    for (const auto& [name, slot] : state.queues()) {
      for (const auto& [id, task] : slot.tasks)
        live_kept += task.status.key.outcome == Outcome::kLive;
    }
    EXPECT_LE(live_kept, kKept);
    EXPECT_GT(state.dropped_count(), live - kKept);
    Result<StateDiff> diff = DiffStateWithStore(full, rocks->get());
    ASSERT_TRUE(diff.ok()) << diff.status().ToString();
    EXPECT_EQ(diff->total, 0u);
    EXPECT_GT(diff->registers_compared, 1000u);
  }

  // drop_committed off keeps every task.
  auto memory = NewMemoryStateStore();
  auto log2 = StoreWith(events);
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source2 = NewStoreSource(log2.get(), &reporter);
  ReplayOptions keep = SmallBatches();
  keep.drop_committed = false;
  State kept;
  ASSERT_TRUE(Replay(source2.get(), &kept, memory.get(), keep, nullptr).ok());
  EXPECT_EQ(kept.dropped_count(), 0u);
  EXPECT_TRUE(kept.SameRegisters(full));
}

// Commits come once the changed registers would fill the memory budget,
// however few events changed them.
TEST_F(ReplayTest, CommitsOnceTheChangedRegistersFillTheBudget) {
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 27});
  State full;
  for (const Event& e : events) ApplyEvent(e, &full);
  full.SettleDigests();
  ReplayOptions options = SmallBatches();
  options.commit_every_events = uint64_t{1} << 40;  // never by count
  options.memory_budget_bytes = 50 * kChangedTaskBytes;
  auto store = NewMemoryStateStore();
  Result<ReplayReport> r = ReplayInto(events, store.get(), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->digest, full.total_digest());
  // At most 50 changed tasks plus one batch's (97 events) per commit.
  EXPECT_GE(r->commits, full.task_count() / (50 + 97));
  EXPECT_GT(r->commits, 3u);
  Result<StateDiff> diff = DiffStateWithStore(full, store.get());
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_EQ(diff->total, 0u);
}

TEST_F(ReplayTest, PostgresGivesEqualDigest) {
  std::unique_ptr<StateStore> pg;
  ASSERT_NO_FATAL_FAILURE(OpenPostgres("replay_test_", &pg));
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 12});
  ASSERT_TRUE(pg->Reset().ok());
  Result<ReplayReport> r = ReplayInto(events, pg.get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(pg->Digests()->total, DirectDigest(events));
}

// Commits batches taken with TakeChangesInto into one reused StateBatch
// (so later, smaller batches overwrite records of earlier, larger ones) to
// `store`, then loads the store into a fresh State: the registers and
// digests equal those of the projection.
void ExpectReusedBatchesRoundTrip(const std::vector<Event>& events, StateStore* store) {
  ASSERT_TRUE(store->Reset().ok());
  State state;
  StateBatch batch;
  // Commit windows that grow and shrink.
  const size_t kWindows[] = {1, 2, 400, 3, 700, 1, 50, 900};
  size_t window = 0;
  size_t next_commit = kWindows[0];
  for (size_t i = 0; i < events.size(); ++i) {
    ApplyEvent(events[i], &state);
    if (i + 1 == next_commit || i + 1 == events.size()) {
      state.TakeChangesInto(i + 1, &batch);
      ASSERT_TRUE(store->Commit(batch, false).ok());
      window = (window + 1) % std::size(kWindows);
      next_commit = i + 1 + kWindows[window];
    }
  }
  EXPECT_TRUE(state.TakeChanges(events.size()).empty());  // all committed
  State loaded;
  ASSERT_TRUE(store->LoadInto(&loaded).ok());
  EXPECT_TRUE(loaded.SameRegisters(state));
  EXPECT_EQ(loaded.total_digest(), DirectDigest(events));
  Result<DigestSummary> digests = store->Digests();
  ASSERT_TRUE(digests.ok());
  EXPECT_EQ(digests->total, state.total_digest());
  EXPECT_EQ(digests->checkpoint, events.size());
  for (const auto& [name, slot] : state.queues()) {
    auto it = digests->queues.find(name);
    Digest stored = it == digests->queues.end() ? Digest{} : it->second;
    EXPECT_EQ(stored, slot.digest) << name;
  }
  Result<StateDiff> diff = DiffStateWithStore(state, store);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->total, 0u);
}

// Replay leaves the claim indexes off while it works and rebuilds them over
// the tasks the State keeps (all of them without drop_committed).
TEST_F(ReplayTest, ReplayLeavesTheClaimIndexesComplete) {
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 25});
  auto log = StoreWith(events);
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source = NewStoreSource(log.get(), &reporter);
  State state;
  auto store = NewMemoryStateStore();
  ReplayOptions keep = SmallBatches();
  keep.drop_committed = false;
  ASSERT_TRUE(Replay(source.get(), &state, store.get(), keep, nullptr).ok());
  EXPECT_TRUE(state.claim_index());
  State direct;
  for (const Event& e : events) ApplyEvent(e, &direct);
  size_t open = 0;
  for (const auto& [name, slot] : direct.queues()) {
    const State::QueueSlot* mine = state.FindSlot(name);
    ASSERT_NE(mine, nullptr);
    EXPECT_EQ(mine->open, slot.open) << name;
    EXPECT_EQ(mine->leased, slot.leased) << name;
    for (const ClaimOrder& order : mine->open) {
      const auto it = mine->tasks.find(order.id);
      ASSERT_NE(it, mine->tasks.end());
      EXPECT_EQ(*it->second.open_it, order);
    }
    for (const LeaseOrder& order : mine->leased) {
      const auto it = mine->tasks.find(order.id);
      ASSERT_NE(it, mine->tasks.end());
      EXPECT_EQ(*it->second.leased_it, order);
    }
    open += slot.open.size() + slot.leased.size();
  }
  EXPECT_GT(open, 0u);
}

// Without rebuild_claim_index (the replay tool's setting) the indexes stay
// off and empty; the registers and digests are the same, and turning the
// indexes on afterwards builds what a rebuilding replay would have.
TEST_F(ReplayTest, ReplayCanLeaveTheClaimIndexesOff) {
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 26});
  ReplayOptions options = SmallBatches();
  options.write_mode = WriteMode::kBulkLoad;
  auto log = StoreWith(events);
  State rebuilt;
  {
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = NewStoreSource(log.get(), &reporter);
    ASSERT_TRUE(Replay(source.get(), &rebuilt, nullptr, options, nullptr).ok());
  }
  options.rebuild_claim_index = false;
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source = NewStoreSource(log.get(), &reporter);
  State state;
  auto store = NewMemoryStateStore();
  Result<ReplayReport> r = Replay(source.get(), &state, store.get(), options, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(state.claim_index());
  size_t indexed = 0;
  for (const auto& [name, slot] : state.queues()) indexed += slot.open.size() + slot.leased.size();
  EXPECT_EQ(indexed, 0u);
  EXPECT_EQ(r->digest, rebuilt.total_digest());
  EXPECT_TRUE(state.SameRegisters(rebuilt));
  state.set_claim_index(true);
  for (const auto& [name, slot] : rebuilt.queues()) {
    const State::QueueSlot* mine = state.FindSlot(name);
    ASSERT_NE(mine, nullptr);
    EXPECT_EQ(mine->open, slot.open) << name;
    EXPECT_EQ(mine->leased, slot.leased) << name;
    indexed += slot.open.size() + slot.leased.size();
  }
  EXPECT_GT(indexed, 0u);
}

TEST_F(ReplayTest, ReusedBatchesRoundTripThroughMemoryAndRocksDb) {
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 21});
  for (std::string uri : {std::string("memory:"), "rocksdb:" + dir_ + "/reused"}) {
    SCOPED_TRACE(uri);
    auto store = OpenStateStore(uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ExpectReusedBatchesRoundTrip(events, store->get());
  }
}

TEST_F(ReplayTest, ReusedBatchesRoundTripThroughPostgres) {
  std::unique_ptr<StateStore> pg;
  ASSERT_NO_FATAL_FAILURE(OpenPostgres("replay_reused_", &pg));
  std::vector<Event> events = GenerateLog({.events = 2000, .seed = 22});
  ExpectReusedBatchesRoundTrip(events, pg.get());
}

// The JSONL source reuses its batch's storage: batches of every size,
// with skipped corrupt and empty lines between them, still give exactly
// the log's events (raw bytes included).
TEST_F(ReplayTest, JsonlSourceBatchesEqualTheLogAcrossReusedStorage) {
  std::vector<Event> events = GenerateLog({.events = 500, .seed = 23});
  std::string path = dir_ + "/reuse.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    for (size_t i = 0; i < events.size(); ++i) {
      out << events[i].raw << "\n";
      if (i % 37 == 5) out << "{not json\n";
      if (i % 53 == 8) out << "\n";
    }
  }
  CorruptionReporter reporter(CorruptionPolicy::kSkipAndCount);
  auto source = OpenJsonlSource(path, &reporter);
  ASSERT_TRUE(source.ok());
  std::vector<SourcedEvent> batch;
  size_t next = 0;
  for (size_t round = 0; round < 1000; ++round) {
    BatchLimits limits;
    limits.max_events = 1 + (round * 7) % 23;  // grows and shrinks
    ASSERT_TRUE((*source)->Next(limits, &batch).ok());
    if (batch.empty()) break;
    ASSERT_LE(batch.size(), limits.max_events);
    for (const SourcedEvent& e : batch) {
      ASSERT_LT(next, events.size());
      EXPECT_EQ(e.event.id, events[next].id);
      EXPECT_EQ(e.event.raw, events[next].raw);
      EXPECT_EQ(e.event.op, events[next].op);
      EXPECT_EQ(e.event.prev, events[next].prev);
      ++next;
    }
  }
  EXPECT_EQ(next, events.size());
  EXPECT_GT(reporter.skipped(), 10u);
}

// Lines longer than the source's read block (1 MiB), lines that straddle
// blocks, and a last line without "\n" are read whole.
TEST_F(ReplayTest, JsonlSourceReadsLongLinesAndAnUnterminatedLastLine) {
  std::vector<Event> events = GenerateLog({.events = 20000, .seed = 24});
  Result<Event> big = MakeEvent(NewEvent{Uuid::Random(),
                                         Uuid::Random(),
                                         std::nullopt,
                                         Hlc{0, 5, 0},
                                         "{\"blob\":\"" + std::string(3 << 20, 'x') + "\"}",
                                         {}});
  ASSERT_TRUE(big.ok());
  events.insert(events.begin() + 7000, *big);
  std::string path = dir_ + "/long.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    for (size_t i = 0; i < events.size(); ++i) {
      out << events[i].raw;
      if (i + 1 < events.size()) out << "\n";
    }
  }
  ASSERT_GT(std::filesystem::file_size(path), 5u << 20);
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source = OpenJsonlSource(path, &reporter);
  ASSERT_TRUE(source.ok());
  std::vector<SourcedEvent> batch;
  size_t next = 0;
  for (size_t round = 0; round < 1000; ++round) {
    ASSERT_TRUE((*source)->Next({}, &batch).ok());
    if (batch.empty()) break;
    for (const SourcedEvent& e : batch) {
      ASSERT_LT(next, events.size());
      ASSERT_EQ(e.event.raw, events[next].raw) << "line " << e.position;
      EXPECT_EQ(e.position, next + 1);
      ++next;
    }
  }
  EXPECT_EQ(next, events.size());
  EXPECT_EQ((*source)->Progress().done, std::filesystem::file_size(path));
}

TEST_F(ReplayTest, VerifyFindsTheTamperedRegister) {
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 13});
  for (std::string uri : {std::string("memory:"), "rocksdb:" + dir_ + "/state"}) {
    SCOPED_TRACE(uri);
    auto store = OpenStateStore(uri);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(ReplayInto(events, store->get()).ok());
    State expected;
    for (const Event& e : events) ApplyEvent(e, &expected);
    expected.SettleDigests();
    Result<StateDiff> clean = DiffStateWithStore(expected, store->get());
    ASSERT_TRUE(clean.ok());
    EXPECT_EQ(clean->total, 0u);

    // Tamper with one task register, keeping the stored digests as they were.
    const State::QueueSlot& slot = expected.queues().at("queue-2");
    ASSERT_FALSE(slot.tasks.empty());
    TaskRecord victim = std::next(slot.tasks.begin(), slot.tasks.size() / 2)->second;
    victim.status.key.lease += 7;
    StateBatch batch;
    batch.tasks.push_back(victim);
    DigestSummary digests = (*store)->Digests().value();
    batch.queue_digests = digests.queues;
    batch.total_digest = digests.total;
    batch.checkpoint = digests.checkpoint;
    ASSERT_TRUE((*store)->Commit(batch, true).ok());

    Result<StateDiff> diff = DiffStateWithStore(expected, store->get());
    ASSERT_TRUE(diff.ok());
    ASSERT_EQ(diff->total, 1u);
    const RegisterDifference& d = diff->differences[0];
    EXPECT_EQ(d.kind, RegisterDifference::Kind::kTask);
    EXPECT_EQ(d.queue, "queue-2");
    EXPECT_EQ(d.id, victim.id);
    ASSERT_TRUE(d.expected && d.actual);
    EXPECT_NE(d.expected->find("\"lease\":" + std::to_string(victim.status.key.lease - 7)),
              std::string::npos);
    EXPECT_NE(d.actual->find("\"lease\":" + std::to_string(victim.status.key.lease)),
              std::string::npos);
  }
}

class CorruptLogTest : public ReplayTest {
 protected:
  void SetUp() override {
    ReplayTest::SetUp();
    events_ = GenerateLog({.events = 400, .seed = 14});
    // The torn line: the first from line 57 on whose event changes the
    // state (a heartbeat of a task finished later would not).
    const Digest all = DirectDigest(events_);
    for (bad_line_ = 57; bad_line_ < kEmptyLine - 1; ++bad_line_) {
      std::vector<Event> without = events_;
      without.erase(without.begin() + static_cast<long>(bad_line_ - 1));
      if (DirectDigest(without) != all) break;
    }
    ASSERT_LT(bad_line_, kEmptyLine - 1);
    path_ = dir_ + "/log.jsonl";
    std::ofstream out(path_, std::ios::binary);
    for (size_t i = 0; i < events_.size(); ++i) {
      if (i + 1 == bad_line_) {
        out << events_[i].raw.substr(0, events_[i].raw.size() / 2) << "\n";  // torn
        continue;
      }
      out << events_[i].raw << "\n";
      if (i + 2 == kEmptyLine) out << "\n";
    }
  }
  uint64_t bad_line_ = 0;
  static constexpr uint64_t kEmptyLine = 200;  // shifts later lines by one
  std::vector<Event> events_;
  std::string path_;
};

TEST_F(CorruptLogTest, StopReportsTheLineNumber) {
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source = OpenJsonlSource(path_, &reporter);
  ASSERT_TRUE(source.ok());
  State state;
  Result<ReplayReport> r = Replay(source->get(), &state, nullptr, SmallBatches(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("line " + std::to_string(bad_line_) + ":"), std::string::npos)
      << r.status().message();
}

TEST_F(CorruptLogTest, StopReportsTheLineNumberWithReadAhead) {
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto source = OpenJsonlSource(path_, &reporter);
  ASSERT_TRUE(source.ok());
  State state;
  ReplayOptions options = SmallBatches();
  options.batch_events = 10;
  options.read_ahead_batches = 3;
  Result<ReplayReport> r = Replay(source->get(), &state, nullptr, options, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("line " + std::to_string(bad_line_) + ":"), std::string::npos)
      << r.status().message();
}

class CorruptLogReadAheadTest : public CorruptLogTest,
                                public ::testing::WithParamInterface<size_t> {};

TEST_P(CorruptLogReadAheadTest, SkipCountsAndGivesTheDigestOfTheValidLines) {
  CorruptionReporter reporter(CorruptionPolicy::kSkipAndCount);
  auto source = OpenJsonlSource(path_, &reporter);
  ASSERT_TRUE(source.ok());
  auto store = NewMemoryStateStore();
  State state;
  ReplayOptions options = SmallBatches();
  options.read_ahead_batches = GetParam();
  Result<ReplayReport> r = Replay(source->get(), &state, store.get(), options, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(reporter.skipped(), 2u);
  ASSERT_EQ(reporter.first_records().size(), 2u);
  EXPECT_EQ(reporter.first_records()[0].position, bad_line_);
  EXPECT_EQ(reporter.first_records()[1].position, kEmptyLine);
  EXPECT_EQ(r->events, events_.size() - 1);
  EXPECT_EQ(r->last_position, events_.size() + 1);  // lines, with the empty one
  std::vector<Event> valid = events_;
  valid.erase(valid.begin() + static_cast<long>(bad_line_ - 1));
  EXPECT_EQ(r->digest, DirectDigest(valid));
  EXPECT_NE(r->digest, DirectDigest(events_));
  EXPECT_EQ(store->Checkpoint().value(), events_.size() + 1);
}

INSTANTIATE_TEST_SUITE_P(ReadAhead, CorruptLogReadAheadTest, ::testing::Values(0, 1, 3));

// A source that fails with IOError after `fail_after` batches.
class FailingSource final : public EventSource {
 public:
  FailingSource(std::unique_ptr<EventSource> inner, int fail_after)
      : inner_(std::move(inner)), left_(fail_after) {}
  std::string_view PositionName() const override { return inner_->PositionName(); }
  Status SeekAfter(uint64_t p) override { return inner_->SeekAfter(p); }
  Status Next(const BatchLimits& limits, std::vector<SourcedEvent>* out) override {
    if (left_-- == 0) return Status::IOError("injected failure");
    return inner_->Next(limits, out);
  }
  uint64_t position() const override { return inner_->position(); }
  SourceProgress Progress() const override { return inner_->Progress(); }

 private:
  std::unique_ptr<EventSource> inner_;
  int left_;
};

TEST_F(ReplayTest, ResumesAfterAnInterruptionAtEveryBatch) {
  std::vector<Event> events = GenerateLog({.events = 1200, .seed = 15});
  std::string path = dir_ + "/log.jsonl";
  WriteJsonl(events, path);
  Digest expected = DirectDigest(events);
  ReplayOptions options = SmallBatches();
  options.batch_events = 100;
  options.commit_every_events = 300;
  // Also with batches read ahead on a second thread (checkpoints are the
  // applied batches' positions, not the source's), and with commits
  // overlapped (the one in flight when the source fails ends first).
  for (int test = 0; test <= 38; ++test) {
    int fail_after = test % 13;
    options.read_ahead_batches = test < 13 ? 0 : 2;
    options.overlap_commits = test >= 26;
    SCOPED_TRACE("fail after " + std::to_string(fail_after) + ", read ahead " +
                 std::to_string(options.read_ahead_batches) +
                 (options.overlap_commits ? ", overlapped commits" : ""));
    auto store = NewMemoryStateStore();
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    {
      auto inner = OpenJsonlSource(path, &reporter);
      ASSERT_TRUE(inner.ok());
      FailingSource failing(std::move(*inner), fail_after);
      State state;
      Result<ReplayReport> r = Replay(&failing, &state, store.get(), options, nullptr);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kIOError);
    }
    uint64_t checkpoint = store->Checkpoint().value();
    EXPECT_EQ(checkpoint, static_cast<uint64_t>(fail_after / 3 * 300));
    auto source = OpenJsonlSource(path, &reporter);
    ASSERT_TRUE(source.ok());
    State state;
    Result<ReplayReport> r = Replay(source->get(), &state, store.get(), options, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->resumed_after, checkpoint);
    EXPECT_EQ(r->events, events.size() - checkpoint);
    EXPECT_EQ(r->digest, expected);
    EXPECT_EQ(store->Digests()->total, expected);
  }
}

TEST_F(ReplayTest, NoResumeRefusesANonEmptyTarget) {
  std::vector<Event> events = GenerateLog({.events = 300, .seed = 16});
  auto store = NewMemoryStateStore();
  ASSERT_TRUE(ReplayInto(events, store.get()).ok());
  ReplayOptions options = SmallBatches();
  options.resume = false;
  Result<ReplayReport> r = ReplayInto(events, store.get(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ReplayTest, ImportThenExportIsByteIdentical) {
  std::vector<Event> events = GenerateLog({.events = 2000, .seed = 17});
  std::string in = dir_ + "/in.jsonl";
  WriteJsonl(events, in);
  for (std::string uri : {std::string("memory:"), "rocksdb:" + dir_ + "/log"}) {
    SCOPED_TRACE(uri);
    auto store = OpenEventStore(uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    CorruptionReporter reporter(CorruptionPolicy::kStop);
    auto source = OpenJsonlSource(in, &reporter);
    ASSERT_TRUE(source.ok());
    BatchLimits limits{.max_events = 333, .max_bytes = 1 << 20};
    Result<CopyReport> copied = CopyEvents(source->get(), store->get(), limits, nullptr);
    ASSERT_TRUE(copied.ok()) << copied.status().ToString();
    EXPECT_EQ(copied->added, events.size());
    std::string out = dir_ + "/out.jsonl";
    std::FILE* f = std::fopen(out.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    Result<uint64_t> n = ExportJsonl(store->get(), f, limits, nullptr);
    std::fclose(f);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, events.size());
    EXPECT_EQ(ReadFile(out), ReadFile(in));
  }
}

TEST_F(ReplayTest, MergeOfOverlappingLogsIsTheUnion) {
  std::vector<Event> events = GenerateLog({.events = 1000, .owners = 3, .seed = 18});
  std::vector<Event> a(events.begin(), events.begin() + 600);
  std::vector<Event> b(events.begin() + 400, events.end());
  std::reverse(b.begin(), b.end());  // another node saw them in another order
  b.push_back(events[10]);           // and some of the first part too
  WriteJsonl(a, dir_ + "/a.jsonl");
  auto store_b = StoreWith(b);
  auto merged = NewMemoryEventStore();
  CorruptionReporter reporter(CorruptionPolicy::kStop);
  auto src_a = OpenJsonlSource(dir_ + "/a.jsonl", &reporter);
  ASSERT_TRUE(src_a.ok());
  auto src_b = NewStoreSource(store_b.get(), &reporter);
  BatchLimits limits{.max_events = 128, .max_bytes = 1 << 20};
  Result<CopyReport> ra = CopyEvents(src_a->get(), merged.get(), limits, nullptr);
  Result<CopyReport> rb = CopyEvents(src_b.get(), merged.get(), limits, nullptr);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->added, 600u);
  EXPECT_EQ(rb->added, 400u);
  EXPECT_EQ(rb->duplicates, 201u);
  EXPECT_EQ(merged->Count().value(), events.size());
  std::set<Uuid> ids;
  Result<std::vector<StoredEvent>> scanned = merged->Scan(0, 5000);
  ASSERT_TRUE(scanned.ok());
  for (const StoredEvent& e : *scanned) ids.insert(e.event.id);
  std::set<Uuid> want;
  for (const Event& e : events) want.insert(e.id);
  EXPECT_EQ(ids, want);

  Result<std::vector<OwnerReport>> owners = ReportOwners(merged.get(), 50);
  ASSERT_TRUE(owners.ok());
  ASSERT_EQ(owners->size(), 3u);
  uint64_t total = 0;
  for (const OwnerReport& o : *owners) {
    total += o.events;
    EXPECT_TRUE(o.holes.empty());
  }
  EXPECT_EQ(total, events.size());

  auto state_store = NewMemoryStateStore();
  auto src = NewStoreSource(merged.get(), &reporter);
  State state;
  Result<ReplayReport> r = Replay(src.get(), &state, state_store.get(), SmallBatches(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->digest, DirectDigest(events));
}

TEST_F(ReplayTest, MergeReportsHoles) {
  std::vector<Event> events = GenerateLog({.events = 300, .owners = 2, .seed = 19});
  // Drop one entry that a later entry of the same owner names as prev.
  size_t dropped = 0;
  for (size_t i = 0; i < events.size() && dropped == 0; ++i) {
    for (size_t j = i + 1; j < events.size(); ++j) {
      if (events[j].prev == events[i].id) {
        dropped = i;
        break;
      }
    }
  }
  ASSERT_GT(dropped, 0u);
  Uuid hole = events[dropped].id;
  Uuid owner = events[dropped].owner;
  events.erase(events.begin() + dropped);
  auto merged = StoreWith(events);
  Result<std::vector<OwnerReport>> owners = ReportOwners(merged.get());
  ASSERT_TRUE(owners.ok());
  for (const OwnerReport& o : *owners) {
    if (o.owner == owner) {
      EXPECT_EQ(o.holes, std::vector<Uuid>{hole});
    } else {
      EXPECT_TRUE(o.holes.empty());
    }
  }
}

TEST_F(ReplayTest, CompareNarrowsToQueueRangeAndRegister) {
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 20});
  auto a = NewMemoryStateStore();
  auto b = OpenStateStore("rocksdb:" + dir_ + "/b");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(ReplayInto(events, a.get()).ok());
  ASSERT_TRUE(ReplayInto(events, b->get()).ok());
  Result<CompareReport> same = CompareStores({"a", "b"}, {a.get(), b->get()});
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->agree);

  // Node b misses the last event that changed a task in queue-1.
  std::vector<Event> fewer = events;
  State full;
  for (const Event& e : events) ApplyEvent(e, &full);
  size_t drop = fewer.size();
  Uuid task;
  while (drop-- > 0) {
    const auto* op = std::get_if<QueueOp>(&fewer[drop].op);
    if (op == nullptr) continue;
    if (const auto* p = std::get_if<ProgressOp>(op); p && p->queue_name == "queue-1") {
      State without;
      for (size_t i = 0; i < fewer.size(); ++i) {
        if (i != drop) ApplyEvent(fewer[i], &without);
      }
      if (without.total_digest() != full.total_digest()) {
        task = p->id;
        break;
      }
    }
  }
  ASSERT_FALSE(task.IsNil());
  fewer.erase(fewer.begin() + drop);
  auto c = NewMemoryStateStore();
  ASSERT_TRUE(ReplayInto(fewer, c.get()).ok());
  Result<CompareReport> r = CompareStores({"a", "b", "c"}, {a.get(), b->get(), c.get()});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->agree);
  ASSERT_EQ(r->pairs.size(), 1u);
  const PairComparison& p = r->pairs[0];
  EXPECT_EQ(p.other, "c");
  EXPECT_EQ(p.queues, std::vector<std::string>{"queue-1"});
  ASSERT_EQ(p.ranges.size(), 1u);
  EXPECT_EQ(p.ranges[0].range, task.ToString().substr(0, 2));
  ASSERT_EQ(p.registers.total, 1u);
  EXPECT_EQ(p.registers.differences[0].id, task);
}

}  // namespace
}  // namespace pigtail::replay

// The EventStore conformance suite, run against every backend (memory,
// rocksdb, postgres). The postgres instances need PIGTAIL_TEST_POSTGRES_URI
// (scripts/test.sh sets it) and fail without it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "core/memory_store.h"
#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"
#include "tests/backends/workload.h"

namespace pigtail::testing {
namespace {

Event ParseOrDie(const std::string& raw) {
  Result<Event> e = ParseEvent(raw);
  if (!e.ok()) throw std::runtime_error("test bug: " + e.status().ToString() + " in " + raw);
  return std::move(e).value();
}

std::vector<Uuid> Ids(const std::vector<StoredEvent>& events) {
  std::vector<Uuid> out;
  for (const StoredEvent& e : events) out.push_back(e.event.id);
  return out;
}

class EventStoreTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  EventStoreTest() : backend_(GetParam()) {}

  void SetUp() override {
    Status prepared = backend_.Prepare();
    ASSERT_TRUE(prepared.ok()) << prepared.ToString();
    Result<std::unique_ptr<EventStore>> store = backend_.OpenEvents();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  void Reopen() {
    store_.reset();
    store_ = MUST(backend_.OpenEvents());
  }

  std::vector<uint64_t> Append(const std::vector<Event>& events, bool sync = false) {
    return MUST(store_->Append(events, sync));
  }

  TestBackend backend_;
  std::unique_ptr<EventStore> store_;
  EventMaker maker_{42};
};

class PersistentEventStoreTest : public EventStoreTest {};

TEST_P(EventStoreTest, OnlyPostgresIsRemote) {
  EXPECT_EQ(store_->IsRemote(), GetParam() == BackendKind::kPostgres);
}

TEST_P(EventStoreTest, EmptyStore) {
  EXPECT_EQ(MUST(store_->LastSequence()), 0u);
  EXPECT_EQ(MUST(store_->Count()), 0u);
  EXPECT_TRUE(MUST(store_->Scan(0, 10)).empty());
  EXPECT_TRUE(MUST(store_->Heads()).empty());
  EXPECT_TRUE(MUST(store_->Firsts()).empty());
  EXPECT_FALSE(MUST(store_->Get(maker_.NewId())).has_value());
  EXPECT_TRUE(Append({}).empty());
}

TEST_P(EventStoreTest, AppendAssignsConsecutiveSequenceNumbers) {
  Uuid owner = maker_.NewId();
  std::vector<Event> first = {maker_.Next(owner, "1"), maker_.Next(owner, "2"),
                              maker_.Next(owner, "3")};
  EXPECT_EQ(Append(first, true), (std::vector<uint64_t>{1, 2, 3}));
  std::vector<Event> second = {first[1], maker_.Next(owner, "4")};
  EXPECT_EQ(Append(second), (std::vector<uint64_t>{0, 4}));
  EXPECT_EQ(MUST(store_->LastSequence()), 4u);
  EXPECT_EQ(MUST(store_->Count()), 4u);
  StoredEvent got = MUST(store_->Get(second[1].id)).value();
  EXPECT_EQ(got.seq, 4u);
}

TEST_P(EventStoreTest, DuplicateInsideOneBatchIsStoredOnce) {
  Uuid owner = maker_.NewId();
  Event a = maker_.Next(owner, "\"a\"");
  Event b = maker_.Next(owner, "\"b\"");
  EXPECT_EQ(Append({a, b, a, b, a}), (std::vector<uint64_t>{1, 2, 0, 0, 0}));
  EXPECT_EQ(MUST(store_->Count()), 2u);
  EXPECT_EQ(Append({b, a}), (std::vector<uint64_t>{0, 0}));
  EXPECT_EQ(MUST(store_->LastSequence()), 2u);
  EXPECT_EQ(Ids(MUST(store_->Scan(0, 10))), (std::vector<Uuid>{a.id, b.id}));
}

TEST_P(EventStoreTest, RawBytesAreStoredVerbatim) {
  const std::vector<std::string> raws = {
      // keys in an odd order, extra whitespace, a `next` that the store
      // must keep as received
      "{ \"data\" : {\"z\":1,   \"a\":[1,2,3]},\n\t\"when\":[0,[1558805131923316000],0],"
      "\"prev\":null,\"next\":null,\"owner\":\"6a3e5e0a-5b2e-4e2f-8c1b-2c7f0d8e9a11\","
      "\"id\":\"0f0e0d0c-0b0a-4908-8706-050403020100\"}  ",
      // unicode, raw and escaped, and \u0000 escapes
      "{\"id\":\"1f0e0d0c-0b0a-4908-8706-050403020100\",\"owner\":\"6a3e5e0a-5b2e-4e2f-8c1b-"
      "2c7f0d8e9a11\",\"prev\":\"0f0e0d0c-0b0a-4908-8706-050403020100\",\"next\":null,"
      "\"when\":[0,1558805131923317000,0],\"data\":{\"s\":\"ünï \\u00e9\\u0000 🚀 "
      "\\\"q\\\" \\\\\",\"num\":1.50e3}}",
      // the object form of `when`, dependencies, unusual number formats
      "{\"when\":{\"epoch\":0,\"time\":18446744073709551615,\"count\":7},"
      "\"id\":\"2f0e0d0c-0b0a-4908-8706-050403020100\",\"dependencies\":[\"0f0e0d0c-0b0a-4908-"
      "8706-050403020100\"],\"owner\":\"7a3e5e0a-5b2e-4e2f-8c1b-2c7f0d8e9a11\","
      "\"data\":[-0.0,1E+2,true,null]}",
  };
  std::vector<Event> events;
  for (const std::string& raw : raws) events.push_back(ParseOrDie(raw));
  EXPECT_EQ(Append(events, true), (std::vector<uint64_t>{1, 2, 3}));
  for (size_t i = 0; i < raws.size(); ++i) {
    StoredEvent got = MUST(store_->Get(events[i].id)).value();
    EXPECT_EQ(got.event.raw, raws[i]) << i;
    EXPECT_EQ(got.event.id, events[i].id);
    EXPECT_EQ(got.event.owner, events[i].owner);
    EXPECT_EQ(got.event.when, events[i].when);
    EXPECT_EQ(got.event.prev, events[i].prev);
    EXPECT_EQ(got.event.dependencies, events[i].dependencies);
  }
  std::vector<StoredEvent> scanned = MUST(store_->Scan(0, 10));
  ASSERT_EQ(scanned.size(), raws.size());
  for (size_t i = 0; i < raws.size(); ++i) EXPECT_EQ(scanned[i].event.raw, raws[i]);
}

TEST_P(EventStoreTest, GetFillsNextAndContainsAnswers) {
  Uuid owner = maker_.NewId();
  Event a = maker_.Next(owner, "1");
  Event b = maker_.Next(owner, "2");
  Event c = maker_.Next(owner, "3");
  // c arrives first, then a, then b: next pointers must appear either way.
  Append({c});
  Append({a});
  EXPECT_FALSE(MUST(store_->Get(a.id))->next.has_value());
  EXPECT_FALSE(MUST(store_->Contains(b.id)));
  Append({b});
  EXPECT_TRUE(MUST(store_->Contains(b.id)));
  EXPECT_EQ(MUST(store_->Get(a.id))->next, b.id);
  EXPECT_EQ(MUST(store_->Get(b.id))->next, c.id);
  EXPECT_FALSE(MUST(store_->Get(c.id))->next.has_value());
  EXPECT_FALSE(MUST(store_->Get(maker_.NewId())).has_value());
  // Scan and ScanOwner fill next too.
  std::vector<StoredEvent> scanned = MUST(store_->Scan(0, 10));
  ASSERT_EQ(scanned.size(), 3u);
  EXPECT_EQ(scanned[0].event.id, c.id);
  EXPECT_FALSE(scanned[0].next.has_value());
  EXPECT_EQ(scanned[1].next, b.id);
  EXPECT_EQ(scanned[2].next, c.id);
  std::vector<StoredEvent> chain = MUST(store_->ScanOwner(owner, std::nullopt, 10));
  ASSERT_EQ(Ids(chain), (std::vector<Uuid>{a.id, b.id, c.id}));
  EXPECT_EQ(chain[0].next, b.id);
  EXPECT_EQ(chain[1].next, c.id);
  EXPECT_FALSE(chain[2].next.has_value());
}

// The raw reads (GetRaw, ScanRaw, ScanOwnerRaw) give what the parsed ones
// give: the same seq, next and bytes, and the id and owner read from them.
TEST_P(EventStoreTest, RawRecordsMatchTheParsedReads) {
  Uuid owner = maker_.NewId();
  std::vector<Event> chain;
  for (int i = 0; i < 5; ++i) chain.push_back(maker_.Next(owner, std::to_string(i)));
  // Upper-case ids, an "id" and "owner" inside data, line breaks.
  Event odd = ParseOrDie(
      "{\"data\":{\"id\":\"x\",\"owner\":1},\n\"owner\" : \"7A3E5E0A-5B2E-4E2F-8C1B-"
      "2C7F0D8E9A11\",\r\n\"id\":\"2F0E0D0C-0B0A-4908-8706-050403020100\",\"prev\":null,"
      "\"when\":[0,[1558805131923316000],0]}");
  Append({chain[3], chain[0], odd});
  Append({chain[1], chain[2], chain[4]});
  auto expect_same = [](const RawRecord& raw, const StoredEvent& parsed) {
    EXPECT_EQ(raw.seq, parsed.seq);
    EXPECT_EQ(raw.id, parsed.event.id);
    EXPECT_EQ(raw.owner, parsed.event.owner);
    EXPECT_EQ(raw.bytes, parsed.event.raw);
    EXPECT_EQ(raw.next, parsed.next);
  };
  std::vector<StoredEvent> scanned = MUST(store_->Scan(1, 10));
  std::vector<RawRecord> raw_scanned = MUST(store_->ScanRaw(1, 10));
  ASSERT_EQ(scanned.size(), 5u);
  ASSERT_EQ(raw_scanned.size(), 5u);
  for (size_t i = 0; i < scanned.size(); ++i) expect_same(raw_scanned[i], scanned[i]);
  EXPECT_EQ(MUST(store_->ScanRaw(6, 10)).size(), 0u);
  std::vector<StoredEvent> by_owner = MUST(store_->ScanOwner(owner, chain[0].when, 3));
  std::vector<RawRecord> raw_by_owner = MUST(store_->ScanOwnerRaw(owner, chain[0].when, 3));
  ASSERT_EQ(by_owner.size(), 3u);
  ASSERT_EQ(raw_by_owner.size(), 3u);
  for (size_t i = 0; i < by_owner.size(); ++i) expect_same(raw_by_owner[i], by_owner[i]);
  for (const Event& e : {chain[0], chain[4], odd}) {
    std::optional<RawRecord> raw = MUST(store_->GetRaw(e.id));
    ASSERT_TRUE(raw.has_value());
    expect_same(*raw, *MUST(store_->Get(e.id)));
  }
  EXPECT_EQ(MUST(store_->GetRaw(odd.id))->owner, odd.owner);
  EXPECT_FALSE(MUST(store_->GetRaw(maker_.NewId())).has_value());
}

// ScanOwner reads a long run of an owner's entries, other owners' entries
// between them, in one pass (backends/rocksdb_event_store.cc): each entry
// as Get reads it, with its next, in order, page by page.
TEST_P(EventStoreTest, ScanOwnerOfALongRunWithOthersBetween) {
  Uuid a = maker_.NewId();
  Uuid b = maker_.NewId();
  std::vector<Event> mine;
  std::vector<Event> batch;
  for (int i = 0; i < 40; ++i) {
    mine.push_back(maker_.Next(a, std::to_string(i)));
    batch.push_back(mine.back());
    batch.push_back(maker_.Next(b, std::to_string(1000 + i)));
  }
  Append(batch);
  batch.clear();
  for (int i = 40; i < 70; ++i) {
    mine.push_back(maker_.Next(a, std::to_string(i)));
    batch.push_back(mine.back());
  }
  Append(batch);
  std::vector<StoredEvent> scanned;
  std::vector<RawRecord> raw;
  std::optional<Hlc> after;
  for (int page = 0; page < 10 && scanned.size() < mine.size(); ++page) {
    std::vector<StoredEvent> got = MUST(store_->ScanOwner(a, after, 25));
    std::vector<RawRecord> got_raw = MUST(store_->ScanOwnerRaw(a, after, 25));
    ASSERT_FALSE(got.empty());
    ASSERT_EQ(got.size(), got_raw.size());
    after = got.back().event.when;
    scanned.insert(scanned.end(), got.begin(), got.end());
    raw.insert(raw.end(), got_raw.begin(), got_raw.end());
  }
  std::vector<Uuid> want;
  for (const Event& e : mine) want.push_back(e.id);
  ASSERT_EQ(Ids(scanned), want);
  for (size_t i = 0; i < mine.size(); ++i) {
    StoredEvent one = MUST(store_->Get(mine[i].id)).value();
    EXPECT_EQ(scanned[i].seq, one.seq) << i;
    EXPECT_EQ(scanned[i].event.raw, one.event.raw) << i;
    EXPECT_EQ(scanned[i].next, one.next) << i;
    EXPECT_EQ(raw[i].seq, one.seq) << i;
    EXPECT_EQ(raw[i].id, mine[i].id) << i;
    EXPECT_EQ(raw[i].owner, a) << i;
    EXPECT_EQ(raw[i].bytes, one.event.raw) << i;
    EXPECT_EQ(raw[i].next, one.next) << i;
  }
  EXPECT_EQ(scanned.back().next, std::nullopt);
  EXPECT_EQ(scanned.front().next, mine[1].id);
}

TEST_P(EventStoreTest, NextWithinOneBatch) {
  Uuid owner = maker_.NewId();
  Event a = maker_.Next(owner, "1");
  Event b = maker_.Next(owner, "2");
  Event c = maker_.Next(owner, "3");
  Append({c, a, b});
  EXPECT_EQ(MUST(store_->Get(a.id))->next, b.id);
  EXPECT_EQ(MUST(store_->Get(b.id))->next, c.id);
  std::vector<StoredEvent> scanned = MUST(store_->Scan(0, 10));
  ASSERT_EQ(scanned.size(), 3u);
  EXPECT_EQ(scanned[1].next, b.id);
  EXPECT_EQ(scanned[2].next, c.id);
}

TEST_P(EventStoreTest, AppendNewStoresFreshEventsLikeAppend) {
  Uuid owner = maker_.NewId();
  Uuid other = maker_.NewId();
  Event a = maker_.Next(owner, "1");
  Event missing = maker_.Next(other, "1");
  Event present = maker_.Next(other, "2");
  Append({a, present});
  // Fresh ids whose prevs are stored (a) or new in the batch (b), and whose
  // dependencies are stored, missing, or new in the batch.
  Event b = maker_.Next(owner, "2", {present.id});
  Event c = maker_.Next(owner, "3", {missing.id, b.id});
  EXPECT_EQ(MUST(store_->AppendNew(std::vector<Event>{b, c}, true)), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(MUST(store_->LastSequence()), 4u);
  EXPECT_EQ(MUST(store_->Get(a.id))->next, b.id);
  EXPECT_EQ(MUST(store_->Get(b.id))->next, c.id);
  EXPECT_EQ(MUST(store_->Heads()).at(owner), c.id);
  EXPECT_EQ(MUST(store_->WaitingOn(missing.id)), (std::vector<Uuid>{c.id}));
  EXPECT_TRUE(MUST(store_->WaitingOn(b.id)).empty());
  std::vector<StoredEvent> chain = MUST(store_->ScanOwner(owner, std::nullopt, 10));
  EXPECT_EQ(Ids(chain), (std::vector<Uuid>{a.id, b.id, c.id}));
  // A later Append still sees them as stored.
  EXPECT_EQ(Append({c}), (std::vector<uint64_t>{0}));
}

TEST_P(EventStoreTest, HeadsAndFirsts) {
  Uuid o1 = maker_.NewId();
  Uuid o2 = maker_.NewId();
  std::vector<Event> c1 = {maker_.Next(o1, "1"), maker_.Next(o1, "2"), maker_.Next(o1, "3")};
  std::vector<Event> c2 = {maker_.Next(o2, "1"), maker_.Next(o2, "2")};
  // Newest first: the head is the greatest `when`, not the last appended.
  Append({c1[2], c2[1]});
  EXPECT_EQ(MUST(store_->Heads()), (std::map<Uuid, Uuid>{{o1, c1[2].id}, {o2, c2[1].id}}));
  EXPECT_TRUE(MUST(store_->Firsts()).empty());
  Append({c1[0], c1[1]});
  Append({c2[0]});
  EXPECT_EQ(MUST(store_->Heads()), (std::map<Uuid, Uuid>{{o1, c1[2].id}, {o2, c2[1].id}}));
  EXPECT_EQ(MUST(store_->Firsts()), (std::map<Uuid, Uuid>{{o1, c1[0].id}, {o2, c2[0].id}}));
  Event newer = maker_.Next(o2, "3");
  Append({newer});
  EXPECT_EQ(MUST(store_->Heads()).at(o2), newer.id);
}

TEST_P(EventStoreTest, ScanOwnerOrderAndPaging) {
  Uuid owner = maker_.NewId();
  Uuid other = maker_.NewId();
  std::vector<Event> chain;
  for (int i = 0; i < 10; ++i) {
    chain.push_back(maker_.Next(owner, std::to_string(i)));
    (void)maker_.Next(other, std::to_string(i));  // interleaved times
  }
  std::vector<Event> others = {maker_.Next(other, "\"x\""), maker_.Next(other, "\"y\"")};
  std::vector<Event> shuffled = chain;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(7));
  shuffled.insert(shuffled.begin() + 3, others.begin(), others.end());
  Append(shuffled);

  std::vector<Uuid> expected;
  for (const Event& e : chain) expected.push_back(e.id);
  EXPECT_EQ(Ids(MUST(store_->ScanOwner(owner, std::nullopt, 100))), expected);

  std::vector<Uuid> paged;
  std::optional<Hlc> after;
  for (int page = 0; page < 10; ++page) {  // bounded
    std::vector<StoredEvent> got = MUST(store_->ScanOwner(owner, after, 3));
    ASSERT_LE(got.size(), 3u);
    if (got.empty()) break;
    for (const StoredEvent& e : got) {
      EXPECT_EQ(e.event.owner, owner);
      paged.push_back(e.event.id);
    }
    after = got.back().event.when;
  }
  EXPECT_EQ(paged, expected);
  // `after` is exclusive and need not be a stored `when`.
  Hlc between = chain[4].when;
  between.count += 1;
  EXPECT_EQ(Ids(MUST(store_->ScanOwner(owner, between, 2))),
            (std::vector<Uuid>{chain[5].id, chain[6].id}));
  EXPECT_EQ(Ids(MUST(store_->ScanOwner(owner, chain[4].when, 1))),
            (std::vector<Uuid>{chain[5].id}));
  EXPECT_TRUE(MUST(store_->ScanOwner(owner, chain[9].when, 10)).empty());
  EXPECT_TRUE(MUST(store_->ScanOwner(owner, std::nullopt, 0)).empty());
  EXPECT_TRUE(MUST(store_->ScanOwner(maker_.NewId(), std::nullopt, 10)).empty());
  Hlc max{UINT32_MAX, UINT64_MAX, UINT32_MAX};
  EXPECT_TRUE(MUST(store_->ScanOwner(owner, max, 10)).empty());
}

TEST_P(EventStoreTest, HolesAreMissingPrevs) {
  Uuid owner = maker_.NewId();
  std::vector<Event> chain;
  for (int i = 0; i < 6; ++i) chain.push_back(maker_.Next(owner, std::to_string(i)));
  // Missing: 0 (the first) and 3.
  Append({chain[1], chain[2], chain[4], chain[5]});
  EXPECT_EQ(MUST(store_->Holes(owner)), (std::vector<Uuid>{chain[0].id, chain[3].id}));
  Append({chain[3]});
  EXPECT_EQ(MUST(store_->Holes(owner)), (std::vector<Uuid>{chain[0].id}));
  Append({chain[0]});
  EXPECT_TRUE(MUST(store_->Holes(owner)).empty());
  EXPECT_TRUE(MUST(store_->Holes(maker_.NewId())).empty());
}

TEST_P(EventStoreTest, ScanPagesInSequenceOrder) {
  Uuid o1 = maker_.NewId();
  Uuid o2 = maker_.NewId();
  std::vector<Event> events;
  for (int i = 0; i < 25; ++i) events.push_back(maker_.Next(i % 3 ? o1 : o2, std::to_string(i)));
  for (size_t i = 0; i < events.size(); i += 7) {
    std::vector<Event> chunk(events.begin() + i, events.begin() + std::min(events.size(), i + 7));
    Append(chunk, i % 2 == 0);
  }
  std::vector<Uuid> seen;
  uint64_t after = 0;
  for (int page = 0; page < 10; ++page) {  // bounded
    std::vector<StoredEvent> got = MUST(store_->Scan(after, 10));
    if (got.empty()) break;
    ASSERT_LE(got.size(), 10u);
    for (const StoredEvent& e : got) {
      EXPECT_EQ(e.seq, after + 1);
      after = e.seq;
      seen.push_back(e.event.id);
    }
  }
  ASSERT_EQ(seen.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(seen[i], events[i].id);
  EXPECT_EQ(MUST(store_->Scan(24, 10)).size(), 1u);
  EXPECT_TRUE(MUST(store_->Scan(25, 10)).empty());
  EXPECT_TRUE(MUST(store_->Scan(0, 0)).empty());
  EXPECT_TRUE(MUST(store_->Scan(UINT64_MAX, 10)).empty());
  EXPECT_EQ(MUST(store_->Count()), 25u);
  EXPECT_EQ(MUST(store_->LastSequence()), 25u);
}

TEST_P(EventStoreTest, WaitingOnMissingDependencies) {
  Uuid owner = maker_.NewId();
  Uuid other = maker_.NewId();
  Event present = maker_.Next(other, "1");
  Event missing = maker_.Next(other, "2");
  Append({present});
  Event x = maker_.Next(owner, "\"x\"", {missing.id, present.id});
  Event y = maker_.Next(owner, "\"y\"", {missing.id});
  Append({x, y});
  EXPECT_EQ(MUST(store_->WaitingOn(missing.id)),
            (std::vector<Uuid>{std::min(x.id, y.id), std::max(x.id, y.id)}));
  EXPECT_TRUE(MUST(store_->WaitingOn(present.id)).empty());
  Append({missing});
  EXPECT_TRUE(MUST(store_->WaitingOn(missing.id)).empty());

  // A dependency that arrives later in the same batch does not wait.
  Event later = maker_.Next(other, "3");
  Event z = maker_.Next(owner, "\"z\"", {later.id});
  Append({z, later});
  EXPECT_TRUE(MUST(store_->WaitingOn(later.id)).empty());
  // One that arrives earlier in the batch neither.
  Event earlier = maker_.Next(other, "4");
  Event w = maker_.Next(owner, "\"w\"", {earlier.id});
  Append({earlier, w});
  EXPECT_TRUE(MUST(store_->WaitingOn(earlier.id)).empty());
}

TEST_P(EventStoreTest, MetaPutGetDelete) {
  EXPECT_FALSE(MUST(store_->GetMeta("absent")).has_value());
  ASSERT_OK(store_->PutMeta("peers", "a,b"));
  EXPECT_EQ(MUST(store_->GetMeta("peers")), "a,b");
  ASSERT_OK(store_->PutMeta("peers", "c"));
  EXPECT_EQ(MUST(store_->GetMeta("peers")), "c");
  const std::string binary_key("k\0\xff\"'\\", 6);
  const std::string binary_value("\0\x01ü\0", 5);
  ASSERT_OK(store_->PutMeta(binary_key, binary_value));
  EXPECT_EQ(MUST(store_->GetMeta(binary_key)), binary_value);
  ASSERT_OK(store_->PutMeta("empty", ""));
  EXPECT_EQ(MUST(store_->GetMeta("empty")), "");
  ASSERT_OK(store_->DeleteMeta("peers"));
  EXPECT_FALSE(MUST(store_->GetMeta("peers")).has_value());
  ASSERT_OK(store_->DeleteMeta("never-there"));
  EXPECT_EQ(MUST(store_->GetMeta(binary_key)), binary_value);
}

TEST_P(EventStoreTest, EnsureNodeIdIsStable) {
  Uuid id = MUST(EnsureNodeId(store_.get()));
  EXPECT_FALSE(id.IsNil());
  EXPECT_EQ(MUST(EnsureNodeId(store_.get())), id);
}

TEST_P(EventStoreTest, ConcurrentAppendsGetDistinctConsecutiveNumbers) {
  constexpr int kThreads = 4;
  constexpr int kBatches = 20;
  constexpr int kPerBatch = 5;
  std::vector<std::vector<std::vector<Event>>> work(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    Uuid owner = maker_.NewId();
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Event> batch;
      for (int i = 0; i < kPerBatch; ++i) batch.push_back(maker_.Next(owner, std::to_string(i)));
      work[t].push_back(std::move(batch));
    }
  }
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const std::vector<Event>& batch : work[t]) {
        Result<std::vector<uint64_t>> r = store_->Append(batch, false);
        if (!r.ok()) {
          ++failures;
          return;
        }
        // A batch gets consecutive numbers.
        for (size_t i = 1; i < r->size(); ++i) {
          if ((*r)[i] != (*r)[i - 1] + 1) ++failures;
        }
        seqs[t].insert(seqs[t].end(), r->begin(), r->end());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<uint64_t> all;
  for (const auto& s : seqs) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);
  EXPECT_EQ(MUST(store_->Count()), all.size());
}

// A random workload against the memory store as the model: every query
// answers the same after every batch (LevelDB's DBTest.Randomized style).
TEST_P(EventStoreTest, RandomizedAgainstMemoryModel) {
  const uint64_t seed =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("RandomizedAgainstMemoryModel seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  QueueWorkload workload(seed, 3);
  std::unique_ptr<EventStore> model = NewMemoryEventStore();
  std::vector<Event> all = workload.Take(400);
  // Deliver out of order with duplicates, in random batches.
  std::vector<Event> delivery = all;
  for (int i = 0; i < 60; ++i) delivery.push_back(all[rng() % all.size()]);
  std::shuffle(delivery.begin(), delivery.end(), rng);
  size_t pos = 0;
  for (int round = 0; round < 200 && pos < delivery.size(); ++round) {
    size_t n = std::min<size_t>(1 + rng() % 40, delivery.size() - pos);
    std::vector<Event> batch(delivery.begin() + pos, delivery.begin() + pos + n);
    pos += n;
    ASSERT_EQ(Append(batch, rng() % 2 == 0), MUST(model->Append(batch, false)));
    if (backend_.persistent() && rng() % 5 == 0) Reopen();
    ASSERT_EQ(MUST(store_->Heads()), MUST(model->Heads()));
    ASSERT_EQ(MUST(store_->Firsts()), MUST(model->Firsts()));
  }
  ASSERT_EQ(pos, delivery.size());
  EXPECT_EQ(MUST(store_->Count()), MUST(model->Count()));
  EXPECT_EQ(MUST(store_->LastSequence()), MUST(model->LastSequence()));
  auto same = [](const std::vector<StoredEvent>& a, const std::vector<StoredEvent>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].seq != b[i].seq || a[i].next != b[i].next || a[i].event.raw != b[i].event.raw) {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(same(MUST(store_->Scan(0, 10'000)), MUST(model->Scan(0, 10'000))));
  for (const auto& [owner, head] : MUST(model->Heads())) {
    EXPECT_TRUE(same(MUST(store_->ScanOwner(owner, std::nullopt, 10'000)),
                     MUST(model->ScanOwner(owner, std::nullopt, 10'000))));
    EXPECT_EQ(MUST(store_->Holes(owner)), MUST(model->Holes(owner)));
  }
  for (size_t i = 0; i < all.size(); i += 37) {
    std::optional<StoredEvent> a = MUST(store_->Get(all[i].id));
    std::optional<StoredEvent> b = MUST(model->Get(all[i].id));
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(same({*a}, {*b}));
  }
}

TEST_P(PersistentEventStoreTest, ReopenKeepsEverything) {
  Uuid owner = maker_.NewId();
  Uuid other = maker_.NewId();
  Uuid dependency = maker_.NewId();
  std::vector<Event> chain;
  for (int i = 0; i < 5; ++i) chain.push_back(maker_.Next(owner, std::to_string(i)));
  Event waiter = maker_.Next(other, "\"w\"", {dependency});
  Append({chain[0], chain[1], chain[3], waiter}, true);
  ASSERT_OK(store_->PutMeta("registration", "http://127.0.0.1:1/event"));
  Uuid node = MUST(EnsureNodeId(store_.get()));

  std::vector<StoredEvent> before = MUST(store_->Scan(0, 100));
  auto heads = MUST(store_->Heads());
  auto firsts = MUST(store_->Firsts());

  Reopen();
  EXPECT_EQ(MUST(EnsureNodeId(store_.get())), node);
  EXPECT_EQ(MUST(store_->GetMeta("registration")), "http://127.0.0.1:1/event");
  EXPECT_EQ(MUST(store_->LastSequence()), 4u);
  EXPECT_EQ(MUST(store_->Count()), 4u);
  std::vector<StoredEvent> after = MUST(store_->Scan(0, 100));
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].seq, before[i].seq);
    EXPECT_EQ(after[i].event.raw, before[i].event.raw);
    EXPECT_EQ(after[i].next, before[i].next);
  }
  EXPECT_EQ(MUST(store_->Heads()), heads);
  EXPECT_EQ(MUST(store_->Firsts()), firsts);
  EXPECT_EQ(MUST(store_->Holes(owner)), (std::vector<Uuid>{chain[2].id}));
  EXPECT_EQ(MUST(store_->WaitingOn(dependency)), (std::vector<Uuid>{waiter.id}));

  // Numbering, dedup and indexes continue across the reopen.
  EXPECT_EQ(Append({chain[2], chain[4], chain[0]}), (std::vector<uint64_t>{5, 6, 0}));
  EXPECT_TRUE(MUST(store_->Holes(owner)).empty());
  EXPECT_EQ(MUST(store_->Get(chain[1].id))->next, chain[2].id);
  EXPECT_EQ(MUST(store_->Heads()).at(owner), chain[4].id);
  Reopen();
  EXPECT_EQ(MUST(store_->LastSequence()), 6u);
  EXPECT_EQ(MUST(store_->Get(chain[2].id))->next, chain[3].id);
  EXPECT_EQ(MUST(store_->Get(chain[4].id))->seq, 6u);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventStoreTest, ::testing::ValuesIn(AllBackends()),
                         BackendParamName);
INSTANTIATE_TEST_SUITE_P(Backends, PersistentEventStoreTest,
                         ::testing::ValuesIn(PersistentBackends()), BackendParamName);

}  // namespace
}  // namespace pigtail::testing

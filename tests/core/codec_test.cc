#include "core/codec.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::AtMs;
using testing::TestId;

TEST(CodecTest, QueueRecordRoundTrips) {
  QueueRecord q;
  q.name = "emails";
  q.last = Stamp{AtMs(5, 2), TestId(9)};
  q.alive = true;
  q.timeout_ms = 30000;
  q.max_attempts = 5;
  q.backoff_ms = 250;
  q.last_delete = Stamp{AtMs(1), TestId(3)};
  std::string bytes = EncodeQueueRecord(q);
  EXPECT_EQ(*DecodeQueueRecord(bytes), q);
  QueueRecord bare;
  bare.name = "x";
  EXPECT_EQ(*DecodeQueueRecord(EncodeQueueRecord(bare)), bare);
  // A pause is appended; a record without one encodes as before.
  QueueRecord paused = q;
  paused.last_pause = Stamp{AtMs(7), TestId(4)};
  paused.paused = true;
  const std::string with_pause = EncodeQueueRecord(paused);
  EXPECT_EQ(with_pause.substr(0, bytes.size()), bytes);
  EXPECT_EQ(*DecodeQueueRecord(with_pause), paused);
  EXPECT_FALSE(DecodeQueueRecord(bytes + "x").ok());
}

TEST(CodecTest, TaskRecordRoundTripsWithHostileStrings) {
  TaskRecord t;
  t.queue = "q";
  t.id = TestId(1);
  t.add = TaskAdd{
      AtMs(7), std::string("na\0me\"'\\ ✓", 13), R"({"x":"\u0000"})", -4, 10, 2, std::nullopt, 0};
  t.status.key = StatusKey{0, Outcome::kDead, 3, Phase::kPending, AtMs(9, 1), TestId(2)};
  t.status.worker = TestId(77);
  t.status.error = "it broke";
  t.status.retry_in_ms = 0;
  EXPECT_EQ(*DecodeTaskRecord(EncodeTaskRecord(t)), t);
}

// A later round is appended; a round-0 record encodes as before rounds.
TEST(CodecTest, RoundsAfterTheFirstAreAppended) {
  TaskRecord t;
  t.queue = "q";
  t.id = TestId(1);
  t.status.key = StatusKey{0, Outcome::kLive, 0, Phase::kPending, AtMs(9), TestId(1)};
  const std::string first = EncodeTaskRecord(t);
  t.status.key.round = 3;
  const std::string later = EncodeTaskRecord(t);
  EXPECT_EQ(later.size(), first.size() + 4);
  EXPECT_EQ(later.substr(0, first.size()), first);
  EXPECT_EQ(*DecodeTaskRecord(later), t);
  std::string explicit_zero = first + std::string(4, '\0');
  EXPECT_EQ(DecodeTaskRecord(explicit_zero).status().code(), StatusCode::kCorruption);
}

// run_at_ms, a result, progress and failures follow the round, each only
// when set; a record without them encodes as before they existed.
TEST(CodecTest, HistoryFieldsAreAppendedAfterTheRound) {
  TaskRecord t;
  t.queue = "q";
  t.id = TestId(1);
  t.add = TaskAdd{AtMs(1), "t", "{}", 0, 0, {}, {}, {}};
  t.status.key = StatusKey{0, Outcome::kDone, 2, Phase::kWorking, AtMs(9), TestId(5)};
  const std::string plain = EncodeTaskRecord(t);
  t.add->run_at_ms = 1234;
  TaskHistory history;
  history.result_json = R"({"ok":true})";
  history.progress = TaskProgress{AttemptStamp{0, 2, AtMs(8), TestId(4)}, "[50]"};
  for (uint64_t lease = 0; lease < 2; ++lease) {
    history.failures.push_back(
        FailedAttempt{AttemptStamp{0, lease, AtMs(3 + lease), TestId(2 + lease)}, TestId(77),
                      "attempt " + std::to_string(lease)});
  }
  t.history = std::make_shared<const TaskHistory>(history);
  const std::string extended = EncodeTaskRecord(t);
  EXPECT_EQ(extended.substr(0, plain.size()), plain);
  EXPECT_EQ(*DecodeTaskRecord(extended), t);
  // A cut between two fields leaves a valid record without the later ones;
  // any other cut is corrupt.
  for (size_t cut = plain.size() + 1; cut < extended.size(); ++cut) {
    Result<TaskRecord> r = DecodeTaskRecord(extended.substr(0, cut));
    EXPECT_TRUE(!r.ok() || *r != t) << cut;
    if (r.ok()) {
      EXPECT_EQ(EncodeTaskRecord(*r), extended.substr(0, cut)) << cut;
    }
  }
  // Each field alone, and failures out of order.
  TaskRecord only_result = t;
  only_result.add->run_at_ms = 0;
  only_result.history =
      std::make_shared<const TaskHistory>(TaskHistory{history.result_json, {}, {}});
  EXPECT_EQ(*DecodeTaskRecord(EncodeTaskRecord(only_result)), only_result);
  TaskRecord unordered = t;
  TaskHistory swapped = history;
  std::swap(swapped.failures[0], swapped.failures[1]);
  unordered.history = std::make_shared<const TaskHistory>(swapped);
  EXPECT_EQ(DecodeTaskRecord(EncodeTaskRecord(unordered)).status().code(), StatusCode::kCorruption);
}

TEST(CodecTest, APurgedRecordRoundTrips) {
  TaskRecord t;
  t.queue = "q";
  t.id = TestId(1);
  t.status.key = StatusKey{kPurgeRound, Outcome::kPurged, 0, Phase::kPending, AtMs(9), TestId(5)};
  EXPECT_EQ(*DecodeTaskRecord(EncodeTaskRecord(t)), t);
}

TEST(CodecTest, CorruptBytesAreReportedNotCrashed) {
  TaskRecord t;
  t.queue = "q";
  t.id = TestId(1);
  std::string bytes = EncodeTaskRecord(t);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    Result<TaskRecord> r = DecodeTaskRecord(bytes.substr(0, cut));
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << cut;
  }
  EXPECT_FALSE(DecodeTaskRecord(bytes + "x").ok());
  EXPECT_FALSE(DecodeQueueRecord(bytes).ok());  // wrong tag
  std::string bad_outcome = bytes;
  bad_outcome[1 + 4 + 1 + 16 + 1] = 9;  // tag, name length, name, id, has_add=0 -> outcome
  EXPECT_FALSE(DecodeTaskRecord(bad_outcome).ok());
}

}  // namespace
}  // namespace pigtail

#include "core/codec.h"

#include <gtest/gtest.h>

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
  t.add = TaskAdd{AtMs(7),     std::string("na\0me\"'\\ ✓", 13), R"({"x":"\u0000"})", -4, 10, 2,
                  std::nullopt};
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

#include "backends/rocksdb_write_batch.h"

#include <gtest/gtest.h>

#include <string>

namespace pigtail::rocks {
namespace {

TEST(ReusedWriteBatchTest, ClearedKeepsTheBufferOfEarlierWrites) {
  ReusedWriteBatch reused;
  rocksdb::WriteBatch& batch = reused.Cleared();
  const std::string value(100, 'v');
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(batch.Put("key" + std::to_string(i), value).ok());
  const size_t filled = batch.GetDataSize();
  ASSERT_GT(filled, 100'000u);

  rocksdb::WriteBatch& again = reused.Cleared();
  EXPECT_EQ(&again, &batch);
  EXPECT_EQ(again.Count(), 0u);
  EXPECT_LT(again.GetDataSize(), 100u);  // the header only
  EXPECT_GE(again.Data().capacity(), filled);
  ASSERT_TRUE(again.Put("k", "v").ok());
  EXPECT_EQ(again.Count(), 1u);
}

TEST(ReusedWriteBatchTest, AHugeBatchIsNotKept) {
  ReusedWriteBatch reused;
  rocksdb::WriteBatch& batch = reused.Cleared();
  const std::string value(1 << 20, 'v');
  for (size_t i = 0; i * value.size() <= ReusedWriteBatch::kKeptBytes; ++i) {
    ASSERT_TRUE(batch.Put("key" + std::to_string(i), value).ok());
  }
  ASSERT_GT(batch.GetDataSize(), ReusedWriteBatch::kKeptBytes);

  rocksdb::WriteBatch& again = reused.Cleared();
  EXPECT_EQ(again.Count(), 0u);
  EXPECT_LT(again.Data().capacity(), ReusedWriteBatch::kKeptBytes);
}

}  // namespace
}  // namespace pigtail::rocks

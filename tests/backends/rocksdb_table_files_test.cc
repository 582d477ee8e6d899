// Table files written beside a RocksDB database and ingested into it
// (backends/rocksdb_table_files.h), on a plain database.
#include "backends/rocksdb_table_files.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"

namespace pigtail::testing {
namespace {

class TableFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(backend_.Prepare());
    dir_ = backend_.dir() + "/raw";
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, &db).ok());
    db_.reset(db);
  }

  std::string Get(const std::string& key) {
    std::string value;
    rocksdb::Status s = db_->Get({}, key, &value);
    return s.ok() ? value : s.ToString();
  }

  std::unique_ptr<rocks::TableFileWriter> Writer(const std::string& name) {
    return MUST(rocks::TableFileWriter::Open(db_.get(), db_->DefaultColumnFamily(), name));
  }

  TestBackend backend_{BackendKind::kRocksDb};
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(TableFilesTest, FilesOfDisjointRangesAreIngestedTogether) {
  ASSERT_TRUE(db_->Put({}, "b", "older").ok());
  auto low = Writer("low.sst");
  auto high = Writer("high.sst");
  ASSERT_OK(low->Put("a", "1"));
  ASSERT_OK(low->Put("b", "2"));
  ASSERT_OK(high->Put("m", "3"));
  ASSERT_OK(high->Put("z", "4"));
  ASSERT_OK(low->Finish());
  ASSERT_OK(high->Finish());
  ASSERT_OK(rocks::IngestTableFiles(db_.get(),
                                    {{db_->DefaultColumnFamily(), {low->path(), high->path()}}}));
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("b"), "2");  // newer than the key it replaces
  EXPECT_EQ(Get("m"), "3");
  EXPECT_EQ(Get("z"), "4");
  // Moved in, not copied.
  EXPECT_FALSE(std::filesystem::exists(low->path()));
  ASSERT_OK(rocks::RemoveStagedTableFiles(db_.get()));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bulk_load"));
}

TEST_F(TableFilesTest, AnEmptyWriterLeavesNoFileAndIngestsNothing) {
  auto empty = Writer("empty.sst");
  ASSERT_OK(empty->Finish());
  EXPECT_EQ(empty->path(), "");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bulk_load/empty.sst"));
  ASSERT_OK(rocks::IngestTableFiles(db_.get(), {{db_->DefaultColumnFamily(), {empty->path()}}}));
}

TEST_F(TableFilesTest, AKeyOutOfOrderIsAnError) {
  auto writer = Writer("disorder.sst");
  ASSERT_OK(writer->Put("b", "1"));
  Status s = writer->Put("a", "2");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("write table file"), std::string::npos) << s.ToString();
  EXPECT_FALSE(writer->Put("b", "again").ok());  // equal keys too
}

}  // namespace
}  // namespace pigtail::testing

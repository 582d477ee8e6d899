// Write-ahead log files zero-filled ahead of the writes
// (backends/rocksdb_wal_files.h): the file layout, and a database that
// reopens from an image of its directory taken while it runs, as after a
// crash, with zeros past its last synced write.
#include "backends/rocksdb_wal_files.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"

namespace pigtail::testing {
namespace {

constexpr uint64_t kChunk = rocks::ZeroFilledWalFileSystem::kChunkBytes;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class WalFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(backend_.Prepare()); }

  std::unique_ptr<rocksdb::FSWritableFile> Create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = fs_.NewWritableFile(backend_.dir() + "/" + name, {}, &file, nullptr);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return file;
  }

  TestBackend backend_{BackendKind::kRocksDb};
  rocks::ZeroFilledWalFileSystem fs_{rocksdb::FileSystem::Default()};
};

TEST(WalFileNames, OnlyNumberedLogsAreWriteAheadLogs) {
  EXPECT_TRUE(rocks::IsWalFile("000012.log"));
  EXPECT_TRUE(rocks::IsWalFile("/var/lib/pigtail/log/000012.log"));
  EXPECT_FALSE(rocks::IsWalFile("/var/lib/pigtail/log/LOG"));
  EXPECT_FALSE(rocks::IsWalFile("LOG.old.1700000000"));
  EXPECT_FALSE(rocks::IsWalFile("MANIFEST-000005"));
  EXPECT_FALSE(rocks::IsWalFile("000013.sst"));
  EXPECT_FALSE(rocks::IsWalFile(".log"));
  EXPECT_FALSE(rocks::IsWalFile("dir/x1.log"));
}

TEST_F(WalFilesTest, ALogIsFilledWithZerosAheadAndTruncatedWhenClosed) {
  const std::string path = backend_.dir() + "/000007.log";
  auto file = Create("000007.log");
  ASSERT_NE(file, nullptr);
  const std::string first(3000, 'a');
  ASSERT_TRUE(file->Append(first, {}, nullptr).ok());
  ASSERT_TRUE(file->Sync({}, nullptr).ok());
  EXPECT_EQ(file->GetFileSize({}, nullptr), first.size());
  EXPECT_EQ(std::filesystem::file_size(path), kChunk);
  const std::string image = ReadAll(path);
  EXPECT_EQ(image.substr(0, first.size()), first);
  EXPECT_EQ(image.find_first_not_of('\0', first.size()), std::string::npos);

  // Past the first chunk, the zeros grow by another.
  const std::string second(kChunk, 'b');
  ASSERT_TRUE(file->Append(second, {}, nullptr).ok());
  EXPECT_EQ(file->GetFileSize({}, nullptr), first.size() + second.size());
  EXPECT_EQ(std::filesystem::file_size(path), 2 * kChunk);

  ASSERT_TRUE(file->Close({}, nullptr).ok());
  EXPECT_EQ(std::filesystem::file_size(path), first.size() + second.size());
  EXPECT_EQ(ReadAll(path), first + second);
}

TEST_F(WalFilesTest, OtherFilesAreWrittenAsTheyCome) {
  for (const std::string name : {"LOG", "MANIFEST-000005", "000013.sst"}) {
    auto file = Create(name);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->Append("record", {}, nullptr).ok());
    ASSERT_TRUE(file->Flush({}, nullptr).ok());
    EXPECT_EQ(std::filesystem::file_size(backend_.dir() + "/" + name), 6u) << name;
    ASSERT_TRUE(file->Close({}, nullptr).ok());
  }
}

// Opens (creating) the database at `dir` with `env`.
std::unique_ptr<rocksdb::DB> OpenDb(const std::string& dir, rocksdb::Env* env) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.env = env;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

std::string Key(int i) { return "key" + std::to_string(i); }

TEST_F(WalFilesTest, ADatabaseReopensFromAnImageTakenWhileItRuns) {
  const std::string dir = backend_.dir() + "/db";
  auto db = OpenDb(dir, rocks::WalZeroFillingEnv());
  ASSERT_NE(db, nullptr);
  // Past one chunk of log, in memtables only (no flush at this size).
  constexpr int kKeys = 1500;
  const std::string value(4000, 'v');
  rocksdb::WriteOptions synced;
  synced.sync = true;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(db->Put(synced, Key(i), value + std::to_string(i)).ok());
  }

  // The image a crash leaves: the open log with zeros past its end.
  bool zeros_past_the_end = false;
  for (const std::string image : {"image_zero_filling", "image_default"}) {
    std::filesystem::copy(dir, backend_.dir() + "/" + image,
                          std::filesystem::copy_options::recursive);
  }
  for (const auto& entry : std::filesystem::directory_iterator(backend_.dir() + "/image_default")) {
    if (!rocks::IsWalFile(entry.path().string()) || entry.file_size() == 0) continue;
    const std::string log = ReadAll(entry.path().string());
    zeros_past_the_end = log.size() % kChunk == 0 && log.back() == '\0';
  }
  EXPECT_TRUE(zeros_past_the_end);

  // Both with these log files and with RocksDB's own (as a stock RocksDB
  // tool would open it), every synced write is there and nothing else.
  const std::pair<rocksdb::Env*, std::string> opened_with[] = {
      {rocks::WalZeroFillingEnv(), "/image_zero_filling"},
      {rocksdb::Env::Default(), "/image_default"}};
  for (const auto& [env, name] : opened_with) {
    const std::string image = backend_.dir() + name;
    auto reopened = OpenDb(image, env);
    ASSERT_NE(reopened, nullptr);
    int found = 0;
    std::unique_ptr<rocksdb::Iterator> it(reopened->NewIterator({}));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++found;
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(found, kKeys);
    for (int i : {0, kKeys / 2, kKeys - 1}) {
      std::string got;
      ASSERT_TRUE(reopened->Get({}, Key(i), &got).ok()) << Key(i);
      EXPECT_EQ(got, value + std::to_string(i));
    }
    // And it goes on taking writes after the zeros.
    ASSERT_TRUE(reopened->Put(synced, "after", "crash").ok());
    it.reset();
    reopened.reset();
    reopened = OpenDb(image, env);
    ASSERT_NE(reopened, nullptr);
    std::string got;
    ASSERT_TRUE(reopened->Get({}, "after", &got).ok());
    EXPECT_EQ(got, "crash");
  }
}

}  // namespace
}  // namespace pigtail::testing

// The dump format's lines (replay/dump_line.h) and their reading by the
// jsonl: source: verbatim lines, string lines, and a malformed string line
// reported as a corrupt record.
#include "replay/dump_line.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "replay/jsonl_source.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {

TEST(DumpLineTest, SingleLineBytesAreVerbatimOthersAJsonString) {
  EXPECT_EQ(DumpLine(R"({"a":1.50e3, "s":"caf\u00e9 ☃"})"), R"({"a":1.50e3, "s":"caf\u00e9 ☃"})");
  EXPECT_EQ(DumpLine("{\n\"a\":\t1\r}"), R"("{\n\"a\":\t1\r}")");
  EXPECT_EQ(DumpLine("{\"s\":\"\\n\"}\r"), R"("{\"s\":\"\\n\"}\r")");
  for (const std::string& bytes :
       {std::string(R"({"a":"\"x\""})"), std::string("{\n\t\"é\":\"\\u2028 ☃\"\r\n}"),
        std::string("  {\"a\":[]}  "), std::string("{\"nul\":\"\\u0000\"}\n")}) {
    std::string line = DumpLine(bytes);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << line;
    Result<std::string> back = DumpLineBytes(line);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, bytes);
  }
}

TEST(DumpLineTest, AMalformedStringLineIsAnError) {
  EXPECT_FALSE(DumpLineBytes(R"("{\"a\":1})").ok());
  EXPECT_FALSE(DumpLineBytes(R"("a" "b")").ok());
  EXPECT_EQ(DumpLineBytes(R"({"old":"line"})").value(), R"({"old":"line"})");
}

TEST(DumpLineTest, TheJsonlSourceReadsBothFormsAndReportsBadStringLines) {
  const std::string entry1 =
      R"({"id":"0a000000-0000-4000-8000-000000000001","owner":"6f1c0a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6","when":[0,[1],0],"data":1})";
  const std::string entry2 =
      "{\"id\":\"0a000000-0000-4000-8000-000000000002\",\n\"owner\":"
      "\"6f1c0a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6\",\"when\":[0,[2],0],\"data\":2}";
  const std::string dir = testing::TempDir("dump_line");
  const std::string path = dir + "/dump.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << entry1 << "\n" << DumpLine(entry2) << "\n\"{unterminated\n" << entry1 << "\n";
  }
  CorruptionReporter reporter(CorruptionPolicy::kSkipAndCount);
  auto source = OpenJsonlSource(path, &reporter);
  ASSERT_TRUE(source.ok());
  std::vector<SourcedEvent> batch;
  ASSERT_TRUE((*source)->Next(BatchLimits(), &batch).ok());
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].event.raw, entry1);
  EXPECT_EQ(batch[1].event.raw, entry2);
  EXPECT_EQ(batch[1].position, 2u);
  EXPECT_EQ(batch[2].position, 4u);
  EXPECT_EQ(reporter.skipped(), 1u);
  source->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pigtail::replay

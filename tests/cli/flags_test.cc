// ParseFlags (cli/flags.h): the three sources, their precedence, and the
// messages of usage errors.
#include "cli/flags.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace pigtail::cli {
namespace {

struct Flags {
  int count = 7;
  uint64_t bytes = 1024;
  std::string name = "plain";
  bool loud = false;
};

po::options_description Describe(Flags* f) {
  const Flags d;
  po::options_description desc;
  desc.add_options()("config", po::value<std::string>()->value_name("FILE"), "config file")(
      "count", po::value(&f->count)->value_name("N")->default_value(d.count), "how many")(
      "bytes", po::value(&f->bytes)->value_name("N")->default_value(d.bytes), "how big")(
      "name", po::value(&f->name)->value_name("NAME")->default_value(d.name), "what")(
      "loud", po::bool_switch(&f->loud), "shout")("help", po::bool_switch(), "print help");
  return desc;
}

class FlagsTest : public ::testing::Test {
 protected:
  Status Parse(const std::vector<std::string>& args) {
    po::options_description desc = Describe(&flags_);
    po::variables_map vm;
    return ParseFlags(args, desc, nullptr,
                      FlagSources{"TEST_",
                                  [this](const char* name) -> const char* {
                                    auto it = env_.find(name);
                                    return it == env_.end() ? nullptr : it->second.c_str();
                                  }},
                      &vm);
  }
  std::string WriteFile(const std::string& text) {
    std::string path = ::testing::TempDir() + "/flags_test.conf";
    std::ofstream(path) << text;
    return path;
  }

  Flags flags_;
  std::map<std::string, std::string> env_;
};

TEST_F(FlagsTest, DefaultsWithoutAnySource) {
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(flags_.count, 7);
  EXPECT_EQ(flags_.name, "plain");
  EXPECT_FALSE(flags_.loud);
}

TEST_F(FlagsTest, CommandLineOverEnvironmentOverFileOverDefault) {
  std::string path = WriteFile("# settings\ncount = 3\nname = from-file\nloud = true\n");
  env_ = {{"TEST_CONFIG", path}, {"TEST_NAME", "from-env"}, {"TEST_COUNT", "2"}};
  ASSERT_TRUE(Parse({"--count=1"}).ok());
  EXPECT_EQ(flags_.count, 1);
  EXPECT_EQ(flags_.name, "from-env");
  EXPECT_TRUE(flags_.loud);
  std::remove(path.c_str());
}

TEST_F(FlagsTest, SwitchesFromTheEnvironment) {
  env_ = {{"TEST_LOUD", "yes"}};
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_TRUE(flags_.loud);
  env_ = {{"TEST_LOUD", "maybe"}};
  Status bad = Parse({});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "TEST_LOUD: expected 1/true/yes/on or 0/false/no/off, got \"maybe\"");
}

TEST_F(FlagsTest, UsageErrorsNameTheFlagAndTheSource) {
  EXPECT_EQ(Parse({"--bogus"}).message(), "unrecognised option '--bogus'");
  EXPECT_EQ(Parse({"--count"}).message(), "the required argument for option '--count' is missing");
  EXPECT_EQ(Parse({"--count", "x"}).message(),
            "the argument ('x') for option '--count' is invalid");
  EXPECT_EQ(Parse({"--count=1", "--count=2"}).message(),
            "option '--count' cannot be specified more than once");
  EXPECT_EQ(Parse({"--count=1", "extra"}).message(), "unexpected argument \"extra\"");
  // No guessing of abbreviations: --cou is not --count.
  EXPECT_EQ(Parse({"--cou=1"}).message(), "unrecognised option '--cou'");
  EXPECT_EQ(Parse({"--bogus=1"}).message(), "unrecognised option '--bogus'");
  // Not 2^64-1, as lexical_cast would have it.
  EXPECT_EQ(Parse({"--bytes=-1"}).message(), "the argument ('-1') for option '--bytes' is invalid");
  env_ = {{"TEST_BYTES", "-5"}};
  EXPECT_EQ(Parse({}).message(), "TEST_BYTES: the argument ('-5') for option 'bytes' is invalid");
  env_ = {};
  ASSERT_TRUE(Parse({"--count=-3"}).ok());  // signed
  EXPECT_EQ(flags_.count, -3);
  env_ = {{"TEST_COUNT", "many"}};
  EXPECT_EQ(Parse({}).message(), "TEST_COUNT: the argument ('many') for option 'count' is invalid");
  env_ = {};
  std::string path = WriteFile("colour = red\n");
  EXPECT_EQ(Parse({"--config", path}).message(),
            "config file " + path + ": unrecognised option 'colour'");
  std::remove(path.c_str());
  EXPECT_EQ(Parse({"--config", "/nonexistent/x.conf"}).message(),
            "cannot read config file /nonexistent/x.conf");
  for (const char* args : {"--bogus", "--count"}) {
    EXPECT_EQ(Parse({args}).code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(FlagsTest, HelpShowsDefaultsAndEnvironmentNames) {
  Flags scratch;
  std::string text = FlagsHelp("usage: test\n", Describe(&scratch), "TEST_");
  EXPECT_EQ(text.rfind("usage: test\n", 0), 0u) << text;
  EXPECT_NE(text.find("--count N (=7)   [TEST_COUNT]\n      how many\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("--name NAME (=plain)   [TEST_NAME]"), std::string::npos) << text;
  EXPECT_NE(text.find("  --help\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("TEST_HELP"), std::string::npos) << text;
  EXPECT_EQ(EnvName("PIGTAIL_", "max-clock-offset-ms"), "PIGTAIL_MAX_CLOCK_OFFSET_MS");
}

}  // namespace
}  // namespace pigtail::cli

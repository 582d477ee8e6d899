// Runs the real pigtail-replay binary: exit codes, --json reports, a
// tampered store caught by verify, corruption policies, resume after
// SIGKILL, import/export, merge, and peak memory on a long log; registers
// changed or made undecodable through the raw RocksDB API, stores that do
// not exist, and blue/green refusing a directory that holds a log.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "backends/registry.h"
#include "backends/rocksdb_keys.h"
#include "core/codec.h"
#include "core/projector.h"
#include "replay/jsonl_source.h"
#include "replay/replayer.h"
#include "replay/state_diff.h"
#include "tests/replay/log_generator.h"

namespace pigtail::replay {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::GenerateLog;
using testing::LogSpec;
using testing::TempDir;
using testing::WriteJsonl;
using testing::WriteJsonlLog;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `f(db, handle)` on the raw `family` ("queues", "tasks", ...) of the
// closed state store rocksdb:`path` (in PATH/state).
template <typename F>
void WithRawFamily(const std::string& path, const std::string& family, F&& f) {
  rocksdb::DBOptions options;
  std::vector<std::string> families;
  const std::string dir = path + "/state";
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &families).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : families) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, descriptors, &handles, &db).ok());
  size_t index = families.size();
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i] == family) index = i;
  }
  EXPECT_LT(index, families.size());
  if (index < families.size()) f(db, handles[index]);
  for (rocksdb::ColumnFamilyHandle* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  EXPECT_TRUE(db->Close().ok());
  delete db;
}

// Registers in a State: queue registers, task registers, rejected ones.
uint64_t RegisterCount(const State& state) {
  uint64_t n = state.rejected().size();
  for (const auto& [name, slot] : state.queues()) n += (slot.record ? 1 : 0) + slot.tasks.size();
  return n;
}

// The task `n` in id order of `queue`.
TaskRecord NthTask(const State& state, const std::string& queue, size_t n) {
  std::vector<TaskRecord> tasks;
  for (const auto& [id, t] : state.queues().at(queue).tasks) tasks.push_back(t);
  std::sort(tasks.begin(), tasks.end(),
            [](const TaskRecord& a, const TaskRecord& b) { return a.id < b.id; });
  return tasks.at(n);
}

// A started pigtail-replay process with stdout and stderr in files.
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::string& dir) {
    out_path_ = dir + "/stdout." + std::to_string(counter_);
    err_path_ = dir + "/stderr." + std::to_string(counter_++);
    pid_ = ::fork();
    if (pid_ == 0) {
      int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> argv;
      std::string binary = PIGTAIL_REPLAY_BINARY;
      argv.push_back(binary.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Waits up to `timeout` for exit; returns the exit code, or -1 on timeout
  // (the process is then killed by its PID), or 128+signal.
  int Wait(std::chrono::milliseconds timeout = 120s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(5ms);
    }
    return -1;
  }
  void Kill() { ::kill(pid_, SIGKILL); }
  pid_t pid() const { return pid_; }
  std::string out() const { return ReadFile(out_path_); }
  std::string err() const { return ReadFile(err_path_); }

 private:
  inline static int counter_ = 0;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string out_path_;
  std::string err_path_;
};

// A generated log written to DIR/log.jsonl, and the State it projects to.
struct WrittenLog {
  WrittenLog(const std::string& dir, uint64_t count, uint64_t seed)
      : events(GenerateLog({.events = count, .seed = seed})), path(dir + "/log.jsonl") {
    WriteJsonl(events, path);
    for (const Event& e : events) ApplyEvent(e, &expected);
  }
  std::vector<Event> events;
  std::string path;
  State expected;
};

class ReplayCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir("cli"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs to completion; returns the exit code.
  int Run(const std::vector<std::string>& args, std::string* out = nullptr,
          std::string* err = nullptr) {
    Process p(args, dir_);
    int code = p.Wait();
    if (out != nullptr) *out = p.out();
    if (err != nullptr) *err = p.err();
    return code;
  }
  json::object RunJson(const std::vector<std::string>& args, int want_code) {
    std::string out, err;
    int code = Run(args, &out, &err);
    EXPECT_EQ(code, want_code) << err;
    boost::system::error_code ec;
    json::value v = json::parse(out, ec);
    EXPECT_FALSE(ec) << out;
    return v.is_object() ? v.get_object() : json::object();
  }
  static std::string Str(const json::value& v) { return std::string(v.as_string()); }

  std::string dir_;
};

TEST_F(ReplayCliTest, UsageErrorsExitTwo) {
  std::string err;
  EXPECT_EQ(Run({}, nullptr, &err), 2);
  EXPECT_NE(err.find("no command"), std::string::npos);
  EXPECT_EQ(Run({"frobnicate"}, nullptr, &err), 2);
  EXPECT_NE(err.find("unknown command"), std::string::npos);
  EXPECT_EQ(Run({"rebuild", "--into", "memory:"}, nullptr, &err), 2);
  EXPECT_NE(err.find("needs --from"), std::string::npos);
  EXPECT_EQ(Run({"rebuild", "--from", "memory:", "--into", "memory:", "--corrupt", "maybe"},
                nullptr, &err),
            2);
  EXPECT_NE(err.find("maybe"), std::string::npos);
  EXPECT_EQ(Run({"verify", "--log", "memory:", "--state", "memory:", "--bogus"}, nullptr, &err), 2);
  EXPECT_EQ(Run({"compare", "memory:"}, nullptr, &err), 2);
  EXPECT_EQ(Run({"rebuild", "--from", "memory:", "--into", "memory:", "--rocksdb-memory-mb", "4"},
                nullptr, &err),
            2);
  EXPECT_NE(err.find("--rocksdb-memory-mb must be 8 to 1073741824, not 4"), std::string::npos)
      << err;
  std::string out;
  EXPECT_EQ(Run({"help"}, &out), 0);
  EXPECT_NE(out.find("rebuild"), std::string::npos);
}

TEST_F(ReplayCliTest, ReadAheadGivesTheSameStateAtAnyDepth) {
  auto&& [events, log, expected] = WrittenLog(dir_, 6000, 37);
  for (const char* depth : {"0", "1", "5"}) {
    json::object r = RunJson(
        {"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + dir_ + "/state" + depth,
         "--batch", "500", "--commit-every", "1000", "--read-ahead", depth, "--json"},
        0);
    EXPECT_EQ(Str(r["replay"].at("digest")), expected.total_digest().ToHex()) << depth;
    EXPECT_EQ(r["replay"].at("events").to_number<uint64_t>(), events.size()) << depth;
  }
  std::string err;
  EXPECT_EQ(Run({"rebuild", "--from", "jsonl:" + log, "--into", "memory:", "--read-ahead", "-1"},
                nullptr, &err),
            2);
  EXPECT_NE(err.find("--read-ahead needs a non-negative integer"), std::string::npos) << err;
}

TEST_F(ReplayCliTest, OverlappedCommitsGiveTheSameState) {
  auto&& [events, log, expected] = WrittenLog(dir_, 6000, 41);
  for (const char* overlap : {"on", "off"}) {
    // A small budget, so that tasks leave memory and are read back while
    // commits are in flight.
    json::object r =
        RunJson({"rebuild", "--from", "jsonl:" + log, "--into",
                 "rocksdb:" + dir_ + "/state-" + overlap, "--batch", "200", "--commit-every", "600",
                 "--memory-budget-mb", "1", "--overlap-commits", overlap, "--json"},
                0);
    EXPECT_EQ(Str(r["replay"].at("digest")), expected.total_digest().ToHex()) << overlap;
    EXPECT_GT(r["replay"].at("commits").to_number<uint64_t>(), 5u) << overlap;
    EXPECT_EQ(r["overlap_commits"].as_bool(), overlap == std::string("on"));
  }
  // auto: off into RocksDB (PostgreSQL: replay_blue_green_postgres_test).
  json::object r = RunJson(
      {"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + dir_ + "/state-auto", "--json"},
      0);
  EXPECT_FALSE(r["overlap_commits"].as_bool());
  std::string err;
  EXPECT_EQ(Run({"rebuild", "--from", "jsonl:" + log, "--into", "memory:", "--overlap-commits",
                 "sometimes"},
                nullptr, &err),
            2);
  EXPECT_NE(err.find("--overlap-commits must be auto, on or off, not \"sometimes\""),
            std::string::npos)
      << err;
}

TEST_F(ReplayCliTest, UnreadableInputFailsWithExitThree) {
  std::string err;
  EXPECT_EQ(
      Run({"rebuild", "--from", "jsonl:" + dir_ + "/missing", "--into", "memory:"}, nullptr, &err),
      3);
  EXPECT_NE(err.find("missing"), std::string::npos);
}

TEST_F(ReplayCliTest, RebuildVerifyAndCatchATamperedRegister) {
  auto&& [events, log, expected] = WrittenLog(dir_, 4000, 31);
  std::string state_uri = "rocksdb:" + dir_ + "/state";

  json::object r = RunJson({"rebuild", "--from", "jsonl:" + log, "--into", state_uri, "--json"}, 0);
  EXPECT_EQ(Str(r["replay"].at("digest")), expected.total_digest().ToHex());
  EXPECT_EQ(r["replay"].at("events").to_number<uint64_t>(), events.size());

  json::object v = RunJson({"verify", "--log", "jsonl:" + log, "--state", state_uri, "--json"}, 0);
  EXPECT_EQ(v["difference_count"].to_number<uint64_t>(), 0u);

  TaskRecord victim;
  {
    auto store = OpenStateStore(state_uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const auto& tasks = expected.queues().at("queue-3").tasks;
    victim = std::next(tasks.begin(), tasks.size() / 3)->second;
    victim.status.key.lease += 1000;
    // Write it through the normal path, digests and all, as a buggy writer
    // would.
    State tampered;
    tampered.set_track_changes(false);
    for (const Event& e : events) ApplyEvent(e, &tampered);
    tampered.set_track_changes(true);
    tampered.PutTask(victim);
    StateBatch batch = tampered.TakeChanges((*store)->Checkpoint().value());
    ASSERT_EQ(batch.tasks.size(), 1u);
    ASSERT_TRUE((*store)->Commit(batch, true).ok());
  }
  std::string out;
  EXPECT_EQ(Run({"verify", "--log", "jsonl:" + log, "--state", state_uri}, &out), 1);
  EXPECT_NE(out.find("task queue-3/" + victim.id.ToString()), std::string::npos) << out;
  // The register, and the digests of its queue and of the whole state.
  EXPECT_NE(out.find("3 differences"), std::string::npos) << out;
  json::object bad =
      RunJson({"verify", "--log", "jsonl:" + log, "--state", state_uri, "--json"}, 1);
  ASSERT_EQ(bad["difference_count"].to_number<uint64_t>(), 3u);
  const json::object& d = bad["differences"].as_array()[0].as_object();
  EXPECT_EQ(Str(d.at("id")), victim.id.ToString());
  EXPECT_EQ(d.at("expected").at("status").at("lease").to_number<uint64_t>() + 1000,
            d.at("actual").at("status").at("lease").to_number<uint64_t>());

  // compare narrows the same difference down.
  std::string clean_uri = "rocksdb:" + dir_ + "/clean";
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", clean_uri, "--bulk", "--json"}, 0);
  json::object c = RunJson({"compare", clean_uri, state_uri, "--json"}, 1);
  EXPECT_FALSE(c["agree"].as_bool());
  const json::object& pair = c["differences"].as_array()[0].as_object();
  EXPECT_EQ(pair.at("queues").as_array().size(), 1u);
  EXPECT_EQ(Str(pair.at("queues").as_array()[0]), "queue-3");
  EXPECT_EQ(Str(pair.at("ranges").as_array()[0].at("range")), victim.id.ToString().substr(0, 2));
  EXPECT_EQ(Str(pair.at("registers").as_array()[0].at("id")), victim.id.ToString());
}

TEST_F(ReplayCliTest, CorruptionPolicies) {
  std::vector<Event> events = GenerateLog({.events = 300, .seed = 32});
  std::string log = dir_ + "/log.jsonl";
  {
    std::ofstream out(log, std::ios::binary);
    for (size_t i = 0; i < events.size(); ++i) {
      out << (i == 122 ? std::string("{\"id\": garbage") : events[i].raw) << "\n";
    }
  }
  std::string err;
  EXPECT_EQ(Run({"rebuild", "--from", "jsonl:" + log, "--into", "memory:"}, nullptr, &err), 3);
  EXPECT_NE(err.find("line 123:"), std::string::npos) << err;

  json::object r = RunJson(
      {"rebuild", "--from", "jsonl:" + log, "--into", "memory:", "--corrupt", "skip", "--json"}, 0);
  EXPECT_EQ(r["corruption"].at("skipped").to_number<uint64_t>(), 1u);
  EXPECT_EQ(r["corruption"].at("first").as_array()[0].at("position").to_number<uint64_t>(), 123u);
  State valid;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i != 122) ApplyEvent(events[i], &valid);
  }
  EXPECT_EQ(Str(r["replay"].at("digest")), valid.total_digest().ToHex());
}

TEST_F(ReplayCliTest, ResumeAfterSigkillMatchesAnUninterruptedRun) {
  LogSpec spec{.events = 300'000, .seed = 33};
  std::string log = dir_ + "/big.jsonl";
  WriteJsonlLog(spec, log);
  std::string uri = "rocksdb:" + dir_ + "/state";
  std::vector<std::string> args = {"rebuild", "--from",         "jsonl:" + log, "--into",
                                   uri,       "--commit-every", "5000",         "--batch",
                                   "1000",    "--json",         "--progress"};
  {
    Process p(args, dir_);
    // Wait until it has committed a few times (its progress line shows the
    // events applied), then kill it by PID.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    bool killed = false;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string err = p.err();
      size_t at = err.rfind("rebuild: ");
      if (at != std::string::npos) {
        std::string number;
        for (size_t i = at + 9; i < err.size() && (std::isdigit(err[i]) || err[i] == ','); ++i) {
          if (err[i] != ',') number += err[i];
        }
        if (!number.empty() && std::stoull(number) >= 30'000) {
          p.Kill();
          killed = true;
          break;
        }
      }
      std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(killed) << "the rebuild never reached 30,000 events";
    EXPECT_EQ(p.Wait(10s), 128 + SIGKILL);
  }
  uint64_t checkpoint = 0;
  {
    auto store = OpenStateStore(uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    checkpoint = (*store)->Checkpoint().value();
  }
  EXPECT_GT(checkpoint, 0u);
  EXPECT_LT(checkpoint, spec.events) << "killed too late to test resuming";

  json::object r = RunJson(args, 0);
  EXPECT_EQ(r["replay"].at("resumed_after").to_number<uint64_t>(), checkpoint);
  EXPECT_EQ(r["replay"].at("events").to_number<uint64_t>(), spec.events - checkpoint);

  json::object fresh = RunJson(
      {"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + dir_ + "/fresh", "--json"}, 0);
  EXPECT_EQ(Str(r["replay"].at("digest")), Str(fresh["replay"].at("digest")));
  // Register by register, the resumed store equals a rebuild from the log.
  json::object v = RunJson({"verify", "--log", "jsonl:" + log, "--state", uri, "--json"}, 0);
  EXPECT_EQ(v["difference_count"].to_number<uint64_t>(), 0u);
}

TEST_F(ReplayCliTest, ImportExportAndMerge) {
  std::vector<Event> events = GenerateLog({.events = 2000, .owners = 3, .seed = 34});
  std::string all = dir_ + "/all.jsonl";
  WriteJsonl(events, all);
  std::string log_uri = "rocksdb:" + dir_ + "/log";
  json::object imp = RunJson({"import", "--from", "jsonl:" + all, "--into", log_uri, "--json"}, 0);
  EXPECT_EQ(imp["added"].to_number<uint64_t>(), events.size());
  std::string exported = dir_ + "/exported.jsonl";
  EXPECT_EQ(Run({"export", "--from", log_uri, "--out", exported}), 0);
  EXPECT_EQ(ReadFile(exported), ReadFile(all));
  std::string to_stdout;
  EXPECT_EQ(Run({"export", "--from", log_uri}, &to_stdout), 0);
  EXPECT_EQ(to_stdout, ReadFile(all));

  std::vector<Event> a(events.begin(), events.begin() + 1200);
  std::vector<Event> b(events.begin() + 800, events.end());
  WriteJsonl(a, dir_ + "/a.jsonl");
  WriteJsonl(b, dir_ + "/b.jsonl");
  json::object m = RunJson(
      {"merge", "--from", "jsonl:" + dir_ + "/a.jsonl", "--from", "jsonl:" + dir_ + "/b.jsonl",
       "--into-log", "rocksdb:" + dir_ + "/m", "--into-state", "rocksdb:" + dir_ + "/ms", "--json"},
      0);
  EXPECT_EQ(m["events"].to_number<uint64_t>(), events.size());
  EXPECT_EQ(m["inputs"].as_array()[1].at("duplicates").to_number<uint64_t>(), 400u);
  uint64_t owner_total = 0;
  for (const json::value& o : m["owners"].as_array()) {
    owner_total += o.at("events").to_number<uint64_t>();
    EXPECT_TRUE(o.at("holes").as_array().empty());
  }
  EXPECT_EQ(owner_total, events.size());
  State expected;
  for (const Event& e : events) ApplyEvent(e, &expected);
  EXPECT_EQ(Str(m["replay"].at("digest")), expected.total_digest().ToHex());
}

// A log whose entries hold line breaks between tokens exports (it used to
// stop at the first such entry), and the dump imports, merges and rebuilds
// byte for byte.
TEST_F(ReplayCliTest, EntriesWithLineBreaksExportAndImportExactly) {
  std::vector<Event> events = GenerateLog({.events = 50, .seed = 36});
  std::vector<std::string> odd = {
      "{\n  \"id\": \"0a000000-0000-4000-8000-000000000001\",\r\n  \"owner\": "
      "\"6f1c0a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6\",\n  \"prev\": null,\n  \"when\": "
      "[0,[1558805131923316000],0],\n  \"data\": {\"s\": \"caf\\u00e9 ☃\", \"n\": 1e3}\n}",
      "{\"id\":\"0a000000-0000-4000-8000-000000000002\",\"owner\":"
      "\"6f1c0a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6\",\"prev\":\"0a000000-0000-4000-8000-000000000001\","
      "\"when\":{\"epoch\":0,\"time\":1558805131923317000,\"count\":0},\r\"data\":\"\\r\"}",
  };
  for (const std::string& text : odd) events.insert(events.begin() + 10, *ParseEvent(text));
  const std::string log_uri = "rocksdb:" + dir_ + "/log";
  {
    auto store = OpenEventStore(log_uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Append(events, true).ok());
  }
  const std::string dump = dir_ + "/dump.jsonl";
  std::string err;
  ASSERT_EQ(Run({"export", "--from", log_uri, "--out", dump}, nullptr, &err), 0) << err;
  std::string text = ReadFile(dump);
  std::string want;
  for (const Event& e : events) {
    want += e.raw.find_first_of("\r\n") == std::string::npos
                ? e.raw
                : boost::json::serialize(boost::json::string(e.raw));
    want += "\n";
  }
  EXPECT_EQ(text, want);

  const std::string copy_uri = "rocksdb:" + dir_ + "/copy";
  json::object imp =
      RunJson({"import", "--from", "jsonl:" + dump, "--into", copy_uri, "--json"}, 0);
  EXPECT_EQ(imp["added"].to_number<uint64_t>(), events.size());
  const std::string again = dir_ + "/again.jsonl";
  ASSERT_EQ(Run({"export", "--from", copy_uri, "--out", again}), 0);
  EXPECT_EQ(ReadFile(again), text);
  {
    auto store = OpenEventStore(copy_uri);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (const Event& e : events) EXPECT_EQ((*store)->Get(e.id)->value().event.raw, e.raw);
  }
  json::object m = RunJson({"merge", "--from", "jsonl:" + dump, "--from", log_uri, "--into-log",
                            "rocksdb:" + dir_ + "/m", "--json"},
                           0);
  EXPECT_EQ(m["events"].to_number<uint64_t>(), events.size());
  json::object r = RunJson(
      {"rebuild", "--from", "jsonl:" + dump, "--into", "rocksdb:" + dir_ + "/s", "--json"}, 0);
  State expected;
  for (const Event& e : events) ApplyEvent(e, &expected);
  EXPECT_EQ(Str(r["replay"].at("digest")), expected.total_digest().ToHex());
}

TEST_F(ReplayCliTest, BlueGreenSwitchesOnlyAfterVerifying) {
  std::vector<Event> events = GenerateLog({.events = 2000, .seed = 35});
  std::string log = dir_ + "/log.jsonl";
  WriteJsonl(events, log);
  std::string live = dir_ + "/live";
  // The live state is an older rebuild of the first half.
  std::vector<Event> half(events.begin(), events.begin() + 1000);
  WriteJsonl(half, dir_ + "/half.jsonl");
  RunJson(
      {"rebuild", "--from", "jsonl:" + dir_ + "/half.jsonl", "--into", "rocksdb:" + live, "--json"},
      0);
  json::object r = RunJson(
      {"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + live, "--blue-green", "--json"},
      0);
  EXPECT_TRUE(r["switched"].as_bool());
  std::string previous = Str(r["previous"]);
  ASSERT_TRUE(previous.starts_with("rocksdb:" + live + ".previous-")) << previous;
  EXPECT_FALSE(std::filesystem::exists(live + ".rebuild"));
  State full;
  for (const Event& e : events) ApplyEvent(e, &full);
  State first_half;
  for (const Event& e : half) ApplyEvent(e, &first_half);
  {
    auto now_live = OpenStateStore("rocksdb:" + live);
    ASSERT_TRUE(now_live.ok());
    EXPECT_EQ((*now_live)->Digests()->total, full.total_digest());
  }
  auto old = OpenStateStore(previous);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ((*old)->Digests()->total, first_half.total_digest());

  std::string err;
  EXPECT_EQ(Run({"rebuild", "--from", "jsonl:" + log, "--into", "memory:", "--blue-green"}, nullptr,
                &err),
            2);
  EXPECT_NE(err.find("rocksdb:PATH"), std::string::npos);
}

TEST_F(ReplayCliTest, VerifyReportsAnUndecodableRegisterWithItsKeyAndGoesOn) {
  auto&& [events, log, expected] = WrittenLog(dir_, 4000, 41);
  const std::string path = dir_ + "/state";
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + path, "--json"}, 0);

  // One byte changed in a register of queue-1 (it no longer decodes), one
  // register of queue-2 removed, through the raw RocksDB API.
  const TaskRecord damaged = NthTask(expected, "queue-1", 5);
  const TaskRecord removed = NthTask(expected, "queue-2", 7);
  WithRawFamily(path, "tasks", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* tasks) {
    std::string value;
    ASSERT_TRUE(db->Get({}, tasks, rocks::TaskKey("queue-1", damaged.id), &value).ok());
    value[0] = static_cast<char>(0xff);
    ASSERT_FALSE(DecodeTaskRecord(value).ok());
    ASSERT_TRUE(db->Put({}, tasks, rocks::TaskKey("queue-1", damaged.id), value).ok());
    ASSERT_TRUE(db->Delete({}, tasks, rocks::TaskKey("queue-2", removed.id)).ok());
  });

  json::object v =
      RunJson({"verify", "--log", "jsonl:" + log, "--state", "rocksdb:" + path, "--json"}, 1);
  bool saw_damaged = false;
  bool saw_removed = false;
  for (const json::value& d : v["differences"].as_array()) {
    const json::object& o = d.as_object();
    if (!o.contains("id")) continue;
    if (Str(o.at("id")) == damaged.id.ToString()) {
      saw_damaged = true;
      EXPECT_EQ(Str(o.at("queue")), "queue-1");
      EXPECT_TRUE(o.at("actual").is_null());
      EXPECT_NE(Str(o.at("undecodable")).find("decode"), std::string::npos) << o;
    }
    if (Str(o.at("id")) == removed.id.ToString()) {
      saw_removed = true;
      EXPECT_TRUE(o.at("actual").is_null());
      EXPECT_FALSE(o.contains("undecodable"));
    }
  }
  EXPECT_TRUE(saw_damaged) << json::serialize(v);
  EXPECT_TRUE(saw_removed) << json::serialize(v);
  EXPECT_EQ(v["undecodable_registers"].to_number<uint64_t>(), 1u);
  // Both sides counted, each register once.
  const uint64_t registers = RegisterCount(expected);
  EXPECT_EQ(v["registers_expected"].to_number<uint64_t>(), registers);
  EXPECT_EQ(v["registers_stored"].to_number<uint64_t>(), registers - 1);
  EXPECT_EQ(v["registers_compared"].to_number<uint64_t>(), registers);

  std::string out;
  EXPECT_EQ(Run({"verify", "--log", "jsonl:" + log, "--state", "rocksdb:" + path}, &out), 1);
  EXPECT_NE(out.find("task queue-1/" + damaged.id.ToString() + ": expected {"), std::string::npos)
      << out;
  EXPECT_NE(out.find("actual (does not decode: "), std::string::npos) << out;
  EXPECT_NE(out.find(std::to_string(registers) + " registers compared (" +
                     std::to_string(registers) + " from the log, " + std::to_string(registers - 1) +
                     " in the store, 1 of them undecodable"),
            std::string::npos)
      << out;
}

TEST_F(ReplayCliTest, VerifyReportsAnUndecodableQueueRegister) {
  auto&& [events, log, expected] = WrittenLog(dir_, 2000, 46);
  const std::string path = dir_ + "/state";
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + path, "--json"}, 0);
  WithRawFamily(path, "queues", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* queues) {
    ASSERT_TRUE(db->Put({}, queues, "queue-0", "\xff\xff").ok());
  });
  json::object v =
      RunJson({"verify", "--log", "jsonl:" + log, "--state", "rocksdb:" + path, "--json"}, 1);
  // Only that register differs: the tasks of every queue were still compared.
  ASSERT_EQ(v["difference_count"].to_number<uint64_t>(), 1u) << json::serialize(v);
  const json::object& d = v["differences"].as_array()[0].as_object();
  EXPECT_EQ(Str(d.at("kind")), "queue");
  EXPECT_EQ(Str(d.at("queue")), "queue-0");
  EXPECT_TRUE(d.contains("undecodable"));
  EXPECT_EQ(v["registers_compared"].to_number<uint64_t>(), RegisterCount(expected));
}

TEST_F(ReplayCliTest, VerifyReportsUndecodableRegistersUnderIdsTheLogDoesNotHave) {
  auto&& [events, log, expected] = WrittenLog(dir_, 2000, 47);
  const std::string path = dir_ + "/state";
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + path, "--json"}, 0);
  // Garbage under the smallest id in queue-1 (registers follow it) and the
  // largest in queue-2 (none follow it).
  std::array<uint8_t, Uuid::kSize> low{};
  std::array<uint8_t, Uuid::kSize> high{};
  high.fill(0xff);
  WithRawFamily(path, "tasks", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* tasks) {
    ASSERT_TRUE(db->Put({}, tasks, rocks::TaskKey("queue-1", Uuid(low)), "\xff").ok());
    ASSERT_TRUE(db->Put({}, tasks, rocks::TaskKey("queue-2", Uuid(high)), "\xff").ok());
  });
  json::object v =
      RunJson({"verify", "--log", "jsonl:" + log, "--state", "rocksdb:" + path, "--json"}, 1);
  ASSERT_EQ(v["difference_count"].to_number<uint64_t>(), 2u) << json::serialize(v);
  EXPECT_EQ(v["undecodable_registers"].to_number<uint64_t>(), 2u);
  for (const json::value& d : v["differences"].as_array()) {
    EXPECT_FALSE(d.as_object().contains("id"));
    EXPECT_NE(Str(d.at("undecodable")).find("an id the log does not have"), std::string::npos);
  }
  EXPECT_EQ(Str(v["differences"].as_array()[0].at("queue")), "queue-1");
  EXPECT_EQ(Str(v["differences"].as_array()[1].at("queue")), "queue-2");
  EXPECT_EQ(v["registers_expected"].to_number<uint64_t>(), RegisterCount(expected));
  EXPECT_EQ(v["registers_stored"].to_number<uint64_t>(), RegisterCount(expected) + 2);
}

TEST_F(ReplayCliTest, VerifyCountsRegistersOnBothSides) {
  // The store lacks most of what the log has (it holds the first tenth).
  std::vector<Event> events = GenerateLog({.events = 3000, .seed = 42});
  std::string log = dir_ + "/log.jsonl";
  WriteJsonl(events, log);
  std::vector<Event> tenth(events.begin(), events.begin() + 300);
  WriteJsonl(tenth, dir_ + "/tenth.jsonl");
  State expected, stored;
  for (const Event& e : events) ApplyEvent(e, &expected);
  for (const Event& e : tenth) ApplyEvent(e, &stored);
  const std::string uri = "rocksdb:" + dir_ + "/state";
  RunJson({"rebuild", "--from", "jsonl:" + dir_ + "/tenth.jsonl", "--into", uri, "--json"}, 0);
  json::object v = RunJson({"verify", "--log", "jsonl:" + log, "--state", uri, "--json"}, 1);
  EXPECT_EQ(v["registers_expected"].to_number<uint64_t>(), RegisterCount(expected));
  EXPECT_EQ(v["registers_stored"].to_number<uint64_t>(), RegisterCount(stored));
  // Every register of the tenth is one of the whole log's.
  EXPECT_EQ(v["registers_compared"].to_number<uint64_t>(), RegisterCount(expected));
  EXPECT_GE(v["registers_compared"].to_number<uint64_t>(),
            v["difference_count"].to_number<uint64_t>() - 1 - 4)  // digests: total, 4 queues
      << json::serialize(v);
}

TEST_F(ReplayCliTest, CompareRecomputesDigestsAndCatchesARegisterChangedByHand) {
  auto&& [events, log, expected] = WrittenLog(dir_, 3000, 43);
  const std::string clean = "rocksdb:" + dir_ + "/clean";
  const std::string path = dir_ + "/tampered";
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", clean, "--json"}, 0);
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + path, "--json"}, 0);
  // A register rewritten by hand, valid but different; the stored digests
  // are left as they were.
  TaskRecord victim = NthTask(expected, "queue-2", 3);
  victim.status.key.lease += 7;
  WithRawFamily(path, "tasks", [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* tasks) {
    ASSERT_TRUE(
        db->Put({}, tasks, rocks::TaskKey("queue-2", victim.id), EncodeTaskRecord(victim)).ok());
  });

  json::object c = RunJson({"compare", clean, "rocksdb:" + path, "--json"}, 1);
  EXPECT_FALSE(c["agree"].as_bool());
  const json::array& digests = c["digests"].as_array();
  EXPECT_EQ(Str(digests[0].at("digests_from")), "registers");
  EXPECT_FALSE(digests[0].as_object().contains("stored_total"));
  EXPECT_EQ(Str(digests[1].at("stored_total")), expected.total_digest().ToHex());
  EXPECT_EQ(Str(digests[1].at("stored_digests_differ_in").as_array()[0]), "queue-2");
  const json::object& pair = c["differences"].as_array()[0].as_object();
  EXPECT_EQ(Str(pair.at("queues").as_array()[0]), "queue-2");
  EXPECT_EQ(Str(pair.at("registers").as_array()[0].at("id")), victim.id.ToString());
  std::string out;
  EXPECT_EQ(Run({"compare", clean, "rocksdb:" + path}, &out), 1);
  EXPECT_NE(out.find("recomputed from the registers"), std::string::npos) << out;
  EXPECT_NE(out.find("its stored digests do not match its registers"), std::string::npos) << out;

  // Trusting the stored digests misses it, and says that is what it did.
  json::object trusted =
      RunJson({"compare", clean, "rocksdb:" + path, "--digests", "stored", "--json"}, 0);
  EXPECT_TRUE(trusted["agree"].as_bool());
  EXPECT_EQ(Str(trusted["digests"].as_array()[1].at("digests_from")), "stored");
  EXPECT_EQ(Run({"compare", clean, clean, "--digests", "maybe"}), 2);
}

TEST_F(ReplayCliTest, ReadingToolsCreateNoStore) {
  std::vector<Event> events = GenerateLog({.events = 200, .seed = 44});
  std::string log = dir_ + "/log.jsonl";
  WriteJsonl(events, log);
  const std::string missing = dir_ + "/doesnotexist";
  std::string err;
  EXPECT_EQ(Run({"rebuild", "--from", "rocksdb:" + missing, "--into", "memory:"}, nullptr, &err),
            3);
  EXPECT_NE(err.find("no Pigtail log at rocksdb:" + missing), std::string::npos) << err;
  EXPECT_EQ(
      Run({"verify", "--log", "jsonl:" + log, "--state", "rocksdb:" + missing}, nullptr, &err), 3);
  EXPECT_NE(err.find("no Pigtail state at rocksdb:" + missing), std::string::npos) << err;
  EXPECT_EQ(Run({"export", "--from", "rocksdb:" + missing}, nullptr, &err), 3);
  EXPECT_EQ(Run({"compare", "rocksdb:" + missing, "rocksdb:" + missing}, nullptr, &err), 3);
  EXPECT_EQ(Run({"import", "--from", "rocksdb:" + missing, "--into", "memory:"}, nullptr, &err), 3);
  EXPECT_FALSE(std::filesystem::exists(missing));

  // A store with a state but no log is not a log either.
  const std::string state_only = dir_ + "/state_only";
  RunJson({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + state_only, "--json"}, 0);
  EXPECT_EQ(Run({"export", "--from", "rocksdb:" + state_only}, nullptr, &err), 3);
  EXPECT_NE(err.find("holds no database"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(state_only + "/log"));

  // Writers create a store only inside an existing directory.
  EXPECT_EQ(Run({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + dir_ + "/no/such/dir"},
                nullptr, &err),
            3);
  EXPECT_NE(err.find("the directory " + dir_ + "/no/such does not exist"), std::string::npos)
      << err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/no"));
}

TEST_F(ReplayCliTest, BlueGreenRefusesADirectoryThatHoldsALog) {
  // pigtaild's default layout: log and state under one rocksdb:PATH.
  std::vector<Event> events = GenerateLog({.events = 1000, .seed = 45});
  std::string log = dir_ + "/log.jsonl";
  WriteJsonl(events, log);
  const std::string node = dir_ + "/node";
  RunJson({"import", "--from", "jsonl:" + log, "--into", "rocksdb:" + node, "--json"}, 0);
  RunJson({"rebuild", "--from", "rocksdb:" + node, "--into", "rocksdb:" + node, "--json"}, 0);
  std::string err;
  EXPECT_EQ(Run({"rebuild", "--from", "jsonl:" + log, "--into", "rocksdb:" + node, "--blue-green"},
                nullptr, &err),
            2);
  EXPECT_NE(err.find("holds a log"), std::string::npos) << err;
  // Nothing moved, nothing staged: the node's log and state are where they were.
  EXPECT_TRUE(std::filesystem::exists(node + "/log/CURRENT"));
  EXPECT_TRUE(std::filesystem::exists(node + "/state/CURRENT"));
  EXPECT_FALSE(std::filesystem::exists(node + ".rebuild"));
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find("node.previous"), std::string::npos);
  }
  json::object v =
      RunJson({"verify", "--log", "rocksdb:" + node, "--state", "rocksdb:" + node, "--json"}, 0);
  EXPECT_EQ(v["replay"].at("events").to_number<uint64_t>(), events.size());
}

TEST_F(ReplayCliTest, PeakMemoryStaysFarBelowTheLogSize) {
  // A long log over a small state: 300,000 events touching 64 tasks.
  LogSpec spec{.events = 300'000, .seed = 36, .hot_tasks = 64};
  std::string log = dir_ + "/long.jsonl";
  WriteJsonlLog(spec, log);
  uint64_t log_bytes = std::filesystem::file_size(log);
  ASSERT_GT(log_bytes, 80u << 20);
  auto peak_rss = [&](const char* overlap) {
    json::object r =
        RunJson({"rebuild", "--from", "jsonl:" + log, "--into", "memory:", "--memory-budget-mb",
                 "4", "--batch", "2048", "--overlap-commits", overlap, "--json"},
                0);
    EXPECT_EQ(r["replay"].at("events").to_number<uint64_t>(), spec.events);
    uint64_t peak = r["peak_rss_kb"].to_number<uint64_t>() * 1024;
    std::printf("log %.1f MiB, overlapped commits %s: peak RSS %.1f MiB\n", log_bytes / 1048576.0,
                overlap, peak / 1048576.0);
    return peak;
  };
  const uint64_t peak = peak_rss("off");
  RecordProperty("log_bytes", std::to_string(log_bytes));
  RecordProperty("peak_rss_bytes", std::to_string(peak));
  EXPECT_LT(peak, log_bytes / 3);
  // The committing thread adds its own malloc arena (about 2 MiB), not
  // memory that grows with the log.
  EXPECT_LT(peak_rss("on"), peak + (4u << 20));
}

}  // namespace
}  // namespace pigtail::replay

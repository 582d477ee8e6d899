// pigtail-replay against REAL running pigtaild processes (127.0.0.1, free
// ports, stopped by PID): rebuild from a live node over the Potboiler walk
// (GET /log/first, then GET /log/{id} along `next`), and compare nodes by
// their GET /digest, including a node whose state differs in one queue;
// how pigtaild and pigtail-replay report a store another process holds, and
// where pigtaild creates a new store.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/uuid.h"
#include "tests/server/pigtaild_process.h"

namespace pigtail {
namespace {

using testing::JsonBody;
using testing::PigtaildProcess;
using testing::RunToExit;

std::string Str(const boost::json::value& v, std::string_view key) {
  const boost::json::object* o = v.if_object();
  const boost::json::value* field = o != nullptr ? o->if_contains(key) : nullptr;
  return field != nullptr && field->is_string() ? std::string(field->as_string()) : "";
}

class LiveNodeReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("replay_live");
    for (const char* name : {"a", "b"}) {
      PigtaildProcess& node = std::string(name) == "a" ? a_ : b_;
      ASSERT_TRUE(
          node.Start({"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/" + name})
              .ok());
    }
  }
  void TearDown() override {
    a_.Kill();
    b_.Kill();
    std::filesystem::remove_all(dir_);
  }

  // Copies every entry of `from` to `to` with POST /log/other, following the
  // Potboiler walk. Returns the number copied.
  size_t CopyLog(PigtaildProcess& from, PigtaildProcess& to) {
    boost::json::value firsts = JsonBody(from.Call("GET", "/log/first"));
    size_t copied = 0;
    for (const auto& [owner, first] : firsts.as_object()) {
      std::string id(first.as_string());
      for (int guard = 0; guard < 10'000 && !id.empty(); ++guard) {
        HttpResponse entry = from.Call("GET", "/log/" + id);
        EXPECT_EQ(entry.status, 200);
        EXPECT_EQ(to.Call("POST", "/log/other", entry.body).status, 200);
        ++copied;
        id = Str(JsonBody(entry), "next");
      }
    }
    return copied;
  }

  boost::json::object ReplayJson(std::vector<std::string> args, int want_code) {
    args.push_back("--json");
    testing::ExitResult r = RunToExit(PIGTAIL_REPLAY_BINARY, args, dir_);
    EXPECT_EQ(r.code, want_code) << r.err;
    boost::json::value v = JsonBody(HttpResponse{200, {}, r.out});
    EXPECT_TRUE(v.is_object()) << r.out << r.err;
    return v.is_object() ? v.as_object() : boost::json::object();
  }

  std::string dir_;
  PigtaildProcess a_{PIGTAILD_PATH};
  PigtaildProcess b_{PIGTAILD_PATH};
};

TEST_F(LiveNodeReplayTest, RebuildFromANodeAndCompareNodes) {
  // The seed's flow on node a.
  ASSERT_EQ(a_.Call("POST", "/create", R"({"name":"jobs","timeout_ms":30000})").status, 201);
  ASSERT_EQ(a_.Call("POST", "/create", R"({"name":"mail","timeout_ms":30000})").status, 201);
  std::vector<std::string> tasks;
  for (int i = 0; i < 5; ++i) {
    HttpResponse add = a_.Call("POST", i % 2 == 0 ? "/queue/jobs" : "/queue/mail",
                               "{\"task_name\":\"t" + std::to_string(i) + "\",\"info\":{}}");
    ASSERT_EQ(add.status, 201);
    tasks.push_back(Str(JsonBody(add), "id"));
  }
  const std::string worker = "{\"worker_id\":\"" + Uuid::Random().ToString() + "\"}";
  ASSERT_EQ(a_.Call("PUT", "/queue/jobs/" + tasks[0], worker).status, 200);
  ASSERT_EQ(a_.Call("DELETE", "/queue/jobs/" + tasks[0], worker).status, 200);
  ASSERT_EQ(a_.Call("PUT", "/queue/mail/" + tasks[1], worker).status, 200);
  // A non-queue entry of another application on the same log.
  ASSERT_EQ(a_.Call("POST", "/log", R"({"app":"other"})").status, 201);
  const std::string a_total = Str(JsonBody(a_.Call("GET", "/digest")), "total");
  ASSERT_EQ(a_total.size(), 32u);

  // rebuild --from http://a: the Potboiler walk over the live node.
  const std::string rebuilt = "rocksdb:" + dir_ + "/rebuilt";
  boost::json::object r = ReplayJson({"rebuild", "--from", a_.url(), "--into", rebuilt}, 0);
  ASSERT_TRUE(r.contains("replay"));
  EXPECT_EQ(Str(r["replay"], "digest"), a_total);
  EXPECT_EQ(r["replay"].at("events").to_number<uint64_t>(), 11u);  // 10 queue ops + 1 other
  {
    Result<std::unique_ptr<StateStore>> store = OpenStateStore(rebuilt);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->Digests()->total.ToHex(), a_total);
  }

  // b gets a's log through /log/other: the nodes agree.
  EXPECT_EQ(CopyLog(a_, b_), 11u);
  r = ReplayJson({"compare", a_.url(), b_.url()}, 0);
  EXPECT_TRUE(r["agree"].as_bool());
  // The digests the tool read are the nodes' GET /digest totals.
  ASSERT_EQ(r["digests"].as_array().size(), 2u);
  for (const boost::json::value& d : r["digests"].as_array()) EXPECT_EQ(Str(d, "total"), a_total);
  // A node and a store built from its log agree too.
  EXPECT_TRUE(ReplayJson({"compare", a_.url(), rebuilt}, 0)["agree"].as_bool());

  // An entry only b gets (from a third owner): b differs in queue "mail".
  const std::string entry =
      "{\"id\":\"" + Uuid::Random().ToString() + "\",\"owner\":\"" + Uuid::Random().ToString() +
      "\",\"prev\":null,\"next\":null,\"when\":[0,[" +
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()) +
      "],0],\"data\":{\"Add\":{\"queue_name\":\"mail\",\"task_name\":\"only-b\",\"info\":null}}}";
  ASSERT_EQ(b_.Call("POST", "/log/other", entry).status, 200);
  r = ReplayJson({"compare", a_.url(), b_.url()}, 1);
  EXPECT_FALSE(r["agree"].as_bool());
  const boost::json::array& diffs = r["differences"].as_array();
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(Str(diffs[0], "reference"), a_.url());
  EXPECT_EQ(Str(diffs[0], "other"), b_.url());
  const boost::json::array& queues = diffs[0].at("queues").as_array();
  ASSERT_EQ(queues.size(), 1u);
  EXPECT_EQ(queues[0].as_string(), "mail");
  std::string b_total = Str(JsonBody(b_.Call("GET", "/digest")), "total");
  EXPECT_NE(b_total, a_total);
  EXPECT_EQ(Str(r["digests"].as_array()[1], "total"), b_total);

  // A stopped node is a clear failure (exit 3), not a silent agreement.
  ASSERT_EQ(a_.Stop(), 0);
  testing::ExitResult down =
      RunToExit(PIGTAIL_REPLAY_BINARY, {"compare", a_.url(), b_.url()}, dir_);
  EXPECT_EQ(down.code, 3) << down.out;
  EXPECT_NE(down.err.find("127.0.0.1:" + std::to_string(a_.port())), std::string::npos) << down.err;
}

TEST_F(LiveNodeReplayTest, AStoreInUseIsReportedAsSuch) {
  // Node a holds rocksdb:<dir>/a: the replay tool points at its URL.
  const std::string store = "rocksdb:" + dir_ + "/a";
  testing::ExitResult r =
      RunToExit(PIGTAIL_REPLAY_BINARY, {"verify", "--log", store, "--state", store}, dir_);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("the log at " + store + " is locked by another process"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("http://HOST:PORT"), std::string::npos) << r.err;
  // A second pigtaild on the same store says what is going on.
  testing::ExitResult second =
      RunToExit(PIGTAILD_PATH, {"--listen", "127.0.0.1:0", "--backend", store}, dir_,
                std::chrono::seconds(30));
  EXPECT_EQ(second.code, 1) << second.err;
  EXPECT_NE(second.err.find("is another pigtaild running on it?"), std::string::npos) << second.err;
  // Node a is untouched and still serves.
  EXPECT_EQ(a_.Call("GET", "/digest").status, 200);
}

TEST_F(LiveNodeReplayTest, PigtaildCreatesAStoreOnlyInAnExistingDirectory) {
  const std::string nested = dir_ + "/no/such/data";
  testing::ExitResult r =
      RunToExit(PIGTAILD_PATH, {"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + nested}, dir_,
                std::chrono::seconds(30));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("the directory " + dir_ + "/no/such does not exist"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/no"));

  // A new store in an existing directory is created and logged.
  testing::ExitResult fresh = RunToExit(
      PIGTAILD_PATH, {"--listen", "127.0.0.1:0", "--backend", "rocksdb:" + dir_ + "/c"}, dir_,
      std::chrono::seconds(3));  // it serves until stopped: killed by its PID at the limit
  EXPECT_NE(fresh.err.find("created a new store at rocksdb:" + dir_ + "/c (log)"),
            std::string::npos)
      << fresh.err;
  EXPECT_NE(fresh.err.find("created a new store at rocksdb:" + dir_ + "/c (state)"),
            std::string::npos)
      << fresh.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/c/log/CURRENT"));
}

}  // namespace
}  // namespace pigtail

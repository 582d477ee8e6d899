// The partition harness: three real pigtaild processes, each in its own
// network namespace with its own data directory, replicating with each
// other while providers and workers (threads of this process, in the root
// namespace, which reaches every node at all times) run against every node.
// Links between nodes are cut and healed for real (tests/cluster/netns.h).
//
// After every scenario: zero lost tasks (queue checker, counts printed),
// all nodes reach equal total and per-queue digests and equal heads within
// a bounded time, and projecting the union of the three logs in-process
// gives the same digest.
//
// Needs root and `ip`. PIGTAIL_CLUSTER_LONG=1 runs every phase ten times
// longer. The *Postgres* scenario keeps node 0's state in PostgreSQL
// (PIGTAIL_TEST_POSTGRES_URI, required) and fails without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/event.h"
#include "core/projector.h"
#include "core/state.h"
#include "server/entry_array.h"
#include "server/http_client.h"
#include "tests/cluster/netns.h"
#include "tests/cluster/node_process.h"
#include "tests/cluster/queue_checker.h"

namespace pigtail::testing {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
constexpr int kNodes = 3;
constexpr int kPort = 8000;

Ms Scaled(Ms base) {
  const char* v = std::getenv("PIGTAIL_CLUSTER_LONG");
  return v != nullptr && std::string(v) == "1" ? base * 10 : base;
}

boost::json::value ParseOrNull(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  return ec ? boost::json::value() : v;
}

class Cluster {
 public:
  // Node 0's state goes to `postgres_uri` when not empty.
  void Start(const std::string& postgres_uri = "") {
    auto net = TestNetwork::Create(kNodes);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    net_ = std::move(net).value();
    char tmpl[] = "/tmp/pigtail-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (int i = 0; i < kNodes; ++i) {
      std::string data = dir_ + "/node" + std::to_string(i);
      std::vector<std::string> args = {"--listen",
                                       net_->address(i) + ":" + std::to_string(kPort),
                                       "--advertise-url",
                                       url(i),
                                       "--anti-entropy-ms",
                                       "250",
                                       "--replication-timeout-ms",
                                       "600",
                                       "--replication-max-backoff-ms",
                                       "1000",
                                       "--drain-ms",
                                       "1000",
                                       "--threads",
                                       "2"};
      if (i == 0 && !postgres_uri.empty()) {
        std::string schema = "cluster_" + std::to_string(getpid()) + "_" +
                             std::to_string(std::chrono::steady_clock::now().time_since_epoch() /
                                            std::chrono::milliseconds(1) % 1'000'000);
        args.insert(args.end(), {"--log", "rocksdb:" + data, "--state", postgres_uri,
                                 "--postgres-schema", schema});
      } else {
        args.insert(args.end(), {"--backend", "rocksdb:" + data});
      }
      nodes_.push_back(std::make_unique<NodeProcess>(PIGTAILD_PATH, net_->namespace_name(i), args,
                                                     data + ".log"));
      Status started = nodes_.back()->Start();
      ASSERT_TRUE(started.ok()) << started.ToString();
    }
  }

  ~Cluster() {
    for (auto& n : nodes_) n->Stop(3s);
    nodes_.clear();
    net_.reset();
    if (!dir_.empty() && !::testing::Test::HasFailure()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    } else if (!dir_.empty()) {
      std::fprintf(stderr, "cluster: node logs kept in %s\n", dir_.c_str());
    }
  }

  TestNetwork& net() { return *net_; }
  NodeProcess& node(int i) { return *nodes_.at(i); }
  std::string url(int i) const {
    return "http://" + net_->address(i) + ":" + std::to_string(kPort);
  }

  HttpResponse Call(int i, const std::string& method, const std::string& target,
                    const std::string& body = "", Ms timeout = 2s) {
    Result<HttpResponse> r = SendHttpRequest(method, url(i) + target, body, {}, timeout);
    if (!r.ok()) return HttpResponse{0, {}, r.status().ToString()};
    return std::move(r).value();
  }

  // Node 0 is told of 1 and 2; gossip does the rest.
  void Join() {
    for (int i = 1; i < kNodes; ++i) {
      ASSERT_EQ(Call(0, "POST", "/nodes", "{\"url\":\"" + url(i) + "\"}").status, 201);
    }
    bool all = Eventually(20s, [&] {
      for (int i = 0; i < kNodes; ++i) {
        boost::json::value v = ParseOrNull(Call(i, "GET", "/nodes").body);
        if (!v.is_array() || v.as_array().size() != kNodes - 1) return false;
      }
      return true;
    });
    ASSERT_TRUE(all) << "membership did not spread";
  }

  template <typename F>
  static bool Eventually(Ms limit, F&& condition) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (int i = 0; i < 1'000'000; ++i) {
      if (condition()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // Equal digests (total and per queue) and equal heads on every node.
  bool Converged(std::string* why) {
    std::string digest0, heads0;
    for (int i = 0; i < kNodes; ++i) {
      HttpResponse d = Call(i, "GET", "/digest");
      HttpResponse h = Call(i, "GET", "/log");
      if (d.status != 200 || h.status != 200) {
        *why = "node " + std::to_string(i) + " unreachable";
        return false;
      }
      boost::json::value dv = ParseOrNull(d.body);
      if (!dv.is_object()) return false;
      std::string digest =
          boost::json::serialize(dv.at("total")) + boost::json::serialize(dv.at("queues"));
      std::string heads = boost::json::serialize(ParseOrNull(h.body));
      if (i == 0) {
        digest0 = digest;
        heads0 = heads;
      } else if (digest != digest0 || heads != heads0) {
        *why = "node " + std::to_string(i) + " digest " + digest + " vs node 0 " + digest0;
        return false;
      }
    }
    return true;
  }

  // Every entry of node i's log, by id.
  void CollectLog(int i, std::map<Uuid, Event>* out) {
    boost::json::value heads = ParseOrNull(Call(i, "GET", "/log").body);
    ASSERT_TRUE(heads.is_object());
    HttpConnection conn(net_->address(i), std::to_string(kPort));
    for (const auto& [owner, head] : heads.as_object()) {
      std::optional<Hlc> after;
      for (int page = 0; page < 100'000; ++page) {
        std::string target = "/log/range?owner=" + std::string(owner) + "&limit=5000";
        if (after) target += "&after_when=" + HlcQueryText(*after);
        Result<HttpResponse> r = conn.Send("GET", target, "", {}, 10s);
        ASSERT_TRUE(r.ok() && r->status == 200);
        Result<std::vector<Event>> events = ParseEntryArray(r->body);
        ASSERT_TRUE(events.ok()) << events.status().ToString();
        if (events->empty()) break;
        after = events->back().when;
        for (Event& e : *events) out->emplace(e.id, std::move(e));
      }
    }
  }

 private:
  std::unique_ptr<TestNetwork> net_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::string dir_;
};

// Providers and workers against every node, in threads of this process.
class Workload {
 public:
  Workload(Cluster* cluster, History* history) : cluster_(cluster), history_(history) {}
  ~Workload() { Stop(); }

  void Start() {
    for (int i = 0; i < kNodes; ++i) {
      threads_.emplace_back([this, i] { Provide(i); });
      threads_.emplace_back([this, i] { Work(i); });
    }
  }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  // Ids node i acknowledged, from `from` on.
  std::vector<std::string> AckedBy(int i, size_t from = 0) {
    std::lock_guard lock(mu_);
    const auto& v = acked_[i];
    return from >= v.size()
               ? std::vector<std::string>()
               : std::vector<std::string>(v.begin() + static_cast<long>(from), v.end());
  }
  size_t AckedCount(int i) {
    std::lock_guard lock(mu_);
    return acked_[i].size();
  }
  // Tasks node i's worker has claimed so far.
  size_t ClaimedCount(int i) { return claimed_[i].load(); }

 private:
  std::unique_ptr<HttpConnection> Connect(int i) {
    return std::make_unique<HttpConnection>(cluster_->net().address(i), std::to_string(kPort));
  }

  void Provide(int i) {
    auto conn = Connect(i);
    for (int k = 0; k < 1'000'000 && !stop_; ++k) {
      std::string name = "p" + std::to_string(i) + "-" + std::to_string(k);
      history_->Attempted(name);
      boost::json::object body{{"task_name", name}, {"info", k}};
      Result<HttpResponse> r = conn->Send("POST", "/queue/q", boost::json::serialize(body), {}, 1s);
      if (r.ok() && r->status == 201) {
        std::string id(ParseOrNull(r->body).at("id").as_string());
        history_->Acked(name, id);
        std::lock_guard lock(mu_);
        acked_[i].push_back(id);
      } else {
        conn = Connect(i);
        std::this_thread::sleep_for(50ms);
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  void Work(int i) {
    auto conn = Connect(i);
    const std::string worker = Uuid::Random().ToString();
    boost::json::object claim{{"worker_id", worker}, {"max", 5}, {"wait_ms", 100}};
    const std::string claim_body = boost::json::serialize(claim);
    for (int k = 0; k < 1'000'000 && !stop_; ++k) {
      Result<HttpResponse> r = conn->Send("POST", "/queue/q/claim", claim_body, {}, 1500ms);
      if (!r.ok() || r->status != 200) {
        conn = Connect(i);
        std::this_thread::sleep_for(50ms);
        continue;
      }
      boost::json::value v = ParseOrNull(r->body);
      if (!v.is_object()) continue;
      boost::json::array done;
      std::vector<std::string> ids;
      for (const boost::json::value& t : v.at("tasks").as_array()) {
        std::string id(t.at("id").as_string());
        history_->Claimed(id, worker);
        claimed_[i]++;
        ids.push_back(id);
        done.push_back(boost::json::object{{"id", id}, {"lease", t.at("lease")}});
      }
      if (ids.empty()) continue;
      boost::json::object body{{"worker_id", worker}, {"tasks", done}};
      Result<HttpResponse> d =
          conn->Send("POST", "/queue/q/done", boost::json::serialize(body), {}, 1s);
      if (!d.ok()) {
        conn = Connect(i);
        continue;
      }
      boost::json::value dv = ParseOrNull(d->body);
      if (!dv.is_object() || !dv.as_object().contains("results")) continue;
      const boost::json::array& results = dv.at("results").as_array();
      for (size_t n = 0; n < results.size() && n < ids.size(); ++n) {
        if (results[n].at("status") == "done") history_->Finished(ids[n]);
      }
    }
  }

  Cluster* const cluster_;
  History* const history_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> claimed_[kNodes] = {};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::map<int, std::vector<std::string>> acked_;
};

class ClusterTest : public ::testing::Test {
 protected:
  void StartCluster(const std::string& postgres_uri = "") {
    cluster_.Start(postgres_uri);
    if (HasFatalFailure()) return;
    cluster_.Join();
    if (HasFatalFailure()) return;
    ASSERT_EQ(cluster_.Call(0, "POST", "/create", R"({"name":"q","timeout_ms":3000})").status, 201);
    ASSERT_TRUE(Cluster::Eventually(20s, [&] {
      for (int i = 0; i < kNodes; ++i) {
        if (cluster_.Call(i, "GET", "/queue/q/stats").status != 200) return false;
      }
      return true;
    })) << "the queue did not replicate";
    workload_ = std::make_unique<Workload>(&cluster_, &history_);
    workload_->Start();
  }

  // True if node `at` has none of `ids` (they were written across a cut).
  bool NoneVisible(int at, const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      if (cluster_.Call(at, "GET", "/log/" + id).status != 404) return false;
    }
    return true;
  }

  // Stops the workload, heals, and checks convergence, the replay of the
  // union of the logs and the queue history.
  void Finish(const char* scenario) {
    workload_->Stop();
    ASSERT_TRUE(cluster_.net().HealAll().ok());
    for (int i = 0; i < kNodes; ++i) {
      if (!cluster_.node(i).running()) {
        ASSERT_TRUE(cluster_.node(i).Start().ok());
      }
    }
    auto stopped = std::chrono::steady_clock::now();
    if (healed_at_ == std::chrono::steady_clock::time_point()) healed_at_ = stopped;
    std::string why;
    bool converged = Cluster::Eventually(Scaled(60s), [&] { return cluster_.Converged(&why); });
    auto converged_at = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(converged_at - stopped).count();
    double since_heal = std::chrono::duration<double>(converged_at - healed_at_).count();
    ASSERT_TRUE(converged) << "no convergence after heal: " << why << "\n"
                           << cluster_.node(0).LogTail();
    // The union of the logs, projected from scratch, gives the nodes' digest.
    std::map<Uuid, Event> all;
    for (int i = 0; i < kNodes; ++i) {
      std::map<Uuid, Event> one;
      cluster_.CollectLog(i, &one);
      if (HasFatalFailure()) return;
      if (i > 0) {
        EXPECT_EQ(one.size(), all.size()) << "node " << i << " log size";
      }
      for (auto& [id, e] : one) all.emplace(id, std::move(e));
    }
    State replay;
    std::map<std::string, FinalTask> final_tasks;
    for (const auto& [id, e] : all) {
      (void)ApplyEvent(e, &replay);
      if (const QueueOp* op = std::get_if<QueueOp>(&e.op)) {
        if (const AddOp* add = std::get_if<AddOp>(op); add != nullptr && add->queue_name == "q") {
          final_tasks[id.ToString()].task_name = add->task_name;
        }
      }
    }
    boost::json::value digest = ParseOrNull(cluster_.Call(1, "GET", "/digest").body);
    EXPECT_EQ(replay.total_digest().ToHex(), std::string(digest.at("total").as_string()));
    // Final task states, read from node 2.
    HttpConnection conn(cluster_.net().address(2), std::to_string(kPort));
    for (auto& [id, task] : final_tasks) {
      Result<HttpResponse> r = conn.Send("GET", "/queue/q/" + id, "", {}, 5s);
      ASSERT_TRUE(r.ok() && r->status == 200) << id;
      task.state = std::string(ParseOrNull(r->body).at("state").as_string());
    }
    CheckResult result = CheckQueue(history_, final_tasks);
    std::printf(
        "[%s] converged %.2f s after the last heal (%.2f s after the load stopped); log %zu "
        "entries; %s\n",
        scenario, since_heal, seconds, all.size(), result.ToString().c_str());
    std::fflush(stdout);
    EXPECT_EQ(result.lost, 0u) << result.ToString();
    EXPECT_EQ(result.unexpected, 0u) << result.ToString();
    EXPECT_GT(result.acknowledged, 0u);
    EXPECT_GT(result.done, 0u);
  }

  // A 2|1 split: {0,1} and {2} both keep accepting writes, and neither
  // sees the other's new entries until the heal.
  void SplitTwoOne(const char* scenario) {
    std::this_thread::sleep_for(Scaled(1500ms));
    ASSERT_TRUE(cluster_.net().Isolate({2}).ok());
    std::this_thread::sleep_for(Scaled(1000ms));  // in-flight pushes settle
    size_t from0 = workload_->AckedCount(0);
    size_t from2 = workload_->AckedCount(2);
    const size_t claimed0 = workload_->ClaimedCount(0) + workload_->ClaimedCount(1);
    const size_t claimed2 = workload_->ClaimedCount(2);
    std::this_thread::sleep_for(Scaled(3000ms));
    std::vector<std::string> side0 = workload_->AckedBy(0, from0);
    std::vector<std::string> side2 = workload_->AckedBy(2, from2);
    EXPECT_FALSE(side0.empty()) << "the majority side stopped accepting writes";
    EXPECT_FALSE(side2.empty()) << "the minority side stopped accepting writes";
    // Claim routing leaves a home's tasks to the others once it is unreachable.
    EXPECT_GT(workload_->ClaimedCount(0) + workload_->ClaimedCount(1), claimed0)
        << "the majority side stopped handing out work";
    EXPECT_GT(workload_->ClaimedCount(2), claimed2) << "the minority side stopped handing out work";
    EXPECT_TRUE(NoneVisible(2, side0)) << "the cut did not hold";
    EXPECT_TRUE(NoneVisible(0, side2)) << "the cut did not hold";
    // Within a side, replication goes on.
    EXPECT_TRUE(Cluster::Eventually(
        10s, [&] { return cluster_.Call(1, "GET", "/log/" + side0.back()).status == 200; }));
    ASSERT_TRUE(cluster_.net().HealAll().ok());
    healed_at_ = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(Scaled(1500ms));
    Finish(scenario);
  }

  Cluster cluster_;
  History history_;
  std::chrono::steady_clock::time_point healed_at_{};  // the last heal or restart
  std::unique_ptr<Workload> workload_;
};

TEST_F(ClusterTest, SplitTwoOne) {
  StartCluster();
  if (HasFatalFailure()) return;
  SplitTwoOne("split 2|1");
}

TEST_F(ClusterTest, FullSplitOneOneOne) {
  StartCluster();
  if (HasFatalFailure()) return;
  std::this_thread::sleep_for(Scaled(1500ms));
  ASSERT_TRUE(cluster_.net().Isolate({0}).ok());
  ASSERT_TRUE(cluster_.net().Isolate({1}).ok());
  std::this_thread::sleep_for(Scaled(1000ms));
  size_t from[kNodes];
  size_t claimed[kNodes];
  for (int i = 0; i < kNodes; ++i) {
    from[i] = workload_->AckedCount(i);
    claimed[i] = workload_->ClaimedCount(i);
  }
  std::this_thread::sleep_for(Scaled(3000ms));
  for (int i = 0; i < kNodes; ++i) {
    std::vector<std::string> mine = workload_->AckedBy(i, from[i]);
    EXPECT_FALSE(mine.empty()) << "node " << i << " stopped accepting writes";
    EXPECT_GT(workload_->ClaimedCount(i), claimed[i])
        << "node " << i << " stopped handing out work";
    EXPECT_TRUE(NoneVisible((i + 1) % kNodes, mine)) << "the cut did not hold";
  }
  // SIGTERM while both its peers are unreachable: the replicator's workers
  // (in timeouts and backoff) stop, and the node exits cleanly, quickly.
  auto term = std::chrono::steady_clock::now();
  EXPECT_EQ(cluster_.node(0).Stop(10s), 0) << cluster_.node(0).LogTail();
  EXPECT_LT(std::chrono::steady_clock::now() - term, 5s);
  ASSERT_TRUE(cluster_.node(0).Start().ok()) << cluster_.node(0).LogTail();
  ASSERT_TRUE(cluster_.net().HealAll().ok());
  healed_at_ = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(Scaled(1500ms));
  Finish("split 1|1|1");
}

TEST_F(ClusterTest, KillNineAndRestart) {
  StartCluster();
  if (HasFatalFailure()) return;
  std::this_thread::sleep_for(Scaled(1500ms));
  size_t before = workload_->AckedCount(2);
  cluster_.node(2).Kill();  // SIGKILL
  std::this_thread::sleep_for(Scaled(2000ms));
  ASSERT_TRUE(cluster_.node(2).Start().ok()) << cluster_.node(2).LogTail();
  healed_at_ = std::chrono::steady_clock::now();
  // Everything node 2 acknowledged before the kill survived it.
  std::vector<std::string> acked = workload_->AckedBy(2);
  for (size_t k = 0; k < before && k < acked.size(); ++k) {
    ASSERT_EQ(cluster_.Call(2, "GET", "/log/" + acked[k]).status, 200) << acked[k];
  }
  std::this_thread::sleep_for(Scaled(2000ms));
  EXPECT_GT(workload_->AckedCount(2), before) << "node 2 took no writes after its restart";
  Finish("SIGKILL and restart");
}

TEST_F(ClusterTest, FlappingLinks) {
  StartCluster();
  if (HasFatalFailure()) return;
  const int cycles = static_cast<int>(Scaled(Ms(8)).count());
  for (int c = 0; c < cycles; ++c) {
    int a = c % kNodes;
    int b = (c + 1) % kNodes;
    ASSERT_TRUE(cluster_.net().Cut(a, b).ok());
    std::this_thread::sleep_for(400ms);
    ASSERT_TRUE(cluster_.net().Heal(a, b).ok());
    healed_at_ = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(250ms);
  }
  Finish("flapping links");
}

TEST_F(ClusterTest, PostgresStateOnOneNodeSplitTwoOne) {
  const char* uri = std::getenv("PIGTAIL_TEST_POSTGRES_URI");
  ASSERT_TRUE(uri != nullptr && *uri != '\0')
      << "PIGTAIL_TEST_POSTGRES_URI is not set: run through scripts/test.sh, or start one with "
         "scripts/pg_cluster.sh start /tmp/<dir> and export the URI it prints";
  StartCluster(uri);
  if (HasFatalFailure()) return;
  SplitTwoOne("split 2|1, node 0 state in PostgreSQL");
}

}  // namespace
}  // namespace pigtail::testing

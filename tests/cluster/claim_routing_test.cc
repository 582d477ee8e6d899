// Claim routing (server/claim_router.h) over real HTTP on 127.0.0.1: in a
// healthy cluster each task is handed out once, whichever node its workers
// poll; a home that is gone leaves its tasks to the others.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/claim_route.h"
#include "server/claim_router.h"
#include "tests/cluster/test_node.h"

namespace pigtail::testing {
namespace {

using namespace std::chrono_literals;

ReplicatorOptions FastReplication() {
  ReplicatorOptions options;
  options.anti_entropy = 100ms;
  options.membership_poll = 20ms;
  options.min_backoff = 20ms;
  options.max_backoff = 200ms;
  options.request_timeout = 500ms;
  return options;
}

// Peers every node with every other and waits until each knows the others'
// ids and reaches them.
void Peer(const std::vector<TestNode*>& nodes) {
  for (TestNode* a : nodes) {
    for (TestNode* b : nodes) {
      if (a == b) continue;
      ASSERT_EQ(a->Call("POST", "/nodes", "{\"url\":\"" + b->url() + "\"}").status, 201);
    }
  }
  for (TestNode* n : nodes) {
    ASSERT_TRUE(Eventually([&] {
      std::vector<PeerStatus> peers = n->replicator()->Peers();
      if (peers.size() != nodes.size() - 1) return false;
      for (const PeerStatus& p : peers) {
        if (!p.up || p.node_id.empty()) return false;
      }
      return true;
    }));
  }
}

std::string ClaimBody(const std::string& worker, int max, int wait_ms) {
  return boost::json::serialize(
      boost::json::object{{"worker_id", worker}, {"max", max}, {"wait_ms", wait_ms}});
}

uint64_t MetricValue(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(metrics.substr(at + name.size() + 2));
}

// Whether the last entry `node` wrote holds every one of `texts`.
bool LastEntryNames(TestNode& node, const std::vector<std::string>& texts) {
  auto own = node.node()->log()->ScanOwner(node.node()->id(), std::nullopt, 1'000'000);
  if (!own.ok() || own->empty()) return false;
  const std::string& raw = own->back().event.raw;
  for (const std::string& text : texts) {
    if (raw.find(text) == std::string::npos) return false;
  }
  return true;
}

TEST(ClaimRoutingTest, AHealthyClusterHandsEachTaskOutOnce) {
  const ReplicatorOptions options = FastReplication();
  TestNode a(&options);
  TestNode b(&options);
  TestNode c(&options);
  Peer({&a, &b, &c});
  if (HasFatalFailure()) return;
  ASSERT_EQ(a.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  for (TestNode* n : {&b, &c}) {
    ASSERT_TRUE(Eventually([&] { return n->Call("GET", "/queue/q/stats").status == 200; }));
  }

  constexpr int kTasks = 150;
  std::mutex mu;
  std::map<std::string, int> claims;  // guarded by mu
  std::set<std::string> done;         // guarded by mu
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (TestNode* n : {&a, &b, &c}) {
    for (int w = 0; w < 2; ++w) {
      workers.emplace_back([&, n] {
        const std::string worker = Uuid::Random().ToString();
        for (int round = 0; round < 10'000 && !stop.load(); ++round) {
          HttpResponse r = n->Call("POST", "/queue/q/claim", ClaimBody(worker, 1, 200));
          if (r.status != 200) continue;
          const boost::json::value answer = Json(r);
          for (const boost::json::value& task : answer.at("tasks").as_array()) {
            const std::string id(task.at("id").as_string());
            {
              std::lock_guard lock(mu);
              ++claims[id];
            }
            const std::string body = boost::json::serialize(
                boost::json::object{{"worker_id", worker},
                                    {"tasks", boost::json::array{boost::json::object{
                                                  {"id", id}, {"lease", task.at("lease")}}}}});
            // The worker's done goes to its own node: the home's claim is there.
            HttpResponse d = n->Call("POST", "/queue/q/done", body);
            EXPECT_EQ(d.status, 200) << d.body;
            if (d.status == 200 && Json(d).at("done").to_number<int64_t>() == 1) {
              std::lock_guard lock(mu);
              done.insert(id);
            }
          }
        }
      });
    }
  }
  for (int i = 0; i < kTasks; ++i) {
    HttpResponse r = a.Call("POST", "/queue/q", R"({"task_name":"t","info":null})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  const bool all_done = Eventually([&] {
    std::lock_guard lock(mu);
    return done.size() == static_cast<size_t>(kTasks);
  });
  stop = true;
  for (std::thread& w : workers) w.join();
  EXPECT_TRUE(all_done) << done.size() << " of " << kTasks << " done";
  size_t twice = 0;
  for (const auto& [id, n] : claims) twice += n > 1 ? 1 : 0;
  EXPECT_EQ(twice, 0u) << "tasks claimed by more than one worker";
  // Workers of b and c got a's tasks by asking their homes.
  uint64_t forwarded = 0;
  for (TestNode* n : {&a, &b, &c}) {
    forwarded += MetricValue(n->Call("GET", "/metrics").body, "pigtail_claims_forwarded_total");
  }
  EXPECT_GT(forwarded, 0u);
}

TEST(ClaimRoutingTest, TheTasksOfAHomeThatIsGoneAreClaimedByTheOthers) {
  const ReplicatorOptions options = FastReplication();
  TestNode b(&options);
  std::vector<std::string> ids;
  {
    TestNode a(&options);
    Peer({&a, &b});
    if (HasFatalFailure()) return;
    ASSERT_EQ(a.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
    for (int i = 0; i < 40; ++i) {
      HttpResponse r = a.Call("POST", "/queue/q", R"({"task_name":"t","info":null})");
      ASSERT_EQ(r.status, 201) << r.body;
      ids.emplace_back(Json(r).at("id").as_string());
    }
    ASSERT_TRUE(Eventually([&] { return b.Call("GET", "/queue/q/" + ids.back()).status == 200; }));
  }  // a stops; some of the tasks b holds have a as their home
  std::set<std::string> claimed;
  const std::string worker = Uuid::Random().ToString();
  for (int round = 0; round < 50 && claimed.size() < ids.size(); ++round) {
    HttpResponse r = b.Call("POST", "/queue/q/claim", ClaimBody(worker, 100, 500));
    ASSERT_EQ(r.status, 200) << r.body;
    const boost::json::value answer = Json(r);
    for (const boost::json::value& task : answer.at("tasks").as_array()) {
      claimed.emplace(task.at("id").as_string());
    }
  }
  EXPECT_EQ(claimed.size(), ids.size()) << "b did not take over the tasks of a home gone";
}

// PUT /queue/{name}/{id} claims (as original Pigtail workers make them)
// go to the task's home too; heartbeats and dones stay on the worker's node.
TEST(ClaimRoutingTest, AClaimOfANamedTaskIsDecidedByItsHome) {
  const ReplicatorOptions options = FastReplication();
  TestNode a(&options);
  TestNode b(&options);
  Peer({&a, &b});
  if (HasFatalFailure()) return;
  ASSERT_EQ(a.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  const std::vector<Uuid> members = {std::min(a.node()->id(), b.node()->id()),
                                     std::max(a.node()->id(), b.node()->id())};
  std::string homed_at_a;
  std::string homed_at_b;
  for (int i = 0; i < 64 && (homed_at_a.empty() || homed_at_b.empty()); ++i) {
    HttpResponse r = a.Call("POST", "/queue/q", R"({"task_name":"t","info":null})");
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id(Json(r).at("id").as_string());
    (HomeOf(*Uuid::Parse(id), members) == a.node()->id() ? homed_at_a : homed_at_b) = id;
  }
  ASSERT_FALSE(homed_at_a.empty());
  ASSERT_FALSE(homed_at_b.empty());
  for (const std::string& id : {homed_at_a, homed_at_b}) {
    ASSERT_TRUE(Eventually([&] { return b.Call("GET", "/queue/q/" + id).status == 200; }));
  }
  const std::string w1 = Uuid::Random().ToString();
  const std::string w2 = Uuid::Random().ToString();
  const std::string claim1 = "{\"worker_id\":\"" + w1 + "\"}";
  const std::string claim2 = "{\"worker_id\":\"" + w2 + "\"}";
  // Claimed through b, decided by a: the claim is a's last entry, and a
  // refuses a second worker.
  HttpResponse first = b.Call("PUT", "/queue/q/" + homed_at_a, claim1);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FALSE(Json(first).as_object().contains("entries"));
  EXPECT_TRUE(LastEntryNames(a, {homed_at_a, w1}));
  HttpResponse second = a.Call("PUT", "/queue/q/" + homed_at_a, claim2);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(Json(second).at("reason").as_string(), "leased_by_another_worker");
  // The heartbeat and the done are decided on b, which holds a's claim.
  HttpResponse beat = b.Call("PUT", "/queue/q/" + homed_at_a, claim1);
  ASSERT_EQ(beat.status, 200) << beat.body;
  EXPECT_TRUE(Json(beat).at("heartbeat").as_bool());
  EXPECT_EQ(b.Call("DELETE", "/queue/q/" + homed_at_a, claim1).status, 200);
  // And the other way round: b's task, claimed through a.
  ASSERT_EQ(a.Call("PUT", "/queue/q/" + homed_at_b, claim2).status, 200);
  EXPECT_TRUE(LastEntryNames(b, {homed_at_b, w2}));
  HttpResponse late = b.Call("PUT", "/queue/q/" + homed_at_b, claim1);
  EXPECT_EQ(late.status, 409) << late.body;
}

TEST(ClaimRoutingTest, AForwardedClaimNamesItsCandidatesAndGetsTheEntries) {
  const ReplicatorOptions options = FastReplication();
  TestNode a(&options);
  ASSERT_EQ(a.Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = a.Call("POST", "/queue/q", R"({"task_name":"t","info":null})");
    ASSERT_EQ(r.status, 201);
    ids.emplace_back(Json(r).at("id").as_string());
  }
  const std::string worker = Uuid::Random().ToString();
  const HttpHeaders forwarded = {{std::string(kForwardedClaimHeader), "true"}};
  boost::json::object body{{"worker_id", worker},
                           {"max", 5},
                           {"wait_ms", 0},
                           {"candidates", boost::json::array{ids[2].c_str(), ids[0].c_str()}}};
  HttpResponse r = a.Call("POST", "/queue/q/claim", boost::json::serialize(body), forwarded);
  ASSERT_EQ(r.status, 200) << r.body;
  boost::json::value answer = Json(r);
  const boost::json::array& tasks = answer.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].at("id").as_string(), ids[2]);
  EXPECT_EQ(tasks[1].at("id").as_string(), ids[0]);
  // The claim's entry, as a's log stores it.
  const boost::json::array& entries = answer.at("entries").as_array();
  ASSERT_EQ(entries.size(), 1u);
  const std::string entry(entries[0].as_string());
  const std::string id(Json(HttpResponse{200, {}, entry}).at("id").as_string());
  HttpResponse stored = a.Call("GET", "/log/" + id + "?raw=true");
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(stored.body, entry);

  // Candidates only with the header; and they must be task ids.
  HttpResponse plain = a.Call("POST", "/queue/q/claim", boost::json::serialize(body));
  EXPECT_EQ(plain.status, 400) << plain.body;
  body["candidates"] = boost::json::array{"nope"};
  HttpResponse bad = a.Call("POST", "/queue/q/claim", boost::json::serialize(body), forwarded);
  EXPECT_EQ(bad.status, 400) << bad.body;
  body.erase("candidates");
  HttpResponse none = a.Call("POST", "/queue/q/claim", boost::json::serialize(body), forwarded);
  EXPECT_EQ(none.status, 400) << none.body;
}

}  // namespace
}  // namespace pigtail::testing

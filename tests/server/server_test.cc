// Server (server/server.h): a whole node started and stopped in order, on
// real stores and a real socket.
#include "server/server.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/uuid.h"
#include "server/http_client.h"

namespace pigtail {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/pigtail_server_" + Uuid::Random().ToString();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerOptions Options() const {
    ServerOptions o;
    o.http.port = 0;
    o.log_uri = o.state_uri = "rocksdb:" + dir_ + "/data";
    o.replication.emplace();
    o.drain = std::chrono::milliseconds(1000);
    return o;
  }
  static HttpResponse Call(const Server& server, const std::string& method,
                           const std::string& target, const std::string& body = "") {
    Result<HttpResponse> r =
        SendHttpRequest(method, "http://127.0.0.1:" + std::to_string(server.port()) + target, body);
    return r.ok() ? *r : HttpResponse{0, {}, r.status().ToString()};
  }

  std::string dir_;
};

TEST_F(ServerTest, ServesUntilStoppedAndLeavesTheStoresClosed) {
  {
    Result<std::unique_ptr<Server>> server = Server::Start(Options());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    Server& s = **server;
    ASSERT_NE(s.port(), 0);
    ASSERT_NE(s.replicator(), nullptr);
    EXPECT_EQ(s.external_log(), nullptr);
    EXPECT_EQ(Call(s, "GET", "/ready").status, 200);
    EXPECT_EQ(Call(s, "POST", "/create", R"({"name":"jobs","timeout_ms":30000})").status, 201);
    HttpResponse added = Call(s, "POST", "/queue/jobs", R"({"task_name":"t","info":{}})");
    ASSERT_EQ(added.status, 201) << added.body;
    s.Stop();
    EXPECT_EQ(s.node(), nullptr);
    s.Stop();  // idempotent
  }
  // The stores were closed (a second node opens them) and hold the task.
  Result<std::unique_ptr<Server>> again = Server::Start(Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Call(**again, "GET", "/queue/jobs").status, 200);
  EXPECT_EQ((*again)->node()->Read([](const State& state) { return state.queues().size(); }), 1u);
}

TEST_F(ServerTest, AStartThatFailsStopsWhatItStarted) {
  Result<std::unique_ptr<Server>> first = Server::Start(Options());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // The same RocksDB store: locked by the first node.
  Result<std::unique_ptr<Server>> refused = Server::Start(Options());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("is another pigtaild running on it?"),
            std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(Call(**first, "GET", "/ready").status, 200);

  // A port that is taken: refused at the first step.
  ServerOptions taken = Options();
  taken.log_uri = taken.state_uri = "memory:";
  taken.http.port = (*first)->port();
  EXPECT_FALSE(Server::Start(std::move(taken)).ok());
}

TEST_F(ServerTest, WithoutReplicationThereIsNoReplicator) {
  ServerOptions o = Options();
  o.log_uri = o.state_uri = "memory:";
  o.replication.reset();
  Result<std::unique_ptr<Server>> server = Server::Start(std::move(o));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ((*server)->replicator(), nullptr);
  EXPECT_EQ(Call(**server, "GET", "/health").status, 200);
}

}  // namespace
}  // namespace pigtail

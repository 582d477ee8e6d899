// server/node_work.h: reading a node's work counters from GET /metrics, and
// the figures and bounds pigtail-load prints from two samples; and that a
// node's GET /metrics reports the counters as its sequencer works.
#include "server/node_work.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/server/api_fixture.h"

namespace pigtail {
namespace {

constexpr char kMetrics[] =
    "# HELP pigtail_sequencer_batches_total Batches written by the ingest sequencer.\n"
    "# TYPE pigtail_sequencer_batches_total counter\n"
    "pigtail_sequencer_batches_total 1100\n"
    "pigtail_http_requests_total{route=\"/queue/{name}\",code=\"201\"} 9\n"
    "pigtail_sequencer_requests_total 4300\n"
    "pigtail_log_append_seconds_total 0.500000\n"
    "pigtail_sequencer_busy_seconds_total 0.950000\n"
    "process_cpu_seconds_total 2.000000";  // the last line without its newline

TEST(NodeWorkTest, ReadsTheCountersAndSkipsOtherLines) {
  std::optional<NodeWorkSample> sample = ParseNodeWork(kMetrics);
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->batches, 1100);
  EXPECT_EQ(sample->requests, 4300);
  EXPECT_DOUBLE_EQ(sample->log_append_s, 0.5);
  EXPECT_DOUBLE_EQ(sample->sequencer_busy_s, 0.95);
  EXPECT_DOUBLE_EQ(sample->cpu_s, 2.0);
}

TEST(NodeWorkTest, NoSampleWhenACounterIsMissingOrNotANumber) {
  std::string without_cpu = kMetrics;
  without_cpu.erase(without_cpu.find("process_cpu_seconds_total"));
  EXPECT_FALSE(ParseNodeWork(without_cpu).has_value());
  // A labelled sample of the same name is not the counter.
  EXPECT_FALSE(ParseNodeWork(without_cpu + "process_cpu_seconds_total{cpu=\"0\"} 1\n").has_value());
  EXPECT_FALSE(ParseNodeWork(without_cpu + "process_cpu_seconds_total 1s\n").has_value());
  EXPECT_FALSE(ParseNodeWork(without_cpu + "process_cpu_seconds_total nan\n").has_value());
  EXPECT_TRUE(ParseNodeWork(without_cpu + "process_cpu_seconds_total 1\n").has_value());
  EXPECT_FALSE(ParseNodeWork("").has_value());
}

TEST(NodeWorkTest, DescribesThePhaseAndTheRatesThatBoundIt) {
  NodeWorkSample before{100, 300, 0.1, 0.2, 1.0};
  NodeWorkSample after{1100, 4300, 0.5, 0.95, 2.0};
  LoadPhase phase;
  phase.wall_s = 1.0;
  phase.items = 4000;
  phase.client_cpu_s = 0.6;
  phase.cores = 2;
  const std::string text = DescribeNodeWork(before, after, phase);
  // 1,000 batches of 4 requests; 0.4 s of appends in 1 s; 0.75 s busy; CPU
  // 1 s (node) + 0.6 s (client) for 4,000 items.
  EXPECT_NE(text.find("node:   1000 batches, 4.00 requests/batch, log append 400 us/batch (40% "
                      "of the time), sequencer busy 75%, cpu/item node 250.0 us + client 150.0 us, "
                      "1.60 of 2 cores busy\n"),
            std::string::npos)
      << text;
  // 4,000 items per 0.4 s of appends; per 0.75 s of the sequencer; 2 cores
  // at 400 us of CPU per item.
  EXPECT_NE(text.find("bounds: log appends back to back 10000 items/s (rate 40% of it), "
                      "sequencer never idle 5333 items/s (rate 75% of it), every core busy 5000 "
                      "items/s (rate 80% of it)\n"),
            std::string::npos)
      << text;
}

TEST(NodeWorkTest, LeavesOutWhatAPhaseWithoutAppendsCannotTell) {
  NodeWorkSample same{10, 20, 0.1, 0.2, 1.0};
  LoadPhase phase;
  phase.wall_s = 2.0;
  phase.items = 0;
  phase.client_cpu_s = 0;
  const std::string text = DescribeNodeWork(same, same, phase);
  EXPECT_NE(text.find("node:   0 batches, sequencer busy 0%"), std::string::npos) << text;
  EXPECT_EQ(text.find("requests/batch"), std::string::npos) << text;
  EXPECT_EQ(text.find("bounds:"), std::string::npos) << text;
}

class NodeWorkMetricsTest : public testing::ApiFixture {
 protected:
  void SetUp() override { Open(ApiOptions(), SequencerOptions()); }
};

TEST_F(NodeWorkMetricsTest, GrowAsTheSequencerWrites) {
  std::optional<NodeWorkSample> before = ParseNodeWork(Call("GET", "/metrics").body);
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(Call("POST", "/create", R"({"name":"q","timeout_ms":60000})").status, 201);
  for (int i = 0; i < 3; ++i) AddTask("q", R"({"task_name":"t","info":1})");
  std::optional<NodeWorkSample> after = ParseNodeWork(Call("GET", "/metrics").body);
  ASSERT_TRUE(after.has_value());
  // The create and the adds, one request at a time: one batch each.
  EXPECT_EQ(after->batches - before->batches, 4);
  EXPECT_EQ(after->requests - before->requests, 4);
  EXPECT_GT(after->log_append_s, before->log_append_s);
  // Added once the sequencer is done with a batch, after its replies: at
  // least the batches before the last one are counted.
  EXPECT_GT(after->sequencer_busy_s, before->sequencer_busy_s);
  EXPECT_GE(after->cpu_s, before->cpu_s);
  EXPECT_GT(after->cpu_s, 0);
}

}  // namespace
}  // namespace pigtail

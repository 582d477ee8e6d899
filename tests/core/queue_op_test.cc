#include "core/queue_op.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "tests/core/test_events.h"

namespace pigtail {
namespace {

using testing::PlainAdd;

const char kTask[] = "7f9c1a52-3e8b-4c2d-9a1f-0b6d5e4c3a21";
const char kWorker[] = "0d4f9a3c-1b2e-4f5a-8c7d-6e5f4a3b2c1d";

QueueOp MustParse(const std::string& json) {
  OpParse p = ParseQueueOpText(json);
  if (const auto* r = std::get_if<RejectedOp>(&p)) ADD_FAILURE() << r->reason;
  EXPECT_TRUE(std::holds_alternative<QueueOp>(p)) << json;
  return std::holds_alternative<QueueOp>(p) ? std::get<QueueOp>(p) : QueueOp(DeleteOp{});
}

std::string RejectReason(const std::string& json) {
  OpParse p = ParseQueueOpText(json);
  EXPECT_TRUE(std::holds_alternative<RejectedOp>(p)) << json;
  return std::holds_alternative<RejectedOp>(p) ? std::get<RejectedOp>(p).reason : "";
}

TEST(QueueOpTest, ParsesOriginalOps) {
  auto create = std::get<CreateOp>(MustParse(R"({"Create":{"name":"emails","timeout_ms":30000}})"));
  EXPECT_EQ(create.name, "emails");
  EXPECT_EQ(create.timeout_ms, 30000u);
  EXPECT_FALSE(create.max_attempts);

  EXPECT_EQ(std::get<DeleteOp>(MustParse(R"({"Delete":"emails"})")).name, "emails");

  auto add = std::get<AddOp>(MustParse(
      R"({"Add":{"queue_name":"emails","task_name":"héllo ✉","info":{"foo":"bar","n":[1,2]}}})"));
  EXPECT_EQ(add.task_name, "héllo ✉");
  EXPECT_EQ(add.info_json, R"({"foo":"bar","n":[1,2]})");
  EXPECT_EQ(add.priority, 0);

  auto progress =
      std::get<ProgressOp>(MustParse(std::string(R"({"Progress":{"queue_name":"emails","id":")") +
                                     kTask + R"(","worker_id":")" + kWorker + R"("}})"));
  EXPECT_EQ(progress.id.ToString(), kTask);
  EXPECT_EQ(progress.worker_id.ToString(), kWorker);
  EXPECT_EQ(progress.lease, 0u);  // an original Progress reads as lease 0

  auto done = std::get<DoneOp>(MustParse(std::string(R"({"Done":{"queue_name":"emails","id":")") +
                                         kTask + R"(","worker_id":")" + kWorker + R"("}})"));
  EXPECT_EQ(done.queue_name, "emails");
}

TEST(QueueOpTest, ParsesExtensions) {
  auto add = std::get<AddOp>(MustParse(
      R"({"Add":{"queue_name":"q","task_name":"t","info":null,"priority":-3,"delay_ms":500,"max_attempts":4,"timeout_ms":100}})"));
  EXPECT_EQ(add.priority, -3);
  EXPECT_EQ(add.delay_ms, 500u);
  EXPECT_EQ(add.max_attempts, 4u);
  EXPECT_EQ(add.timeout_ms, 100u);
  auto fail = std::get<FailOp>(
      MustParse(std::string(R"({"Fail":{"queue_name":"q","id":")") + kTask + R"(","worker_id":")" +
                kWorker + R"(","lease":2,"error":"boom","retry_in_ms":800,"dead":false}})"));
  EXPECT_EQ(fail.lease, 2u);
  EXPECT_EQ(fail.error, "boom");
  EXPECT_EQ(fail.retry_in_ms, 800u);
  auto cancel = std::get<CancelOp>(
      MustParse(std::string(R"({"Cancel":{"queue_name":"q","id":")") + kTask + R"("}})"));
  EXPECT_EQ(cancel.id.ToString(), kTask);
}

TEST(QueueOpTest, HistoryFieldsAndPurge) {
  const std::string w =
      std::string(R"("queue_name":"q","id":")") + kTask + R"(","worker_id":")" + kWorker + "\"";
  auto done = std::get<DoneOp>(MustParse("{\"Done\":{" + w + R"(,"result":{"b":[1, 2]}}})"));
  EXPECT_EQ(done.result_json, R"({"b":[1,2]})");
  auto beat = std::get<ProgressOp>(MustParse("{\"Progress\":{" + w + R"(,"progress":null}})"));
  EXPECT_EQ(beat.progress_json, "null") << "a JSON-valued member holds null as its value";
  EXPECT_EQ(std::get<ProgressOp>(MustParse("{\"Progress\":{" + w + "}}")).progress_json, "");
  auto add = std::get<AddOp>(
      MustParse(R"({"Add":{"queue_name":"q","task_name":"t","info":1,"run_at_ms":99}})"));
  EXPECT_EQ(add.run_at_ms, 99u);
  auto purge = std::get<PurgeOp>(
      MustParse(std::string(R"({"Purge":{"queue_name":"q","id":")") + kTask + "\"}}"));
  EXPECT_EQ(purge.id.ToString(), kTask);
  auto batch = std::get<BatchOp>(
      MustParse(std::string(R"({"Batch":[{"Purge":{"queue_name":"q","id":")") + kTask + "\"}}]}"));
  EXPECT_TRUE(std::holds_alternative<PurgeOp>(batch.ops.at(0)));
  for (const QueueOp& op : {QueueOp(done), QueueOp(beat), QueueOp(add), QueueOp(purge)}) {
    EXPECT_EQ(MustParse(SerializeQueueOp(op)), op) << SerializeQueueOp(op);
  }
  EXPECT_EQ(SerializeQueueOp(purge),
            std::string(R"({"Purge":{"queue_name":"q","id":")") + kTask + "\"}}");
  EXPECT_NE(RejectReason(R"({"Purge":{"queue_name":"q"}})").find("missing field \"id\""),
            std::string::npos);
}

TEST(QueueOpTest, NonOpDataIsForeign) {
  for (const char* data : {"null", "1", "\"Add\"", "[]", "{}", R"({"Add":{},"Done":{}})",
                           R"({"key":"value"})", R"({"Set":{"table":"t"}})", "not json"}) {
    EXPECT_TRUE(std::holds_alternative<ForeignData>(ParseQueueOpText(data))) << data;
  }
}

TEST(QueueOpTest, MalformedOpsAreRejectedWithReason) {
  EXPECT_NE(RejectReason(R"({"Create":{"name":"q"}})").find("timeout_ms"), std::string::npos);
  EXPECT_NE(RejectReason(R"({"Create":{"name":"q","timeout_ms":-1}})").find("non-negative"),
            std::string::npos);
  EXPECT_NE(RejectReason(R"({"Create":{"name":"bad name","timeout_ms":1}})").find("queue name"),
            std::string::npos);
  EXPECT_NE(RejectReason(R"({"Delete":5})").find("string"), std::string::npos);
  EXPECT_NE(RejectReason(R"({"Add":{"queue_name":"q","task_name":"t"}})").find("info"),
            std::string::npos);
  EXPECT_NE(RejectReason(R"({"Add":{"queue_name":"q","task_name":7,"info":1}})").find("task_name"),
            std::string::npos);
  EXPECT_NE(
      RejectReason(R"({"Progress":{"queue_name":"q","id":"nope","worker_id":"x"}})").find("UUID"),
      std::string::npos);
  EXPECT_NE(RejectReason(R"({"Done":[]})").find("object"), std::string::npos);
  EXPECT_NE(RejectReason(R"({"Cancel":{"queue_name":"q"}})").find("id"), std::string::npos);
}

TEST(QueueOpTest, SerializeRoundTripsAndKeepsOriginalShape) {
  CreateOp create{"emails", 30000, std::nullopt, std::nullopt};
  EXPECT_EQ(SerializeQueueOp(create), R"({"Create":{"name":"emails","timeout_ms":30000}})");
  ProgressOp progress{"emails", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 0};
  EXPECT_EQ(SerializeQueueOp(progress),
            std::string(R"({"Progress":{"queue_name":"emails","id":")") + kTask +
                R"(","worker_id":")" + kWorker + R"("}})");
  std::vector<QueueOp> ops = {
      create,
      DeleteOp{"emails"},
      AddOp{"q", "t\"\\\n", R"({"a":[1,"\u0000"]})", 5, 10, 3, 99},
      progress,
      ProgressOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 7},
      DoneOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 1},
      FailOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 2, "oops", 1000, true},
      CancelOp{"q", *Uuid::Parse(kTask)},
      ProgressOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 0, 2},
      DoneOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 1, 4294967295u},
      FailOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 0, "x", 5, false, 1},
      CancelOp{"q", *Uuid::Parse(kTask), 3},
      RetryOp{"q", *Uuid::Parse(kTask), 1},
      PauseOp{"q", true},
      PauseOp{"q", false},
  };
  for (const QueueOp& op : ops) {
    std::string json = SerializeQueueOp(op);
    EXPECT_EQ(MustParse(json), op) << json;
  }
}

// The worker ops are written as text directly; it must be exactly what
// Boost.JSON prints for the same object (MakeOpEvent relies on it) and read
// back as the same op.
TEST(QueueOpTest, WorkerOpTextIsCanonicalAndRoundTrips) {
  std::mt19937_64 rng(29);
  const std::string pieces[] = {
      "a",      "\"",         "\\", "\n", "\t", std::string(1, '\0'), "\x01", "\x1f", "\u00e9",
      "\u20ac", "\U0001F600", "/",  " ",  "{}"};
  auto text = [&] {
    std::string out;
    for (uint64_t n = rng() % 6; n > 0; --n) out += pieces[rng() % std::size(pieces)];
    return out;
  };
  const std::string queues[] = {"q", "Emails.v2-_x"};
  for (int i = 0; i < 2000; ++i) {
    const std::string& queue = queues[i % 2];
    uint64_t lease = i % 4 == 0 ? 0 : (i % 4 == 1 ? UINT64_MAX : rng() % 1000);
    std::vector<QueueOp> ops = {
        ProgressOp{queue, Uuid::Random(), Uuid::Random(), lease},
        DoneOp{queue, Uuid::Random(), Uuid::Random(), lease},
        FailOp{queue, Uuid::Random(), Uuid::Random(), lease, text(), i % 3 ? rng() : 0, i % 2 == 0},
        CancelOp{queue, Uuid::Random()},
    };
    for (const QueueOp& op : ops) {
      std::string json = SerializeQueueOp(op);
      ASSERT_EQ(boost::json::serialize(boost::json::parse(json)), json);
      ASSERT_EQ(MustParse(json), op) << json;
    }
    // An invalid queue name is still written as Boost.JSON would (and the
    // op reads back rejected).
    std::string json = SerializeQueueOp(DoneOp{text() + "\"", Uuid::Random(), Uuid::Random(), 1});
    ASSERT_EQ(boost::json::serialize(boost::json::parse(json)), json);
  }
}

std::string Progress(const std::string& queue, const char* task, uint64_t lease) {
  return std::string(R"({"Progress":{"queue_name":")") + queue + R"(","id":")" + task +
         R"(","worker_id":")" + kWorker + R"(","lease":)" + std::to_string(lease) + "}}";
}

const char kTask2[] = "11111111-2222-4333-8444-555555555555";

TEST(QueueOpTest, BatchHoldsTaskOpsInOrder) {
  std::string json = std::string(R"({"Batch":[)") + Progress("q", kTask, 3) +
                     R"(,{"Done":{"queue_name":"q","id":")" + kTask2 + R"(","worker_id":")" +
                     kWorker + R"(","extra":1}},{"Cancel":{"queue_name":"r","id":")" + kTask +
                     R"("}}]})";
  auto batch = std::get<BatchOp>(MustParse(json));
  ASSERT_EQ(batch.ops.size(), 3u);
  EXPECT_EQ(std::get<ProgressOp>(batch.ops[0]),
            (ProgressOp{"q", *Uuid::Parse(kTask), *Uuid::Parse(kWorker), 3}));
  EXPECT_EQ(std::get<DoneOp>(batch.ops[1]).id.ToString(), kTask2);
  // The same task in another queue is another register.
  EXPECT_EQ(std::get<CancelOp>(batch.ops[2]).queue_name, "r");
  EXPECT_EQ(ToQueueOp(batch.ops[1]), QueueOp(std::get<DoneOp>(batch.ops[1])));
}

TEST(QueueOpTest, MalformedBatchesAreRejectedWhole) {
  EXPECT_NE(RejectReason(R"({"Batch":{}})").find("array"), std::string::npos);
  EXPECT_NE(RejectReason(R"({"Batch":[]})").find("1 to 1000"), std::string::npos);
  std::string many = R"({"Batch":[)";
  for (size_t i = 0; i <= kMaxBatchOps; ++i) {
    if (i > 0) many += ',';
    many += Progress("q", kTask, i);
  }
  EXPECT_NE(RejectReason(many + "]}").find("got 1001"), std::string::npos);
  // A malformed op names its position and reason.
  std::string reason =
      RejectReason(std::string(R"({"Batch":[)") + Progress("q", kTask, 0) +
                   R"(,{"Progress":{"queue_name":"q","id":"nope","worker_id":"x"}}]})");
  EXPECT_NE(reason.find("Batch: op 1: Progress:"), std::string::npos) << reason;
  EXPECT_NE(reason.find("UUID"), std::string::npos) << reason;
  // Queue ops cannot be batched.
  reason = RejectReason(R"({"Batch":[{"Create":{"name":"q","timeout_ms":1}}]})");
  EXPECT_NE(reason.find("\"Create\" cannot be batched"), std::string::npos) << reason;
  EXPECT_NE(RejectReason(R"({"Batch":[{"Set":1}]})").find("cannot be batched"), std::string::npos);
  // Adds and task ops do not mix, in either order.
  const std::string add = R"({"Add":{"queue_name":"q","task_name":"t","info":1}})";
  EXPECT_EQ(RejectReason(R"({"Batch":[)" + add + "," + Progress("q", kTask, 1) + "]}"),
            "Batch: a Batch holds Adds or other ops, not both");
  EXPECT_EQ(RejectReason(R"({"Batch":[)" + Progress("q", kTask, 1) + "," + add + "]}"),
            "Batch: a Batch holds Adds or other ops, not both");
  reason = RejectReason(R"({"Batch":[)" + add + R"(,{"Add":{"queue_name":"q","info":1}}]})");
  EXPECT_NE(reason.find("Batch: op 1: Add:"), std::string::npos) << reason;
  EXPECT_NE(reason.find("task_name"), std::string::npos) << reason;
  EXPECT_NE(RejectReason(R"({"Batch":[7]})").find("one member"), std::string::npos);
  EXPECT_NE(RejectReason(R"({"Batch":[{"Done":{},"Progress":{}}]})").find("one member"),
            std::string::npos);
  // Naming a task twice would give two register keys with the same stamp.
  reason = RejectReason(std::string(R"({"Batch":[)") + Progress("q", kTask, 1) + "," +
                        Progress("q", kTask2, 1) + "," + Progress("q", kTask, 2) + "]}");
  EXPECT_NE(reason.find("op 2 names task " + std::string(kTask) + " again"), std::string::npos)
      << reason;
}

TEST(QueueOpTest, BatchTextIsCanonicalAndRoundTrips) {
  std::mt19937_64 rng(31);
  for (int i = 0; i < 500; ++i) {
    BatchOp batch;
    for (uint64_t n = 1 + rng() % 40; n > 0; --n) {
      const Uuid task = Uuid::Random();
      switch (rng() % 4) {
        case 0:
          batch.ops.emplace_back(ProgressOp{"q", task, Uuid::Random(), rng() % 3});
          break;
        case 1:
          batch.ops.emplace_back(DoneOp{"emails", task, Uuid::Random(), rng() % 3});
          break;
        case 2:
          batch.ops.emplace_back(FailOp{"q", task, Uuid::Random(), rng() % 3, "e\"\n", 5, false});
          break;
        default:
          batch.ops.emplace_back(CancelOp{"q", task});
      }
    }
    const QueueOp op = batch;
    std::string json = SerializeQueueOp(op);
    ASSERT_EQ(boost::json::serialize(boost::json::parse(json)), json);
    ASSERT_EQ(MustParse(json), op) << json;
  }
}

TEST(QueueOpTest, BatchOfAddsRoundTrips) {
  std::mt19937_64 rng(37);
  for (int i = 0; i < 200; ++i) {
    BatchOp batch;
    for (uint64_t n = 1 + rng() % 40; n > 0; --n) {
      AddOp add = PlainAdd(i % 2 ? "q" : "emails", "t\"" + std::to_string(rng() % 100),
                           R"({"k":[1,"x"],"n":null})");
      if (rng() % 2) add.priority = -static_cast<int64_t>(rng() % 9);
      if (rng() % 3 == 0) add.max_attempts = 3;
      if (rng() % 3 == 0) add.run_at_ms = rng() % 1'000'000;
      batch.adds.push_back(std::move(add));
    }
    const QueueOp op = batch;
    std::string json = SerializeQueueOp(op);
    ASSERT_EQ(boost::json::serialize(boost::json::parse(json)), json);
    ASSERT_EQ(MustParse(json), op) << json;
  }
  // Any JSON as an Add's info, kept as its compact text.
  auto batch = std::get<BatchOp>(MustParse(
      R"({"Batch":[{"Add":{"queue_name":"q","task_name":"a","info":{ "x" : [1, {"y":null}] }}},)"
      R"({"Add":{"queue_name":"r","task_name":"b","info":"s","priority":2}}]})"));
  ASSERT_EQ(batch.adds.size(), 2u);
  EXPECT_TRUE(batch.ops.empty());
  EXPECT_EQ(batch.adds[0].info_json, R"({"x":[1,{"y":null}]})");
  EXPECT_EQ(batch.adds[1].queue_name, "r");
  EXPECT_EQ(batch.adds[1].priority, 2);
}

TEST(QueueOpTest, BatchTaskIdsFollowTheEntryId) {
  const Uuid entry = *Uuid::Parse("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0fa1b2");
  EXPECT_EQ(BatchTaskId(entry, 0), entry);
  EXPECT_EQ(BatchTaskId(entry, 1).ToString(), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0fa1b3");
  EXPECT_EQ(BatchTaskId(entry, 999).ToString(), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0fa599");
  // The tasks of one batch sort in the order added.
  for (size_t k = 1; k < kMaxBatchOps; ++k) {
    ASSERT_LT(BatchTaskId(entry, k - 1), BatchTaskId(entry, k)) << k;
  }
  // The last 62 bits wrap; the variant bits (10 in the 9th byte) stay.
  const Uuid top = *Uuid::Parse("0190a1b2-c3d4-7e5f-bfff-ffffffffffff");
  EXPECT_EQ(BatchTaskId(top, 1).ToString(), "0190a1b2-c3d4-7e5f-8000-000000000000");
  EXPECT_EQ(BatchTaskId(top, 2).ToString(), "0190a1b2-c3d4-7e5f-8000-000000000001");
  // A version 4 id from another writer works the same way.
  const Uuid v4 = *Uuid::Parse("9f0c1d2e-3a4b-4c5d-9e6f-708192a3b4c5");
  EXPECT_EQ(BatchTaskId(v4, 16).ToString(), "9f0c1d2e-3a4b-4c5d-9e6f-708192a3b4d5");

  std::vector<Uuid> ids;
  AppendAddedTaskIds(QueueOp(PlainAdd("q", "t", "1")), entry, &ids);
  AppendAddedTaskIds(QueueOp(BatchOp{{}, {PlainAdd("q", "a", "1"), PlainAdd("q", "b", "2")}}), v4,
                     &ids);
  AppendAddedTaskIds(QueueOp(CancelOp{"q", entry}), entry, &ids);
  EXPECT_EQ(ids, (std::vector<Uuid>{entry, v4, BatchTaskId(v4, 1)}));
}

TEST(QueueOpTest, QueueNameRules) {
  EXPECT_TRUE(ValidateQueueName("a").ok());
  EXPECT_TRUE(ValidateQueueName("Emails_v2.high-priority").ok());
  EXPECT_TRUE(ValidateQueueName(std::string(128, 'q')).ok());
  EXPECT_FALSE(ValidateQueueName("").ok());
  EXPECT_FALSE(ValidateQueueName(std::string(129, 'q')).ok());
  EXPECT_FALSE(ValidateQueueName("a/b").ok());
  EXPECT_FALSE(ValidateQueueName("a b").ok());
  EXPECT_FALSE(ValidateQueueName("drop table;").ok());
  EXPECT_FALSE(ValidateQueueName("é").ok());
}

}  // namespace
}  // namespace pigtail

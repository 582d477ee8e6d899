// The URI registry: schemes, errors, and the rocksdb:PATH layout.
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/registry.h"
#include "tests/backends/backend_fixture.h"
#include "tests/backends/test_macros.h"
#include "tests/backends/workload.h"

namespace pigtail::testing {
namespace {

TEST(RegistryTest, UnknownSchemeNamesTheAcceptedOnes) {
  for (const char* uri : {"", "mysql://x", "rocksdb", "memory", "file:/tmp/x", "ROCKSDB:/x"}) {
    Result<std::unique_ptr<EventStore>> events = OpenEventStore(uri);
    ASSERT_FALSE(events.ok()) << uri;
    EXPECT_EQ(events.status().code(), StatusCode::kInvalidArgument) << uri;
    for (const char* scheme : {"memory:", "rocksdb:PATH", "postgresql://", "postgres://"}) {
      EXPECT_NE(events.status().message().find(scheme), std::string::npos)
          << uri << ": " << events.status().message();
    }
    Result<std::unique_ptr<StateStore>> state = OpenStateStore(uri);
    ASSERT_FALSE(state.ok()) << uri;
    EXPECT_EQ(state.status().code(), StatusCode::kInvalidArgument) << uri;
  }
}

TEST(RegistryTest, RocksDbNeedsAPath) {
  Result<std::unique_ptr<EventStore>> events = OpenEventStore("rocksdb:");
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kInvalidArgument);
}

TEST(RegistryTest, MemoryStoresAreIndependent) {
  std::unique_ptr<EventStore> a = MUST(OpenEventStore("memory:"));
  std::unique_ptr<EventStore> b = MUST(OpenEventStore("memory:"));
  EventMaker maker(1);
  Uuid owner = maker.NewId();
  EXPECT_EQ(MUST(a->Append(std::vector<Event>{maker.Next(owner, "1")}, true)),
            (std::vector<uint64_t>{1}));
  EXPECT_EQ(MUST(b->Count()), 0u);
  std::unique_ptr<StateStore> s = MUST(OpenStateStore("memory:"));
  EXPECT_EQ(MUST(s->Checkpoint()), 0u);
}

TEST(RegistryTest, RocksDbLogAndStateShareOnePath) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  std::unique_ptr<EventStore> log = MUST(OpenEventStore(backend.uri(), backend.options()));
  std::unique_ptr<StateStore> state = MUST(OpenStateStore(backend.uri(), backend.options()));
  const std::string dir = backend.dir();
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::path(dir) / "log"));
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::path(dir) / "state"));
  EventMaker maker(2);
  QueueWorkload workload(3, 1);
  std::vector<Event> events = workload.Take(20);
  std::vector<uint64_t> seqs = MUST(log->Append(events, true));
  EXPECT_EQ(seqs.back(), 20u);
  State projected;
  ProjectAll(events, &projected);
  ASSERT_OK(state->Commit(projected.TakeChanges(20), true));
  EXPECT_EQ(MUST(state->Checkpoint()), 20u);
  // A second opener of the same database is refused while the first holds it,
  // with an error that says so.
  Result<std::unique_ptr<EventStore>> again = OpenEventStore(backend.uri(), backend.options());
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(IsStoreLocked(again.status())) << again.status().ToString();
  EXPECT_NE(again.status().message().find("the log at " + backend.uri() + " is locked"),
            std::string::npos)
      << again.status().ToString();
  EXPECT_FALSE(IsStoreLocked(Status::Unavailable("server down")));
}

TEST(RegistryTest, RocksDbReaderCreatesNothing) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string dir = backend.dir() + "/missing";
  BackendOptions reading = backend.options();
  reading.create_if_missing = false;
  Result<std::unique_ptr<EventStore>> log = OpenEventStore("rocksdb:" + dir, reading);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kNotFound) << log.status().ToString();
  EXPECT_NE(log.status().message().find("no Pigtail log at rocksdb:" + dir), std::string::npos)
      << log.status().ToString();
  Result<std::unique_ptr<StateStore>> state = OpenStateStore("rocksdb:" + dir, reading);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), StatusCode::kNotFound) << state.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir));
  // Once a writer made it, a reader opens it.
  std::vector<std::string> created;
  BackendOptions writing = backend.options();
  writing.on_created = [&](const std::string& where) { created.push_back(where); };
  MUST(OpenEventStore("rocksdb:" + dir, writing)).reset();
  MUST(OpenEventStore("rocksdb:" + dir, writing)).reset();
  EXPECT_EQ(created, std::vector<std::string>{"rocksdb:" + dir + " (log)"});
  MUST(OpenEventStore("rocksdb:" + dir, reading)).reset();
}

TEST(RegistryTest, RocksDbWriterCreatesAStoreOnlyInAnExistingDirectory) {
  TestBackend backend(BackendKind::kRocksDb);
  ASSERT_OK(backend.Prepare());
  const std::string base = backend.dir();
  Result<std::unique_ptr<StateStore>> nested =
      OpenStateStore("rocksdb:" + base + "/no/such/data", backend.options());
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().code(), StatusCode::kNotFound);
  EXPECT_NE(nested.status().message().find("the directory " + base + "/no/such does not exist"),
            std::string::npos)
      << nested.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(base + "/no"));
  // A trailing slash names the same store.
  MUST(OpenStateStore("rocksdb:" + base + "/data/", backend.options())).reset();
  EXPECT_TRUE(std::filesystem::is_directory(base + "/data/state"));
}

TEST(RegistryTest, PostgresReaderCreatesNoSchema) {
  TestBackend backend(BackendKind::kPostgres);
  ASSERT_OK(backend.Prepare());
  BackendOptions reading = backend.options();
  reading.create_if_missing = false;
  for (int i = 0; i < 2; ++i) {  // the first attempt left nothing behind
    Result<std::unique_ptr<StateStore>> state = OpenStateStore(backend.uri(), reading);
    ASSERT_FALSE(state.ok());
    EXPECT_EQ(state.status().code(), StatusCode::kNotFound) << state.status().ToString();
    EXPECT_NE(state.status().message().find("no Pigtail store in schema " +
                                            backend.options().postgres_schema),
              std::string::npos)
        << state.status().ToString();
    EXPECT_FALSE(OpenEventStore(backend.uri(), reading).ok());
  }
  std::vector<std::string> created;
  BackendOptions writing = backend.options();
  writing.on_created = [&](const std::string& where) { created.push_back(where); };
  MUST(OpenEventStore(backend.uri(), writing)).reset();
  MUST(OpenStateStore(backend.uri(), writing)).reset();
  EXPECT_EQ(created,
            std::vector<std::string>{"PostgreSQL schema " + backend.options().postgres_schema});
  MUST(OpenStateStore(backend.uri(), reading)).reset();
}

TEST(RegistryTest, PostgresSchemesReachTheBackend) {
  // An unreachable server: the error is the backend's, not "unknown scheme".
  for (const char* uri : {"postgresql://127.0.0.1:1/none?connect_timeout=2",
                          "postgres://127.0.0.1:1/none?connect_timeout=2"}) {
    Result<std::unique_ptr<EventStore>> events = OpenEventStore(uri);
    ASSERT_FALSE(events.ok());
    EXPECT_NE(events.status().code(), StatusCode::kInvalidArgument) << events.status().ToString();
  }
}

}  // namespace
}  // namespace pigtail::testing

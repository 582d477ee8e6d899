// Catch-up rate: a fresh node fetches N entries it missed from a peer,
// with the batched range endpoint (GET /log/range pages) and with the
// Potboiler walk (GET /log/first, then GET /log/{id} along `next`), side by
// side. Both nodes run in this process on RocksDB in a temporary
// directory, over real HTTP on 127.0.0.1; the fetching node stores and
// projects every entry through its sequencer (sync per batch). Each run
// must end with the peer's digest.
//
//   replication_benchmark [--entries N] [--walk-entries M] [--page P]
//                         [--restart-source 1]
//
// With --restart-source 1, the range case's source is started a second
// time before the pull (its state then holds the N-1 Pending tasks its
// first start caught up), and the time that start took is printed: a
// node's restart with that many live tasks (random ids).
// N defaults to PIGTAIL_CATCHUP_ENTRIES or 100000; the walk fetches the
// first M (default PIGTAIL_CATCHUP_WALK_ENTRIES or N) of them from a peer
// holding only M entries, so that a slow walk can be measured on fewer.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "backends/registry.h"
#include "server/replicator.h"
#include "server/server.h"

namespace pigtail {
namespace {

// A node on the RocksDB stores in `dir`, served on 127.0.0.1 (a free port).
Result<std::unique_ptr<Server>> Open(const std::string& dir) {
  ServerOptions options;
  options.http.port = 0;
  options.log_uri = options.state_uri = "rocksdb:" + dir;
  options.drain = std::chrono::milliseconds(1000);
  return Server::Start(std::move(options));
}

std::string UrlOf(const Server& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

// Writes a chain of `n` entries owned by a made-up peer straight into the
// log at `dir` (a Create, then Adds), as if they had been written there.
Status Generate(const std::string& dir, size_t n) {
  PIGTAIL_ASSIGN_OR_RETURN(auto log, OpenEventStore("rocksdb:" + dir));
  Uuid owner = Uuid::Random();
  std::optional<Uuid> prev;
  Hlc when{0, 1'700'000'000'000'000'000ull, 0};
  std::vector<Event> batch;
  for (size_t i = 0; i < n; ++i) {
    std::string data = i == 0 ? R"({"Create":{"name":"q","timeout_ms":30000}})"
                              : R"({"Add":{"queue_name":"q","task_name":"task-)" +
                                    std::to_string(i) + R"(","info":{"foo":"bar"}}})";
    when.time += 1000;
    NewEvent fields{Uuid::Random(), owner, prev, when, std::move(data), {}};
    PIGTAIL_ASSIGN_OR_RETURN(Event e, MakeEvent(fields));
    prev = fields.id;
    batch.push_back(std::move(e));
    if (batch.size() == 10'000 || i + 1 == n) {
      PIGTAIL_RETURN_IF_ERROR(log->Append(batch, false).status());
      batch.clear();
    }
  }
  return Status::Ok();
}

std::string DigestOf(Node* node) {
  return node->Read([](const State& s) { return s.total_digest().ToHex(); });
}

struct Run {
  double seconds = 0;
  uint64_t stored = 0;
  bool digest_ok = false;
};

Result<Run> CatchUp(const std::string& root, const std::string& name, Server& source, bool walk,
                    size_t page) {
  PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<Server> fresh, Open(root + "/" + name));
  ReplicatorOptions options;
  options.batch = page;
  options.request_timeout = std::chrono::milliseconds(30'000);
  PeerClient client(fresh->node(), fresh->sequencer(), UrlOf(source), options);
  auto start = std::chrono::steady_clock::now();
  PIGTAIL_ASSIGN_OR_RETURN(uint64_t stored, client.PullMissing(walk));
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.stored = stored;
  run.digest_ok = DigestOf(fresh->node()) == DigestOf(source.node());
  return run;
}

size_t EnvSize(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

int Main(int argc, char** argv) {
  size_t entries = EnvSize("PIGTAIL_CATCHUP_ENTRIES", 100'000);
  size_t walk_entries = EnvSize("PIGTAIL_CATCHUP_WALK_ENTRIES", 0);
  size_t page = ReplicatorOptions().batch;
  bool restart_source = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    size_t value = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--entries") {
      entries = value;
    } else if (flag == "--walk-entries") {
      walk_entries = value;
    } else if (flag == "--page") {
      page = value;
    } else if (flag == "--restart-source") {
      restart_source = value != 0;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (walk_entries == 0) walk_entries = entries;
  if (entries < 2 || walk_entries < 2 || page < 1 || page > 10'000) {
    std::fprintf(stderr, "need --entries >= 2, --walk-entries >= 2, --page 1..10000\n");
    return 2;
  }
  char tmpl[] = "/tmp/pigtail-catchup-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string root = tmpl;
  int code = 0;
  double restart_seconds = -1;
  {
    struct Case {
      const char* name;
      size_t n;
      bool walk;
    };
    const Case cases[] = {{"batched GET /log/range", entries, false},
                          {"Potboiler walk GET /log/{id}", walk_entries, true}};
    std::printf(
        "| method | entries | seconds | entries/s | digest |\n| --- | ---: | ---: | ---: | --- "
        "|\n");
    for (const Case& c : cases) {
      std::string source_dir = root + "/source-" + std::to_string(c.n);
      if (!std::filesystem::exists(source_dir)) {
        Status generated = Generate(source_dir, c.n);
        if (!generated.ok()) {
          std::fprintf(stderr, "generate: %s\n", generated.ToString().c_str());
          code = 1;
          break;
        }
      }
      const bool time_restart = restart_source && !c.walk;
      if (time_restart) {
        Result<std::unique_ptr<Server>> first = Open(source_dir);
        if (!first.ok()) {
          std::fprintf(stderr, "open: %s\n", first.status().ToString().c_str());
          code = 1;
          break;
        }
        (*first)->Stop();
      }
      const auto open_start = std::chrono::steady_clock::now();
      Result<std::unique_ptr<Server>> opened = Open(source_dir);
      if (time_restart && opened.ok()) {
        restart_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
      }
      if (!opened.ok()) {
        std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
        code = 1;
        break;
      }
      Result<Run> run = CatchUp(root, std::string("fresh-") + (c.walk ? "walk" : "range"), **opened,
                                c.walk, page);
      if (!run.ok()) {
        std::fprintf(stderr, "%s: %s\n", c.name, run.status().ToString().c_str());
        code = 1;
        break;
      }
      std::printf("| %s | %llu | %.2f | %.0f | %s |\n", c.name,
                  static_cast<unsigned long long>(run->stored), run->seconds,
                  static_cast<double>(run->stored) / run->seconds,
                  run->digest_ok ? "equal" : "DIFFERENT");
      std::fflush(stdout);
      if (!run->digest_ok || run->stored != c.n) code = 1;
    }
  }
  if (restart_seconds >= 0) {
    std::printf("\nsource restart with %zu live tasks: %.2f s\n", entries - 1, restart_seconds);
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return code;
}

}  // namespace
}  // namespace pigtail

int main(int argc, char** argv) { return pigtail::Main(argc, argv); }

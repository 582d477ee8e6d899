// pigtail-load: drives a running pigtaild over HTTP keep-alive with
// concurrent providers and workers, and prints adds/s (single and batch),
// full task lifecycles/s (add -> claim -> done, batched claim and done) and
// add -> claimed latency percentiles with long poll; and, over the nodes of
// a cluster, how many tasks more than one worker claimed.
//
//   pigtail-load --url http://127.0.0.1:8000 --providers 8 --workers 8 --tasks 20000
//   pigtail-load --url URL1 --peers URL2,URL3 --phases duplicates --tasks 2000
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/flags.h"
#include "core/redact.h"
#include "core/uuid.h"
#include "core/version.h"
#include "server/http_client.h"
#include "server/node_work.h"

namespace {

using pigtail::HttpConnection;
using pigtail::HttpResponse;
using pigtail::Result;
using Clock = std::chrono::steady_clock;

// The flags; each default is written here once (--help shows them).
struct Options {
  std::string url = "http://127.0.0.1:8000";
  int providers = 8;
  int workers = 8;
  int tasks = 20'000;
  int batch = 1'000;    // tasks per batch add
  int claim_max = 100;  // tasks per claim-next
  int latency_tasks = 2'000;
  std::string phases = "single,batch,process,latency";
  std::string peers;             // the other nodes of --url's cluster (duplicates)
  std::string add_to = "first";  // duplicates: adds to "first" (--url) or "spread"
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "pigtail-load: %s\n", pigtail::RedactSecrets(message).c_str());
  std::exit(1);
}

// The terminate handler: an exception no one caught (a reply that is not
// what the API promises, as from a node stopped in the middle of a phase)
// ends the run, from whichever thread read it, with a message and exit
// code 1 instead of an abort.
[[noreturn]] void DieOfUncaughtException() {
  std::string what = "unknown exception";
  try {
    if (std::exception_ptr e = std::current_exception()) std::rethrow_exception(e);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr,
               "pigtail-load: the node's reply is not what the API promises (%s); is the node "
               "still running?\n",
               what.c_str());
  std::_Exit(1);
}

std::string host_;
std::string port_;

HttpResponse Must(HttpConnection& c, const char* method, const std::string& target,
                  const std::string& body, int want) {
  Result<HttpResponse> r = c.Send(method, target, body);
  if (!r.ok()) Die(std::string(method) + " " + target + ": " + r.status().ToString());
  if (r->status != want) {
    Die(std::string(method) + " " + target + ": HTTP " + std::to_string(r->status) + " " + r->body);
  }
  return *r;
}

// Waits until the node answers GET /ready with 200: a node that is still
// loading its state answers 503 until it serves. Dies if it does not answer,
// or is not ready within a minute.
void WaitUntilReady(HttpConnection& c) {
  const auto deadline = Clock::now() + std::chrono::minutes(1);
  while (true) {
    Result<HttpResponse> r = c.Send("GET", "/ready", "");
    if (!r.ok()) Die("GET /ready: " + r.status().ToString() + "; is pigtaild running there?");
    if (r->status == 200) return;
    if (Clock::now() > deadline) {
      Die("the node is not ready after a minute: HTTP " + std::to_string(r->status) + " " +
          r->body);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string TaskJson(int i) {
  return R"({"task_name":"task-)" + std::to_string(i) + R"(","info":{"foo":"bar"}})";
}

std::string NewQueue(const char* prefix) {
  HttpConnection c(host_, port_);
  std::string name = std::string(prefix) + "-" + pigtail::Uuid::Random().ToString().substr(0, 8);
  Must(c, "POST", "/create", R"({"name":")" + name + R"(","timeout_ms":60000})", 201);
  return name;
}

template <typename F>
double RunThreads(int n, F f) {
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(f, i);
  for (std::thread& t : threads) t.join();
  return Seconds(Clock::now() - start);
}

// Workers claim (batched, long poll) and finish (batched) until `total`
// tasks are done. Returns the seconds until the done that finished the last
// task was answered; workers whose claims then still wait on the empty queue
// (up to wait_ms) are not counted, the clock benchmarks/peers stops for
// every peer's consumers.
double Process(const Options& o, const std::string& queue, int total) {
  std::atomic<int> done{0};
  const Clock::time_point start = Clock::now();
  std::atomic<int64_t> finished_ns{0};
  const double joined = RunThreads(o.workers, [&](int) {
    HttpConnection c(host_, port_);
    std::string worker = pigtail::Uuid::Random().ToString();
    std::string claim = R"({"worker_id":")" + worker + R"(","max":)" + std::to_string(o.claim_max) +
                        R"(,"wait_ms":200})";
    auto deadline = Clock::now() + std::chrono::minutes(10);
    while (done.load() < total && Clock::now() < deadline) {
      HttpResponse r = Must(c, "POST", "/queue/" + queue + "/claim", claim, 200);
      // One arena per reply, as the client library parses (client/client.cc).
      boost::json::monotonic_resource arena;
      boost::json::value v = boost::json::parse(r.body, &arena);
      const boost::json::array& tasks = v.at("tasks").as_array();
      if (tasks.empty()) continue;
      std::string body = R"({"worker_id":")" + worker + R"(","tasks":[)";
      for (size_t i = 0; i < tasks.size(); ++i) {
        if (i > 0) body += ",";
        body += R"({"id":")" + std::string(tasks[i].at("id").as_string()) + R"(","lease":)" +
                std::to_string(tasks[i].at("lease").to_number<uint64_t>()) + "}";
      }
      body += "]}";
      HttpResponse d = Must(c, "POST", "/queue/" + queue + "/done", body, 200);
      const int n = static_cast<int>(boost::json::parse(d.body).at("done").to_number<int64_t>());
      if (done.fetch_add(n) + n >= total) {
        int64_t unset = 0;
        finished_ns.compare_exchange_strong(unset, (Clock::now() - start).count());
      }
    }
  });
  const int64_t ns = finished_ns.load();
  return ns > 0 ? Seconds(Clock::duration(ns)) : joined;
}

// The node's work counters and this process's CPU time at the start of a
// phase; Report() prints what the node did in the phase (server/node_work.h),
// or nothing for a node that does not report its work.
class PhaseMeter {
 public:
  PhaseMeter() : node_(SampleNode()), cpu_s_(pigtail::ProcessCpuSeconds()) {}

  void Report(double wall_s, int items) const {
    const double cpu_s = pigtail::ProcessCpuSeconds() - cpu_s_;
    std::optional<pigtail::NodeWorkSample> now = SampleNode();
    if (!node_ || !now) return;
    pigtail::LoadPhase phase;
    phase.wall_s = wall_s;
    phase.items = items;
    phase.client_cpu_s = cpu_s;
    phase.cores = std::max(1u, std::thread::hardware_concurrency());
    std::string text = pigtail::DescribeNodeWork(*node_, *now, phase);
    // Indented under the phase's line.
    for (size_t at = 0; at < text.size(); at = text.find('\n', at) + 1) text.insert(at, "  ");
    std::fputs(text.c_str(), stdout);
  }

 private:
  static std::optional<pigtail::NodeWorkSample> SampleNode() {
    HttpConnection c(host_, port_);
    Result<HttpResponse> r = c.Send("GET", "/metrics", "");
    if (!r.ok() || r->status != 200) return std::nullopt;
    return pigtail::ParseNodeWork(r->body);
  }

  std::optional<pigtail::NodeWorkSample> node_;
  double cpu_s_;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

// The duplicates phase: W long-polling workers on every node of `nodes`
// (claim one, wait up to 1 s, done on the same node) while P providers add
// `total` tasks one at a time, to the first node or spread over all. Ends
// once every task is done, or after 2 minutes. Prints how many tasks more
// than one worker claimed, the add -> first claim latency and the rate.
// Returns false if some task was not done.
bool Duplicates(const Options& o, const std::vector<pigtail::HttpUrl>& nodes,
                const std::string& queue, int total) {
  // The queue was created on the first node; wait until every node has it.
  auto deadline = Clock::now() + std::chrono::seconds(30);
  for (const pigtail::HttpUrl& node : nodes) {
    HttpConnection c(node.host, node.port);
    while (true) {
      Result<HttpResponse> r = c.Send("GET", "/queue/" + queue + "?limit=1", "");
      if (r.ok() && r->status == 200) break;
      if (Clock::now() > deadline)
        Die("queue " + queue + " did not reach " + node.host + ":" + node.port);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;         // guarded by mu
  std::map<std::string, Clock::time_point> first_claim;  // guarded by mu
  std::map<std::string, int> claims;                     // guarded by mu
  std::set<std::string> finished;                        // guarded by mu
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  Clock::time_point last_done = start;  // guarded by mu
  std::vector<std::thread> workers;
  for (const pigtail::HttpUrl& node : nodes) {
    for (int w = 0; w < o.workers; ++w) {
      workers.emplace_back([&, node] {
        HttpConnection conn(node.host, node.port);
        const std::string worker = pigtail::Uuid::Random().ToString();
        const std::string claim = R"({"worker_id":")" + worker + R"(","max":1,"wait_ms":1000})";
        while (!stop.load()) {
          HttpResponse r = Must(conn, "POST", "/queue/" + queue + "/claim", claim, 200);
          const Clock::time_point now = Clock::now();
          const boost::json::value claimed = boost::json::parse(r.body);
          for (const auto& task : claimed.at("tasks").as_array()) {
            const std::string id(task.at("id").as_string());
            {
              std::lock_guard lock(mu);
              first_claim.try_emplace(id, now);
              ++claims[id];
            }
            const std::string done = R"({"worker_id":")" + worker + R"(","tasks":[{"id":")" + id +
                                     R"(","lease":)" +
                                     std::to_string(task.at("lease").to_number<uint64_t>()) + "}]}";
            HttpResponse d = Must(conn, "POST", "/queue/" + queue + "/done", done, 200);
            if (boost::json::parse(d.body).at("done").to_number<int64_t>() > 0) {
              std::lock_guard lock(mu);
              if (finished.insert(id).second) last_done = Clock::now();
            }
          }
        }
      });
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // workers start polling
  const int per = total / o.providers;
  RunThreads(o.providers, [&](int p) {
    const pigtail::HttpUrl& node = o.add_to == "spread" ? nodes[p % nodes.size()] : nodes[0];
    HttpConnection conn(node.host, node.port);
    for (int i = 0; i < per; ++i) {
      const Clock::time_point at = Clock::now();
      HttpResponse r = Must(conn, "POST", "/queue/" + queue, TaskJson(p * per + i), 201);
      std::string id(boost::json::parse(r.body).at("id").as_string());
      std::lock_guard lock(mu);
      sent[id] = at;
    }
  });
  deadline = Clock::now() + std::chrono::minutes(2);
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (finished.size() >= sent.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  for (std::thread& w : workers) w.join();
  size_t twice = 0;
  size_t claim_count = 0;
  std::vector<double> ms;
  for (const auto& [id, at] : sent) {
    auto n = claims.find(id);
    if (n == claims.end()) continue;
    claim_count += static_cast<size_t>(n->second);
    if (n->second > 1) ++twice;
    ms.push_back(std::max(0.0, Seconds(first_claim.at(id) - at) * 1000));
  }
  const double seconds = Seconds(last_done - start);
  const double p50 = Percentile(ms, 0.50);
  const double p99 = Percentile(ms, 0.99);
  std::printf(
      "duplicates:   %8zu tasks, %zu nodes x %d workers, adds to %s: claimed more than once "
      "%zu (%.3f%%), claims %zu; add->claimed p50 %.3f ms, p99 %.3f ms; %zu done in %.2f s = "
      "%.0f lifecycles/s\n",
      sent.size(), nodes.size(), o.workers, o.add_to.c_str(), twice,
      sent.empty() ? 0.0 : 100.0 * static_cast<double>(twice) / static_cast<double>(sent.size()),
      claim_count, p50, p99, finished.size(), seconds,
      seconds > 0 ? static_cast<double>(finished.size()) / seconds : 0.0);
  return finished.size() == sent.size();
}

namespace po = boost::program_options;

constexpr char kUsage[] =
    "usage: pigtail-load [--url URL] [--providers P] [--workers W] [--tasks N]\n"
    "                    [--batch B] [--claim-max M] [--latency-tasks L]\n"
    "                    [--phases single,batch,process,latency,duplicates]\n"
    "                    [--peers URL,URL] [--add-to first|spread]\n"
    "Creates fresh queues on a running pigtaild and measures: single adds/s (P\n"
    "providers, one task per request), batch adds/s (B tasks per request),\n"
    "lifecycles/s (W workers, claim-next of up to M with long poll, batched done),\n"
    "and add->claimed latency of L tasks added one at a time with W long-polling\n"
    "workers. --phases picks which of these run (process works through what\n"
    "the add phases queued). duplicates (not run unless named) adds N tasks one at\n"
    "a time while W long-polling workers on --url and on each of --peers (nodes of\n"
    "one cluster) claim one task at a time and finish it on the same node, and\n"
    "counts the tasks more than one worker claimed.\n";
constexpr char kEnvPrefix[] = "PIGTAIL_LOAD_";

po::options_description Describe(Options* o) {
  const Options d;
  po::options_description flags("pigtail-load");
  // clang-format off
  flags.add_options()
      ("config", po::value<std::string>()->value_name("FILE"),
       "read `flag = value` lines (# comments) from FILE")
      ("url", po::value(&o->url)->value_name("URL")->default_value(d.url),
       "the pigtaild to drive")
      ("providers", po::value(&o->providers)->value_name("P")->default_value(d.providers),
       "threads adding tasks")
      ("workers", po::value(&o->workers)->value_name("W")->default_value(d.workers),
       "threads claiming and finishing tasks")
      ("tasks", po::value(&o->tasks)->value_name("N")->default_value(d.tasks),
       "tasks added by each add phase, split among the providers")
      ("batch", po::value(&o->batch)->value_name("B")->default_value(d.batch),
       "tasks per batch add")
      ("claim-max", po::value(&o->claim_max)->value_name("M")->default_value(d.claim_max),
       "tasks per claim-next")
      ("latency-tasks",
       po::value(&o->latency_tasks)->value_name("L")->default_value(d.latency_tasks),
       "tasks of the latency phase")
      ("phases", po::value(&o->phases)->value_name("LIST")->default_value(d.phases),
       "which phases run, comma-separated")
      ("peers", po::value(&o->peers)->value_name("URLS")->default_value(d.peers),
       "duplicates: the other nodes of --url's cluster, comma-separated")
      ("add-to", po::value(&o->add_to)->value_name("WHERE")->default_value(d.add_to),
       "duplicates: add every task to --url (first) or spread over the nodes (spread)")
      ("help,h", po::bool_switch(), "print this text")
      ("version", po::bool_switch(), "print the version and the commit it was built from");
  // clang-format on
  return flags;
}

// The URLs of --peers: comma-separated, none when empty.
Result<std::vector<pigtail::HttpUrl>> PeerUrls(const std::string& peers) {
  std::vector<pigtail::HttpUrl> urls;
  std::istringstream list(peers);
  std::string url;
  while (std::getline(list, url, ',')) {
    Result<pigtail::HttpUrl> parsed = pigtail::ParseHttpUrl(url);
    if (!parsed.ok()) return parsed.status().WithContext(url.empty() ? "an empty URL" : url);
    urls.push_back(*parsed);
  }
  return urls;
}

// Parses the flags into *o; returns an exit code when the program should
// stop here (0 after --help or --version, 2 after a usage error).
std::optional<int> ParseOptions(int argc, char** argv, Options* o) {
  po::options_description flags = Describe(o);
  po::variables_map vm;
  pigtail::Status parsed = pigtail::cli::ParseFlags(
      std::vector<std::string>(argv + 1, argv + argc), flags, nullptr,
      pigtail::cli::FlagSources{kEnvPrefix, [](const char* name) { return std::getenv(name); }},
      &vm);
  if (parsed.ok() && (o->providers < 1 || o->workers < 1 || o->tasks < 1 || o->batch < 1 ||
                      o->claim_max < 1 || o->latency_tasks < 0)) {
    parsed = pigtail::Status::InvalidArgument("counts must be positive");
  }
  if (parsed.ok()) parsed = pigtail::ParseHttpUrl(o->url).status().WithContext("--url");
  if (parsed.ok()) parsed = PeerUrls(o->peers).status().WithContext("--peers");
  if (parsed.ok() && o->add_to != "first" && o->add_to != "spread") {
    parsed = pigtail::Status::InvalidArgument("--add-to must be first or spread, got \"" +
                                              o->add_to + "\"");
  }
  if (!parsed.ok()) {
    std::fprintf(stderr, "pigtail-load: %s\n(run `pigtail-load --help` for usage)\n",
                 pigtail::RedactSecrets(parsed.message()).c_str());
    return pigtail::cli::kExitUsage;
  }
  if (vm["help"].as<bool>()) {
    Options scratch;
    std::fputs(pigtail::cli::FlagsHelp(kUsage, Describe(&scratch), kEnvPrefix).c_str(), stdout);
    return 0;
  }
  if (vm["version"].as<bool>()) {
    std::printf("pigtail-load %s\n", std::string(pigtail::PigtailVersion()).c_str());
    return 0;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::set_terminate(DieOfUncaughtException);
  Options o;
  if (std::optional<int> exit_code = ParseOptions(argc, argv, &o)) return *exit_code;
  Result<pigtail::HttpUrl> url = pigtail::ParseHttpUrl(o.url);
  if (!url.ok()) Die(url.status().ToString());
  host_ = url->host;
  port_ = url->port;

  HttpConnection c(host_, port_);
  WaitUntilReady(c);
  boost::json::value health = boost::json::parse(Must(c, "GET", "/health", "", 200).body);
#ifdef NDEBUG
  const char* build = "optimized (NDEBUG)";
#else
  const char* build = "DEBUG (assertions on; figures are not representative)";
#endif
  std::printf("pigtail-load: build %s, %u cores, url %s\n", build,
              std::thread::hardware_concurrency(), pigtail::RedactSecrets(o.url).c_str());
  std::printf("node: log %s, state %s\n", std::string(health.at("log").as_string()).c_str(),
              std::string(health.at("state").as_string()).c_str());
  std::printf("providers %d, workers %d, tasks %d, batch %d, claim max %d\n", o.providers,
              o.workers, o.tasks, o.batch, o.claim_max);

  auto phase = [&](const char* name) {
    return o.phases.find("," + std::string(name) + ",") != std::string::npos;
  };
  if (o.phases.front() != ',') o.phases = "," + o.phases + ",";

  // 0. Duplicates over the nodes of a cluster, on a queue of its own.
  if (phase("duplicates")) {
    std::vector<pigtail::HttpUrl> nodes = {*url};
    Result<std::vector<pigtail::HttpUrl>> peers = PeerUrls(o.peers);  // checked by ParseOptions
    nodes.insert(nodes.end(), peers->begin(), peers->end());
    if (!Duplicates(o, nodes, NewQueue("duplicates"), o.tasks)) return 1;
  }

  // 1. Single adds.
  std::string queue = NewQueue("load");
  int per = o.tasks / o.providers;
  double t = 0;
  int single = 0;
  if (phase("single")) {
    PhaseMeter meter;
    t = RunThreads(o.providers, [&](int p) {
      HttpConnection conn(host_, port_);
      for (int i = 0; i < per; ++i) {
        Must(conn, "POST", "/queue/" + queue, TaskJson(p * per + i), 201);
      }
    });
    single = per * o.providers;
    std::printf("add single:   %8d tasks in %6.2f s = %9.0f adds/s\n", single, t, single / t);
    meter.Report(t, single);
  }

  // 2. Batch adds.
  int batches_per = std::max(1, per / o.batch);
  int batch_size = std::min(o.batch, per);
  int batched = 0;
  if (phase("batch")) {
    PhaseMeter meter;
    t = RunThreads(o.providers, [&](int) {
      HttpConnection conn(host_, port_);
      for (int b = 0; b < batches_per; ++b) {
        std::string body = "[";
        for (int i = 0; i < batch_size; ++i) body += (i ? "," : "") + TaskJson(i);
        body += "]";
        Must(conn, "POST", "/queue/" + queue + "/batch", body, 201);
      }
    });
    batched = batches_per * batch_size * o.providers;
    std::printf("add batch:    %8d tasks in %6.2f s = %9.0f adds/s\n", batched, t, batched / t);
    meter.Report(t, batched);
  }

  // 3. Process everything queued: claim-next + batched done.
  int total = single + batched;
  if (phase("process") && total > 0) {
    PhaseMeter meter;
    t = Process(o, queue, total);
    std::printf(
        "process:      %8d tasks in %6.2f s = %9.0f lifecycles/s (claim max %d + batched done)\n",
        total, t, total / t, o.claim_max);
    meter.Report(t, total);
  }
  if (!phase("latency")) return 0;

  // 4. add -> claimed latency with long poll.
  std::string lq = NewQueue("latency");
  std::mutex mu;
  std::map<std::string, Clock::time_point> sent;
  std::map<std::string, Clock::time_point> claimed;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < o.workers; ++w) {
    workers.emplace_back([&] {
      HttpConnection conn(host_, port_);
      std::string worker = pigtail::Uuid::Random().ToString();
      std::string claim = R"({"worker_id":")" + worker + R"(","max":1,"wait_ms":500})";
      while (!stop.load()) {
        HttpResponse r = Must(conn, "POST", "/queue/" + lq + "/claim", claim, 200);
        Clock::time_point now = Clock::now();
        boost::json::value v = boost::json::parse(r.body);
        for (const auto& task : v.at("tasks").as_array()) {
          std::string id(task.at("id").as_string());
          {
            std::lock_guard lock(mu);
            claimed[id] = now;
          }
          Must(conn, "DELETE", "/queue/" + lq + "/" + id, R"({"worker_id":")" + worker + R"("})",
               200);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // workers start polling
  {
    HttpConnection conn(host_, port_);
    for (int i = 0; i < o.latency_tasks; ++i) {
      Clock::time_point start = Clock::now();
      HttpResponse r = Must(conn, "POST", "/queue/" + lq, TaskJson(i), 201);
      std::string id(boost::json::parse(r.body).at("id").as_string());
      std::lock_guard lock(mu);
      sent[id] = start;
    }
  }
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    std::lock_guard lock(mu);
    if (claimed.size() >= sent.size()) break;
  }
  stop = true;
  for (std::thread& w : workers) w.join();
  std::vector<double> ms;
  for (const auto& [id, at] : sent) {
    auto it = claimed.find(id);
    if (it != claimed.end()) ms.push_back(Seconds(it->second - at) * 1000);
  }
  size_t measured = ms.size();
  double p50 = Percentile(ms, 0.50);
  double p90 = Percentile(ms, 0.90);
  double p99 = Percentile(ms, 0.99);
  std::printf(
      "add->claimed: %8zu tasks (long poll, %d workers): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms\n",
      measured, o.workers, p50, p90, p99);
  return measured == sent.size() ? 0 : 1;
}

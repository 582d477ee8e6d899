#include "client/cli_commands.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <istream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "cli/flags.h"
#include "client/client.h"
#include "client/subprocess.h"
#include "client/worker.h"
#include "core/json_fields.h"
#include "core/redact.h"
#include "core/version.h"

namespace pigtail::client {
namespace {

namespace po = boost::program_options;
using namespace std::chrono_literals;

constexpr char kUsage[] =
    "usage: pigtail [--url URL]... [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  queues                         the queues and their settings\n"
    "  create QUEUE --lease-ms MS [--max-attempts N] [--backoff-ms MS]\n"
    "                                 create a queue (the same settings again: no-op)\n"
    "  stats QUEUE                    task counts by state\n"
    "  tasks QUEUE [--state STATE]    the queue's tasks in claim order, every page;\n"
    "                                 STATE: open (pending and working, the default),\n"
    "                                 pending, delayed, working, done, dead,\n"
    "                                 cancelled or all\n"
    "  add QUEUE [--name N] [--info JSON|-] [--priority P] [--delay-ms MS]\n"
    "      [--run-at-ms MS]           add a task (--info - reads stdin); prints its id;\n"
    "                                 --run-at-ms: not claimable before this time (ms\n"
    "                                 since the Unix epoch)\n"
    "  get QUEUE ID                   one task: its fields, attempts, failures, result,\n"
    "                                 progress and times (ms since the epoch, and UTC)\n"
    "  cancel QUEUE ID                cancel a task\n"
    "  retry QUEUE ID                 run a dead task again (its next round)\n"
    "  pause QUEUE, resume QUEUE      stop handing out the queue's tasks, and start\n"
    "                                 again (running tasks go on)\n"
    "  purge QUEUE [--state STATE] [--older-than DURATION]\n"
    "                                 delete finished tasks for good; STATE: finished\n"
    "                                 (done, dead and cancelled, the default), done,\n"
    "                                 dead or cancelled; DURATION (30s, 15m, 2h, 7d):\n"
    "                                 only tasks finished longer ago; prints the count\n"
    "  digest                         the state digest (equal on nodes with equal state)\n"
    "  nodes                          the node's replication peers\n"
    "  tail [--count N] [--poll-ms MS]\n"
    "                                 print log entries (id, owner, op) as they are\n"
    "                                 written, from the first; stops after N entries\n"
    "                                 (0: never); --json prints whole entries\n"
    "  work QUEUE [--concurrency N] [--grace-ms MS] [--wait-ms MS] -- CMD [ARGS]...\n"
    "                                 run CMD (no shell) once per task: the task's info\n"
    "                                 on stdin, PIGTAIL_TASK_ID and PIGTAIL_QUEUE in its\n"
    "                                 environment; exit 0 marks the task done with its\n"
    "                                 stdout as the result (a JSON string, the first\n"
    "                                 60000 bytes, without the final newline), any other\n"
    "                                 exit fails it with the end of its stderr as the\n"
    "                                 error. Leases are renewed while CMD runs.\n"
    "                                 SIGTERM or SIGINT: stop claiming, wait\n"
    "                                 --grace-ms for running commands, then send them\n"
    "                                 SIGTERM and fail their tasks back for a retry.\n"
    "\n"
    "--url may be repeated or comma-separated: a connection error or a 503 tries the\n"
    "next node. The environment gives PIGTAIL_URL (for --url) and PIGTAIL_TOKEN (sent\n"
    "as a bearer token). Tables by default; --json prints the server's JSON.\n"
    "Exit codes: 0 ok, 1 an HTTP or connection error, 2 a usage error.\n";

struct Flags {
  std::vector<std::string> urls;
  bool json = false;
  int64_t timeout_ms = 10'000;
  std::string state;
  std::string name;
  std::string info;
  int64_t priority = 0;
  uint64_t delay_ms = 0;
  uint64_t run_at_ms = 0;
  std::string older_than;
  uint64_t lease_ms = 0;
  uint64_t max_attempts = 0;
  uint64_t backoff_ms = 0;
  uint64_t count = 0;
  int64_t poll_ms = 500;
  int concurrency = 1;
  int64_t grace_ms = 10'000;
  int64_t wait_ms = 5'000;
  std::vector<std::string> positional;
};

po::options_description Describe(Flags* f) {
  const Flags d;
  po::options_description flags("pigtail");
  // clang-format off
  flags.add_options()
      ("url", po::value(&f->urls)->value_name("URL"),
       "a node, http://HOST[:PORT] (repeatable, or comma-separated; default "
       "http://127.0.0.1:8000)")
      ("json", po::bool_switch(&f->json), "print the server's JSON")
      ("timeout-ms", po::value(&f->timeout_ms)->value_name("MS")->default_value(d.timeout_ms),
       "per request")
      ("state", po::value(&f->state)->value_name("STATE"),
       "tasks, purge: only tasks in STATE")
      ("name", po::value(&f->name)->value_name("N"), "add: the task's name")
      ("info", po::value(&f->info)->value_name("JSON"),
       "add: the task's info, JSON (- reads stdin; default null)")
      ("priority", po::value(&f->priority)->value_name("P"), "add: higher runs first")
      ("delay-ms", po::value(&f->delay_ms)->value_name("MS"), "add: not claimable before")
      ("run-at-ms", po::value(&f->run_at_ms)->value_name("MS"),
       "add: not claimable before this time (ms since the Unix epoch)")
      ("older-than", po::value(&f->older_than)->value_name("DURATION"),
       "purge: only tasks finished longer ago than DURATION (30s, 15m, 2h, 7d)")
      ("lease-ms", po::value(&f->lease_ms)->value_name("MS"), "create: the lease length")
      ("max-attempts", po::value(&f->max_attempts)->value_name("N"),
       "create: attempts before a task is dead")
      ("backoff-ms", po::value(&f->backoff_ms)->value_name("MS"),
       "create: retry backoff base")
      ("count", po::value(&f->count)->value_name("N")->default_value(d.count),
       "tail: stop after N entries (0: never)")
      ("poll-ms", po::value(&f->poll_ms)->value_name("MS")->default_value(d.poll_ms),
       "tail: how often to look for new entries")
      ("concurrency", po::value(&f->concurrency)->value_name("N")->default_value(d.concurrency),
       "work: commands run at once")
      ("grace-ms", po::value(&f->grace_ms)->value_name("MS")->default_value(d.grace_ms),
       "work: after SIGTERM, how long running commands may finish")
      ("wait-ms", po::value(&f->wait_ms)->value_name("MS")->default_value(d.wait_ms),
       "work: how long one claim waits for a task (long poll)")
      ("help,h", po::bool_switch(), "print this text")
      ("version", po::bool_switch(), "print the version and the commit it was built from");
  // clang-format on
  return flags;
}

// Which command-specific flags each command takes (the others are global).
const std::map<std::string, std::set<std::string>>& CommandFlags() {
  static const std::map<std::string, std::set<std::string>> kFlags = {
      {"queues", {}},
      {"create", {"lease-ms", "max-attempts", "backoff-ms"}},
      {"stats", {}},
      {"tasks", {"state"}},
      {"add", {"name", "info", "priority", "delay-ms", "run-at-ms"}},
      {"get", {}},
      {"cancel", {}},
      {"retry", {}},
      {"pause", {}},
      {"resume", {}},
      {"purge", {"state", "older-than"}},
      {"digest", {}},
      {"nodes", {}},
      {"tail", {"count", "poll-ms"}},
      {"work", {"concurrency", "grace-ms", "wait-ms"}},
  };
  return kFlags;
}

// The number of positional arguments after the command.
size_t CommandArity(const std::string& command) {
  if (command == "get" || command == "cancel" || command == "retry") return 2;
  if (command == "stats" || command == "tasks" || command == "add" || command == "create" ||
      command == "work" || command == "pause" || command == "resume" || command == "purge") {
    return 1;
  }
  return 0;
}

class UsageError {
 public:
  explicit UsageError(std::string m) : message(std::move(m)) {}
  std::string message;
};

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// Prints rows as columns separated by two spaces.
void Table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : Pad(row[i], widths[i]) + "  ";
    }
    out << line << "\n";
  }
}

std::string Opt(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// "1718000000123 (2024-06-10T06:13:20.123Z)": ms since the Unix epoch, and
// the same in UTC.
std::string Time(uint64_t ms) {
  const time_t seconds = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return std::to_string(ms);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return std::to_string(ms) + " (" + text + ")";
}

// "30s", "15m", "2h", "7d" (a count, then s, m, h or d) in ms; nullopt
// otherwise, or on overflow.
std::optional<uint64_t> ParseDuration(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  uint64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1'000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'd':
      unit = 86'400'000;
      break;
    default:
      return std::nullopt;
  }
  uint64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    if (n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  if (n > UINT64_MAX / unit) return std::nullopt;
  return n * unit;
}

// The result `pigtail work` stores for a command's stdout: a JSON string of
// its first kMaxWorkResult bytes (at a character boundary, invalid UTF-8
// replaced), without one final newline; shorter still if escapes would
// make the JSON larger than the server takes.
constexpr size_t kMaxWorkResult = 60'000;
std::string StdoutResult(std::string out) {
  if (!out.empty() && out.back() == '\n') {
    out.pop_back();
    if (!out.empty() && out.back() == '\r') out.pop_back();
  }
  std::string text(json_fields::Utf8Prefix(json_fields::ValidUtf8(out), kMaxWorkResult));
  std::string json = boost::json::serialize(boost::json::string(text));
  while (json.size() > kMaxResultBytes) {
    const size_t over = std::min(text.size(), json.size() - kMaxResultBytes);
    text.resize(json_fields::Utf8Prefix(text, text.size() - over).size());
    json = boost::json::serialize(boost::json::string(text));
  }
  return json;
}

class Cli {
 public:
  Cli(std::istream& in, std::ostream& out, std::ostream& err, const CliGetEnv& env)
      : in_(in), out_(out), err_(err), env_(env) {}

  int Run(const std::vector<std::string>& raw_args);

 private:
  // Prints an error from the server or the connection; returns 1.
  int Fail(const Status& s) {
    err_ << "pigtail: " << RedactSecrets(s.message().empty() ? s.ToString() : s.message()) << "\n";
    return 1;
  }

  int Queues();
  int Create(const std::string& queue);
  int Stats(const std::string& queue);
  int Tasks(const std::string& queue);
  int Add(const std::string& queue);
  int Get(const std::string& queue, const std::string& id);
  int Cancel(const std::string& queue, const std::string& id);
  int Retry(const std::string& queue, const std::string& id);
  int Pause(const std::string& queue, bool paused);
  int Purge(const std::string& queue);
  int DigestCmd();
  int NodesCmd();
  int Tail();
  int Work(const std::string& queue, const std::vector<std::string>& command);

  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  const CliGetEnv& env_;
  Flags flags_;
  po::variables_map vm_;
  std::unique_ptr<Client> client_;
};

int Cli::Run(const std::vector<std::string>& raw_args) {
  // Everything after "--" is the command of `work`, never flags.
  std::vector<std::string> args;
  std::vector<std::string> command;
  bool has_command = false;
  for (size_t i = 0; i < raw_args.size(); ++i) {
    if (raw_args[i] == "--") {
      command.assign(raw_args.begin() + static_cast<long>(i) + 1, raw_args.end());
      has_command = true;
      break;
    }
    args.push_back(raw_args[i]);
  }
  po::options_description desc = Describe(&flags_);
  desc.add_options()("args", po::value(&flags_.positional), "the command and its arguments");
  po::positional_options_description positional;
  positional.add("args", -1);
  // Only --url comes from the environment (PIGTAIL_URL): pigtaild's own
  // variables (PIGTAIL_STATE, ...) must not become flags here.
  cli::FlagSources sources{"PIGTAIL_", [this](const char* name) -> const char* {
                             if (std::string_view(name) != "PIGTAIL_URL" || !env_) return nullptr;
                             return env_(name);
                           }};
  try {
    Status parsed = cli::ParseFlags(args, desc, &positional, sources, &vm_);
    if (!parsed.ok()) throw UsageError(parsed.message());
    if (vm_["help"].as<bool>()) {
      Flags scratch;
      out_ << cli::FlagsHelp(kUsage, Describe(&scratch), "");
      return 0;
    }
    if (vm_["version"].as<bool>()) {
      out_ << "pigtail " << PigtailVersion() << "\n";
      return 0;
    }
    if (flags_.positional.empty()) throw UsageError("no command given");
    const std::string cmd = flags_.positional[0];
    auto spec = CommandFlags().find(cmd);
    if (spec == CommandFlags().end()) throw UsageError("unknown command \"" + cmd + "\"");
    for (const auto& [name, value] : vm_) {
      if (value.defaulted() || name == "args" || name == "url" || name == "json" ||
          name == "timeout-ms" || name == "help" || name == "version") {
        continue;
      }
      if (spec->second.count(name) == 0) {
        throw UsageError("--" + name + " does not apply to \"" + cmd + "\"");
      }
    }
    const size_t arity = CommandArity(cmd);
    if (flags_.positional.size() - 1 < arity) {
      throw UsageError("\"" + cmd + "\" needs " + std::to_string(arity) + " argument(s)");
    }
    if (flags_.positional.size() - 1 > arity) {
      throw UsageError("unexpected argument \"" + flags_.positional[arity + 1] + "\"");
    }
    if (has_command != (cmd == "work")) {
      throw UsageError(cmd == "work" ? "work needs a command: work QUEUE -- CMD [ARGS]..."
                                     : "\"--\" is only for work");
    }
    if (cmd == "work" && command.empty()) throw UsageError("work: no command after --");

    ClientOptions options;
    options.urls.clear();
    for (const std::string& value : flags_.urls) {
      std::stringstream parts(value);
      for (std::string url; std::getline(parts, url, ',');) {
        if (!url.empty()) options.urls.push_back(url);
      }
    }
    if (options.urls.empty()) options.urls = {"http://127.0.0.1:8000"};
    if (env_) {
      if (const char* token = env_("PIGTAIL_TOKEN"); token != nullptr) options.token = token;
    }
    options.timeout = std::chrono::milliseconds(flags_.timeout_ms);
    if (Status s = Client::CheckOptions(options); !s.ok()) throw UsageError(s.message());
    client_ = std::make_unique<Client>(options);

    const std::string a1 = arity >= 1 ? flags_.positional[1] : "";
    const std::string a2 = arity >= 2 ? flags_.positional[2] : "";
    if (cmd == "queues") return Queues();
    if (cmd == "create") return Create(a1);
    if (cmd == "stats") return Stats(a1);
    if (cmd == "tasks") return Tasks(a1);
    if (cmd == "add") return Add(a1);
    if (cmd == "get") return Get(a1, a2);
    if (cmd == "cancel") return Cancel(a1, a2);
    if (cmd == "retry") return Retry(a1, a2);
    if (cmd == "pause" || cmd == "resume") return Pause(a1, cmd == "pause");
    if (cmd == "purge") return Purge(a1);
    if (cmd == "digest") return DigestCmd();
    if (cmd == "nodes") return NodesCmd();
    if (cmd == "tail") return Tail();
    return Work(a1, command);
  } catch (const UsageError& e) {
    err_ << "pigtail: " << e.message << "\n(run `pigtail --help` for usage)\n";
    return cli::kExitUsage;
  }
}

int Cli::Queues() {
  Result<QueueList> r = client_->Queues();
  if (!r.ok()) return Fail(r.status());
  if (flags_.json) {
    out_ << r->json << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"QUEUE", "LEASE_MS", "MAX_ATTEMPTS", "BACKOFF_MS"}};
  for (const QueueSettings& q : r->queues) {
    rows.push_back({q.name, std::to_string(q.timeout_ms), Opt(q.max_attempts), Opt(q.backoff_ms)});
  }
  Table(out_, rows);
  return 0;
}

int Cli::Create(const std::string& queue) {
  if (vm_.count("lease-ms") == 0 || flags_.lease_ms == 0) {
    throw UsageError("create needs --lease-ms, at least 1");
  }
  QueueSettings s{queue, flags_.lease_ms, std::nullopt, std::nullopt};
  if (vm_.count("max-attempts") > 0) s.max_attempts = flags_.max_attempts;
  if (vm_.count("backoff-ms") > 0) s.backoff_ms = flags_.backoff_ms;
  Status st = client_->CreateQueue(s);
  if (!st.ok()) return Fail(st);
  out_ << (flags_.json ? "{\"name\":" + boost::json::serialize(boost::json::string(queue)) + "}"
                       : queue)
       << "\n";
  return 0;
}

int Cli::Stats(const std::string& queue) {
  Result<QueueStats> r = client_->Stats(queue);
  if (!r.ok()) return Fail(r.status());
  if (flags_.json) {
    out_ << r->json << "\n";
    return 0;
  }
  Table(out_,
        {{"PENDING", "WORKING", "DONE", "DEAD", "CANCELLED", "CLAIMABLE"},
         {std::to_string(r->pending), std::to_string(r->working), std::to_string(r->done),
          std::to_string(r->dead), std::to_string(r->cancelled), std::to_string(r->claimable)}});
  return 0;
}

int Cli::Tasks(const std::string& queue) {
  constexpr size_t kPage = 1000;
  std::vector<TaskSummary> tasks;
  for (std::string after;;) {
    Result<TaskList> page = client_->Tasks(queue, flags_.state, after, kPage);
    if (!page.ok()) return Fail(page.status());
    tasks.insert(tasks.end(), page->tasks.begin(), page->tasks.end());
    if (page->tasks.size() < kPage) break;
    after = page->tasks.back().id;
  }
  if (flags_.json) {
    boost::json::object o;
    for (const TaskSummary& t : tasks) o[t.id] = {{"task_name", t.task_name}, {"state", t.state}};
    out_ << boost::json::serialize(o) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "STATE", "NAME"}};
  for (const TaskSummary& t : tasks) rows.push_back({t.id, t.state, t.task_name});
  Table(out_, rows);
  return 0;
}

int Cli::Add(const std::string& queue) {
  NewTask t;
  t.task_name = flags_.name;
  if (vm_.count("info") > 0) {
    t.info = flags_.info;
    if (t.info == "-") t.info.assign(std::istreambuf_iterator<char>(in_), {});
    boost::system::error_code ec;
    boost::json::parse(t.info, ec);
    if (ec) throw UsageError("--info is not JSON: " + ec.message());
  }
  if (vm_.count("priority") > 0) t.priority = flags_.priority;
  if (vm_.count("delay-ms") > 0) t.delay_ms = flags_.delay_ms;
  if (vm_.count("run-at-ms") > 0) t.run_at_ms = flags_.run_at_ms;
  Result<std::string> r = client_->Add(queue, t);
  if (!r.ok()) return Fail(r.status());
  out_ << (flags_.json ? "{\"id\":\"" + *r + "\"}" : *r) << "\n";
  return 0;
}

int Cli::Get(const std::string& queue, const std::string& id) {
  Result<Task> r = client_->GetTask(queue, id);
  if (!r.ok()) return Fail(r.status());
  if (flags_.json) {
    out_ << r->json << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"id", r->id},
                                                {"name", r->task_name},
                                                {"state", r->state},
                                                {"info", r->info},
                                                {"worker", r->worker},
                                                {"lease", std::to_string(r->lease)},
                                                {"priority", std::to_string(r->priority)}};
  if (r->error) rows.push_back({"error", *r->error});
  if (r->round > 0) rows.push_back({"round", std::to_string(r->round)});
  rows.push_back({"attempts", std::to_string(r->attempts)});
  if (r->run_at_ms) rows.push_back({"run_at", Time(*r->run_at_ms)});
  if (r->ready_at_ms) rows.push_back({"ready_at", Time(*r->ready_at_ms)});
  if (r->expires_at_ms) rows.push_back({"expires_at", Time(*r->expires_at_ms)});
  if (r->progress) rows.push_back({"progress", *r->progress});
  if (r->result) rows.push_back({"result", *r->result});
  for (const TaskFailure& f : r->failures) {
    rows.push_back({"failure", "round " + std::to_string(f.round) + " attempt " +
                                   std::to_string(f.attempt) + ", " + Time(f.at_ms) + ", worker " +
                                   f.worker + ": " + f.error});
  }
  Table(out_, rows);
  return 0;
}

int Cli::Cancel(const std::string& queue, const std::string& id) {
  Status s = client_->Cancel(queue, id);
  if (!s.ok()) return Fail(s);
  out_ << (flags_.json ? "{\"state\":\"cancelled\"}" : "cancelled") << "\n";
  return 0;
}

int Cli::Retry(const std::string& queue, const std::string& id) {
  Result<uint32_t> round = client_->Retry(queue, id);
  if (!round.ok()) return Fail(round.status());
  const std::string text = std::to_string(*round);
  out_ << (flags_.json ? "{\"state\":\"pending\",\"round\":" + text + "}"
                       : "pending, round " + text)
       << "\n";
  return 0;
}

int Cli::Pause(const std::string& queue, bool paused) {
  Status s = client_->Pause(queue, paused);
  if (!s.ok()) return Fail(s);
  if (flags_.json) {
    out_ << "{\"name\":" << boost::json::serialize(boost::json::value(queue))
         << ",\"paused\":" << (paused ? "true" : "false") << "}\n";
  } else {
    out_ << (paused ? "paused" : "resumed") << "\n";
  }
  return 0;
}

int Cli::Purge(const std::string& queue) {
  PurgeOptions options;
  if (vm_.count("state") > 0) {
    static const std::set<std::string> kStates = {"finished", "done", "dead", "cancelled"};
    if (kStates.count(flags_.state) == 0) {
      throw UsageError("--state must be finished, done, dead or cancelled for purge");
    }
    options.state = flags_.state;
  }
  if (vm_.count("older-than") > 0) {
    std::optional<uint64_t> ms = ParseDuration(flags_.older_than);
    if (!ms) {
      throw UsageError("--older-than: \"" + flags_.older_than +
                       "\" is not a duration such as 30s, 15m, 2h or 7d");
    }
    const uint64_t now = NowMs();
    options.finished_before_ms = *ms < now ? now - *ms : 0;
  }
  // Each call purges up to the server's default max; `more` says to go on.
  constexpr int kMaxCalls = 10'000;
  uint64_t purged = 0;
  bool more = true;
  for (int call = 0; call < kMaxCalls && more; ++call) {
    Result<PurgeResult> r = client_->Purge(queue, options);
    if (!r.ok()) {
      if (purged > 0) err_ << "pigtail: " << purged << " task(s) purged before this error\n";
      return Fail(r.status());
    }
    purged += r->purged;
    more = r->more;
  }
  if (more) {
    err_ << "pigtail: stopped after " << kMaxCalls
         << " calls; matching tasks remain (run purge again)\n";
  }
  if (flags_.json) {
    out_ << "{\"purged\":" << purged << (more ? ",\"more\":true" : "") << "}\n";
  } else {
    out_ << purged << " purged\n";
  }
  return 0;
}

int Cli::DigestCmd() {
  Result<Digest> r = client_->GetDigest();
  if (!r.ok()) return Fail(r.status());
  if (flags_.json) {
    out_ << r->json << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"QUEUE", "DIGEST"}};
  for (const auto& [name, hex] : r->queues) rows.push_back({name, hex});
  rows.push_back({"(total)", r->total});
  Table(out_, rows);
  out_ << "tasks: " << r->tasks << "\n";
  return 0;
}

int Cli::NodesCmd() {
  Result<Nodes> r = client_->GetNodes();
  if (!r.ok()) return Fail(r.status());
  if (flags_.json) {
    out_ << r->json << "\n";
    return 0;
  }
  for (const std::string& url : r->urls) out_ << url << "\n";
  return 0;
}

int Cli::Tail() {
  if (flags_.poll_ms < 1) throw UsageError("--poll-ms must be at least 1");
  std::map<std::string, std::string> after;  // owner -> last entry printed
  uint64_t printed = 0;
  for (;;) {
    Result<LogHeads> heads = client_->GetLogHeads();
    if (!heads.ok()) return Fail(heads.status());
    for (const auto& [owner, head] : heads->heads) {
      std::string& last = after[owner];
      while (last != head) {
        Result<std::vector<LogEntry>> page = client_->LogRange(owner, last, 1000);
        if (!page.ok()) return Fail(page.status());
        if (page->empty()) break;
        for (const LogEntry& e : *page) {
          if (flags_.json) {
            out_ << e.json << "\n";
          } else {
            out_ << e.id << "  " << e.owner.substr(0, 8) << "  " << e.data << "\n";
          }
          last = e.id;
          if (flags_.count > 0 && ++printed >= flags_.count) {
            out_.flush();
            return 0;
          }
        }
      }
    }
    out_.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(flags_.poll_ms));
  }
}

// A one-line rendering of command output for a log line.
std::string OneLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// Whether `program` names an executable file, as posix_spawnp would find it.
bool Executable(const std::string& program, const CliGetEnv& env) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0;
  const char* path = env ? env("PATH") : nullptr;
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (access(((dir.empty() ? "." : dir) + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

int Cli::Work(const std::string& queue, const std::vector<std::string>& command) {
  if (flags_.concurrency < 1) throw UsageError("--concurrency must be at least 1");
  // Else every task would fail at once, again and again.
  if (!Executable(command[0], env_)) throw UsageError("work: cannot run \"" + command[0] + "\"");
  if (flags_.grace_ms < 0) throw UsageError("--grace-ms must not be negative");
  if (flags_.wait_ms < 0 || flags_.wait_ms > 60'000) {
    throw UsageError("--wait-ms must be 0 to 60000");
  }
  // A queue that does not exist (or a node that cannot be reached) is told
  // now, not by a claim loop retrying forever.
  if (Result<QueueStats> st = client_->Stats(queue); !st.ok()) return Fail(st.status());

  // SIGTERM and SIGINT are taken by a thread of ours (sigwait); every other
  // thread, started below, inherits the mask. A child gets its own.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a command that exits before reading its stdin

  std::mutex out_mu;
  auto log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(out_mu);
    out_ << line << std::endl;
  };
  WorkerOptions options;
  options.queue = queue;
  options.concurrency = flags_.concurrency;
  options.grace = std::chrono::milliseconds(flags_.grace_ms);
  options.claim_wait = std::chrono::milliseconds(flags_.wait_ms);
  options.log = log;
  Worker worker(client_.get(), options, [&](const Claimed& task, const StopToken& stop) {
    SubprocessOptions p;
    p.argv = command;
    p.env = {{"PIGTAIL_TASK_ID", task.id}, {"PIGTAIL_QUEUE", queue}};
    p.input = task.info;
    Result<SubprocessResult> r = RunSubprocess(p, stop);
    if (!r.ok()) return TaskOutcome::Fail(r.status().ToString());
    if (r->exit_code == 0) {
      log("task " + task.id + " exit 0, stdout: " + OneLine(r->out) +
          (r->out_truncated ? " [truncated]" : ""));
      return TaskOutcome::Done(StdoutResult(r->out));
    }
    std::string error = OneLine(r->err_tail);
    std::string how = r->signal != 0 ? "killed by signal " + std::to_string(r->signal)
                                     : "exit " + std::to_string(r->exit_code);
    log("task " + task.id + " " + how + (error.empty() ? "" : ", stderr: " + error));
    return TaskOutcome::Fail(error.empty() ? how : error);
  });

  std::atomic<bool> finished{false};
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (finished.load()) return;
    log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
    worker.Stop();
  });
  Status s = worker.Run();
  finished = true;
  pthread_kill(signals.native_handle(), SIGTERM);  // wakes sigwait if no signal came
  signals.join();
  if (!s.ok()) throw UsageError(s.message());
  WorkerStats st = worker.stats();
  log("stopped: " + std::to_string(st.done) + " done, " + std::to_string(st.failed) + " failed, " +
      std::to_string(st.failed_on_stop) + " failed back, " + std::to_string(st.lost) + " lost");
  return 0;
}

}  // namespace

int RunPigtailCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                  std::ostream& err, const CliGetEnv& env) {
  Cli cli(in, out, err, env);
  return cli.Run(args);
}

}  // namespace pigtail::client

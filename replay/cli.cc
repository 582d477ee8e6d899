#include "replay/cli.h"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "backends/registry.h"
#include "cli/flags.h"
#include "core/redact.h"
#include "replay/blue_green.h"
#include "replay/compare.h"
#include "replay/event_source.h"
#include "replay/log_copy.h"
#ifdef PIGTAIL_REPLAY_HAVE_HTTP
#include "replay/node_digests.h"
#endif
#include "replay/progress.h"
#include "replay/record_json.h"
#include "replay/replayer.h"
#include "replay/state_diff.h"
#include "replay/store_source.h"

namespace pigtail::replay {
namespace {
namespace json = boost::json;

constexpr char kUsage[] = R"(usage: pigtail-replay COMMAND [OPTIONS]

Sources (SRC): an EventStore URI (rocksdb:PATH, postgresql://..., memory:),
jsonl:FILE (a dump, one raw event per line; FILE - is stdin), or http://HOST:PORT
(a live node's Potboiler log API).

Commands:
  rebuild --from SRC --into URI [--fresh] [--no-resume] [--bulk] [--blue-green]
          [--commit-every N] [--overlap-commits auto|on|off]
      Project the log into a StateStore. Continues from the target's checkpoint
      unless --fresh (empties the target first) or --no-resume (refuse a
      non-empty target). --bulk projects in memory and writes once (fast, into
      a fresh target). --blue-green builds beside the live state (rocksdb:PATH
      in PATH.rebuild; postgresql:// in schema <pg-schema>_rebuild), verifies
      it register by register, then swaps it in atomically (the old state is
      kept as PATH.previous-<time> or schema <pg-schema>_previous_<time>).
  verify --log SRC --state URI [--max-diffs N]
      Rebuild in memory and compare with the store register by register; print
      every difference. Exit 1 if any.
  compare TARGET TARGET [TARGET...] [--digests registers|stored]
      Compare digests of stores (URIs) or nodes (http://...); narrow differences
      down by queue, task-id range and register (stores). A store's digests are
      recomputed from its registers (default; a store whose stored digests do
      not match its registers is a difference), or with --digests stored read
      as stored (fast, trusts the store). A node's are those it serves.
      Exit 1 if they differ.
  merge --from SRC --from SRC [...] --into-log URI [--into-state URI]
      Union of several logs without duplicates; per-owner counts and holes;
      optionally rebuild the state of the union.
  export --from URI [--out FILE]
      Write the log as a dump (stdout by default): one entry per line, its
      stored bytes as they are, or as one JSON string when they hold a line
      break (docs/replay.md, "The dump format").
  import --from SRC --into URI
      Append a JSONL dump (or any source) to an EventStore.
  version | --version
      Print the version and the commit it was built from.

Options (each applies to the commands above that name it; the rest to all):)";
constexpr char kExitCodes[] =
    "\nExit codes: 0 ok, 1 differences found, 2 usage error, 3 failure.\n";
constexpr char kEnvPrefix[] = "PIGTAIL_REPLAY_";

struct UsageError {
  std::string message;
};

namespace po = boost::program_options;

// Parsed command line: the command, the flags and the other positionals.
struct Args {
  std::string command;
  po::variables_map flags;
  std::vector<std::string> positional;
};

// Every flag of every command, each with its default (taken from the
// options structs, so it is written once). Numbers are kept as text and
// read by Command::Number, which refuses negative numbers and, where it
// must, zero.
po::options_description Describe() {
  const ReplayOptions replay;
  // Parsing ahead pays off only with a core to spare.
  const size_t read_ahead = std::thread::hardware_concurrency() >= 2 ? 2 : 0;
  auto number = [](uint64_t value) {
    return po::value<std::string>()->value_name("N")->default_value(std::to_string(value));
  };
  auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
  po::options_description flags("pigtail-replay");
  // clang-format off
  flags.add_options()
      ("config", text("FILE"), "read `flag = value` lines (# comments) from FILE")
      ("from", po::value<std::vector<std::string>>()->value_name("SRC")->composing(),
       "rebuild, merge (repeated), import: the source; export: the EventStore URI")
      ("into", text("URI"), "rebuild: the StateStore; import: the EventStore")
      ("log", text("SRC"), "verify: the log")
      ("state", text("URI"), "verify: the StateStore")
      ("into-log", text("URI"), "merge: the EventStore that receives the union")
      ("into-state", text("URI"), "merge: rebuild the state of the union here")
      ("out", text("FILE"), "export: the JSONL file (default: stdout)")
      ("fresh", po::bool_switch(), "rebuild: empty the target first")
      ("no-resume", po::bool_switch(), "rebuild: refuse a non-empty target")
      ("bulk", po::bool_switch(), "rebuild: project in memory and write once (a fresh target)")
      ("blue-green", po::bool_switch(), "rebuild: build beside the live state, verify, swap")
      ("commit-every", number(replay.commit_every_events), "rebuild: events per commit")
      ("overlap-commits", text("auto|on|off")->default_value("auto"),
       "rebuild: write each commit on a thread of its own while the next events are applied; "
       "auto: on into PostgreSQL, whose writes run in its server")
      ("max-diffs", number(1000), "verify, compare: differences listed at most")
      ("digests", text("FROM")->default_value("registers"),
       "compare: registers (recomputed) or stored (as stored; fast, trusts the store)")
      ("json", po::bool_switch(), "machine-readable report on stdout")
      ("progress", po::bool_switch(), "progress on stderr (default: when stderr is a terminal)")
      ("no-progress", po::bool_switch(), "no progress on stderr")
      ("corrupt", text("POLICY")->default_value("stop"),
       "unreadable records: stop (fail with their position) or skip (and count them)")
      ("memory-budget-mb", number(replay.memory_budget_bytes >> 20),
       "bound on the log bytes held at once, and on the changed registers held between commits")
      ("rocksdb-memory-mb", number(BackendOptions().rocksdb_memory_bytes >> 20),
       "RocksDB's memory for rocksdb: sources and targets: a block cache with the memtables "
       "charged to it (as pigtaild's flag)")
      ("batch", number(replay.batch_events), "events per batch")
      ("read-ahead", number(read_ahead),
       "batches read and parsed ahead on a second thread while one is applied; 0 reads on the "
       "replaying thread (default 2 with two or more cores, else 0)")
      ("pg-schema", text("NAME")->default_value(BackendOptions().postgres_schema),
       "PostgreSQL schema for postgresql:// URIs")
      ("help,h", po::bool_switch(), "print this text (also: pigtail-replay help)");
  // clang-format on
  return flags;
}

// Flags that only name positionals; not shown in --help.
po::options_description Positionals() {
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>())(
      "target", po::value<std::vector<std::string>>()->composing());
  return hidden;
}

std::string Usage() { return cli::FlagsHelp(kUsage, Describe(), kEnvPrefix) + kExitCodes; }

std::optional<UsageError> Parse(const std::vector<std::string>& argv, Args* args) {
  if (argv.empty()) return UsageError{"no command given"};
  po::options_description all;
  all.add(Describe()).add(Positionals());
  po::positional_options_description positional;
  positional.add("command", 1).add("target", -1);
  Status parsed = cli::ParseFlags(
      argv, all, &positional,
      cli::FlagSources{kEnvPrefix, [](const char* name) { return std::getenv(name); }},
      &args->flags);
  if (!parsed.ok()) return UsageError{parsed.message()};
  if (args->flags.count("command") > 0) {
    args->command = args->flags["command"].as<std::string>();
  } else if (args->flags["help"].as<bool>()) {
    args->command = "help";
  } else {
    return UsageError{"no command given"};
  }
  if (args->flags.count("target") > 0) {
    args->positional = args->flags["target"].as<std::vector<std::string>>();
  }
  return std::nullopt;
}

class Command {
 public:
  Command(Args args, std::FILE* out, std::FILE* err)
      : args_(std::move(args)), out_(out), err_(err) {}

  int Run() {
    try {
      return Dispatch();
    } catch (const UsageError& e) {
      std::fprintf(err_, "pigtail-replay: %s\n(run `pigtail-replay help` for usage)\n",
                   RedactSecrets(e.message).c_str());
      return kExitUsage;
    }
  }

 private:
  int Dispatch() {
    const std::string& c = args_.command;
    if (c == "help" || Flag("help")) {
      std::fputs(Usage().c_str(), out_);
      return kExitOk;
    }
    static const std::set<std::string> known = {"rebuild", "verify", "compare",
                                                "merge",   "export", "import"};
    if (!known.contains(c)) throw UsageError{"unknown command \"" + c + "\""};
    SetCommon();
    Status status;
    int code = kExitOk;
    if (c == "rebuild") status = Rebuild();
    if (c == "verify") status = Verify(&code);
    if (c == "compare") status = Compare(&code);
    if (c == "merge") status = Merge();
    if (c == "export") status = Export();
    if (c == "import") status = Import();
    if (!status.ok()) {
      if (IsStoreLocked(status)) {
        status = Status::Unavailable(
            status.message() +
            "; a running pigtaild (or another pigtail-replay) has it open: read a running node "
            "through its http://HOST:PORT URL (rebuild --from, compare), or stop it first");
      }
      std::fprintf(err_, "pigtail-replay %s: error: %s\n", c.c_str(),
                   RedactSecrets(status.ToString()).c_str());
      if (json_) {
        report_["ok"] = false;
        report_["error"] = status.ToString();
        EmitJson();
      }
      return kExitFailure;
    }
    if (json_) EmitJson();
    return code;
  }

  // --- option helpers ---

  // Whether `name` was given (rather than defaulted).
  bool Given(const std::string& name) const {
    return args_.flags.count(name) > 0 && !args_.flags[name].defaulted();
  }
  // The value of a flag given once, or its default; --from given more than
  // once is an error here (only merge takes several, through All()).
  std::optional<std::string> Option(const std::string& name) const {
    if (args_.flags.count(name) == 0) return std::nullopt;
    const po::variable_value& v = args_.flags[name];
    if (v.value().type() != typeid(std::vector<std::string>)) return v.as<std::string>();
    const auto& all = v.as<std::vector<std::string>>();
    if (all.size() > 1) throw UsageError{"--" + name + " given twice"};
    return all.front();
  }
  std::string Required(const std::string& name) const {
    std::optional<std::string> v = Option(name);
    if (!v || v->empty()) throw UsageError{args_.command + " needs --" + name};
    return *v;
  }
  std::vector<std::string> All(const std::string& name) const {
    if (args_.flags.count(name) == 0) return {};
    return args_.flags[name].as<std::vector<std::string>>();
  }
  // A number flag (its default from Describe()).
  uint64_t Number(const std::string& name, bool zero_ok = false) const {
    const std::string v = args_.flags[name].as<std::string>();
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || (n == 0 && !zero_ok)) {
      throw UsageError{"--" + name + " needs a " + (zero_ok ? "non-negative" : "positive") +
                       " integer, not \"" + v + "\""};
    }
    return n;
  }
  bool Flag(const std::string& name) const { return args_.flags[name].as<bool>(); }
  void NoPositional() {
    if (!args_.positional.empty()) {
      throw UsageError{"unexpected argument \"" + args_.positional[0] + "\""};
    }
  }
  void OnlyOptions(const std::set<std::string>& allowed) {
    for (const auto& [name, value] : args_.flags) {
      if (value.defaulted() || name == "command" || name == "target" || name == "config") continue;
      if (!allowed.contains(name) && !kCommonOptions.contains(name)) {
        throw UsageError{args_.command + " does not take --" + name};
      }
    }
  }

  void SetCommon() {
    json_ = Flag("json");
    if (Flag("progress") && Flag("no-progress")) {
      throw UsageError{"--progress and --no-progress together"};
    }
    bool show = Flag("progress") || (!Flag("no-progress") && ::isatty(::fileno(err_)) == 1);
    if (show) progress_ = NewTerminalProgress(err_);
    if (std::optional<std::string> policy = Option("corrupt")) {
      Result<CorruptionPolicy> p = ParseCorruptionPolicy(*policy);
      if (!p.ok()) throw UsageError{p.status().message()};
      reporter_ = CorruptionReporter(*p);
    }
    options_.memory_budget_bytes = Number("memory-budget-mb") << 20;
    options_.batch_events = Number("batch");
    options_.read_ahead_batches = Number("read-ahead", /*zero_ok=*/true);
    // No command claims from a replayed State; they read its registers.
    options_.rebuild_claim_index = false;
    limits_.max_events = options_.batch_events;
    limits_.max_bytes = options_.memory_budget_bytes;
    if (std::optional<std::string> schema = Option("pg-schema")) backend_.postgres_schema = *schema;
    const uint64_t rocksdb_mb = Number("rocksdb-memory-mb");
    if (rocksdb_mb < kMinRocksDbMemoryMb || rocksdb_mb > kMaxRocksDbMemoryMb) {
      throw UsageError{"--rocksdb-memory-mb must be " + std::to_string(kMinRocksDbMemoryMb) +
                       " to " + std::to_string(kMaxRocksDbMemoryMb) + ", not " +
                       std::to_string(rocksdb_mb)};
    }
    backend_.rocksdb_memory_bytes = rocksdb_mb << 20;
    report_["command"] = args_.command;
    report_["ok"] = true;
  }

  // --- reporting ---

  // Output passes through RedactSecrets: it names stores by their URIs.
  void Say(const std::string& line) {
    if (!json_) std::fprintf(out_, "%s\n", RedactSecrets(line).c_str());
  }
  static void RedactStrings(json::value* v) {
    if (v->is_string()) *v = RedactSecrets(v->as_string());
    if (v->is_array()) {
      for (json::value& e : v->as_array()) RedactStrings(&e);
    }
    if (v->is_object()) {
      for (auto& e : v->as_object()) RedactStrings(&e.value());
    }
  }
  void EmitJson() {
    json::value report = report_;
    RedactStrings(&report);
    std::string text = json::serialize(report);
    std::fprintf(out_, "%s\n", text.c_str());
  }
  static uint64_t PeakRssKb() {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<uint64_t>(usage.ru_maxrss);
  }
  json::object CorruptionJson() const {
    json::object o;
    o["policy"] = CorruptionPolicyName(reporter_.policy());
    o["skipped"] = reporter_.skipped();
    json::array first;
    for (const CorruptRecord& r : reporter_.first_records()) {
      first.push_back(json::object{{"position", r.position}, {"reason", r.reason}});
    }
    o["first"] = std::move(first);
    return o;
  }
  void SayCorruption(std::string_view position_name) {
    if (reporter_.skipped() == 0) return;
    Say("skipped " + std::to_string(reporter_.skipped()) + " unreadable records:");
    for (const CorruptRecord& r : reporter_.first_records()) {
      Say("  " + std::string(position_name) + " " + std::to_string(r.position) + ": " + r.reason);
    }
  }
  json::object ReplayJson(const ReplayReport& r) const {
    json::object o;
    o["events"] = r.events;
    o["changed"] = r.stats.changed;
    o["unchanged"] = r.stats.unchanged;
    o["foreign"] = r.stats.foreign;
    o["rejected"] = r.stats.rejected;
    o["resumed_after"] = r.resumed_after;
    o["last_position"] = r.last_position;
    o["commits"] = r.commits;
    o["digest"] = r.digest.ToHex();
    o["seconds"] = r.seconds;
    o["events_per_second"] = r.events_per_second();
    return o;
  }
  void SayReplay(const ReplayReport& r, std::string_view position_name) {
    if (r.resumed_after > 0) {
      Say("resumed after " + std::string(position_name) + " " + std::to_string(r.resumed_after));
    }
    Say("applied " + std::to_string(r.events) + " events (" + std::to_string(r.stats.changed) +
        " changed, " + std::to_string(r.stats.unchanged) + " unchanged, " +
        std::to_string(r.stats.foreign) + " foreign, " + std::to_string(r.stats.rejected) +
        " rejected) up to " + std::string(position_name) + " " + std::to_string(r.last_position) +
        " in " + std::to_string(r.seconds) + " s");
    Say("digest " + r.digest.ToHex());
  }

  // Options for stores the command only reads: a missing store is an error
  // and nothing is created.
  BackendOptions Reading() const {
    BackendOptions o = backend_;
    o.create_if_missing = false;
    return o;
  }

  Result<std::unique_ptr<EventSource>> OpenSource(const std::string& spec) {
    return OpenEventSource(spec, Reading(), &reporter_);
  }

  // --- commands ---

  Status Rebuild() {
    OnlyOptions({"from", "into", "fresh", "no-resume", "bulk", "blue-green", "commit-every",
                 "overlap-commits"});
    NoPositional();
    std::string from = Required("from");
    std::string into = Required("into");
    bool blue_green = Flag("blue-green");
    bool bulk = Flag("bulk");
    if (Flag("fresh") && Flag("no-resume")) throw UsageError{"--fresh and --no-resume together"};
    options_.resume = !Flag("no-resume");
    options_.write_mode = bulk ? WriteMode::kBulkLoad : WriteMode::kCommitBatches;
    options_.commit_every_events = Number("commit-every");
    // --blue-green compares every register of the State with the target.
    options_.drop_committed = !blue_green;
    std::string target_uri = into;
    BackendOptions target_backend = backend_;
    const StateLocation live{into, backend_.postgres_schema};
    // Into RocksDB the commits compete for the cores with the replay and
    // its read-ahead (benchmarks/README.md), so auto overlaps only commits
    // into PostgreSQL.
    const std::string overlap = Option("overlap-commits").value_or("auto");
    if (overlap != "auto" && overlap != "on" && overlap != "off") {
      throw UsageError{"--overlap-commits must be auto, on or off, not \"" + overlap + "\""};
    }
    options_.overlap_commits = overlap == "on" || (overlap == "auto" && live.IsPostgres());
    if (!bulk) report_["overlap_commits"] = options_.overlap_commits;
    if (blue_green) {
      if (from == into && !live.IsPostgres()) {
        throw UsageError{"--blue-green needs the log outside the state's directory"};
      }
      Result<StateLocation> staging = StagingLocation(live);
      if (!staging.ok()) throw UsageError{staging.status().message()};
      target_uri = staging->uri;
      target_backend.postgres_schema = staging->postgres_schema;
      report_["staging"] = target_uri;
      if (staging->IsPostgres()) report_["staging_schema"] = staging->postgres_schema;
    }

    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventSource> source, OpenSource(from));
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> target,
                             OpenStateStore(target_uri, target_backend));
    if (Flag("fresh")) PIGTAIL_RETURN_IF_ERROR(target->Reset());
    if (bulk) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t checkpoint, target->Checkpoint());
      PIGTAIL_ASSIGN_OR_RETURN(DigestSummary digests, target->Digests());
      if (checkpoint != 0 || !digests.total.IsZero()) {
        return Status::FailedPrecondition(
            "--bulk replaces the target's contents; it is not empty (add --fresh to empty it)");
      }
    }
    State state;
    PIGTAIL_ASSIGN_OR_RETURN(ReplayReport r,
                             Replay(source.get(), &state, target.get(), options_, progress_.get()));
    SayReplay(r, source->PositionName());
    SayCorruption(source->PositionName());
    report_["replay"] = ReplayJson(r);
    report_["corruption"] = CorruptionJson();
    report_["into"] = target_uri;

    if (blue_green) {
      PIGTAIL_ASSIGN_OR_RETURN(StateDiff diff, DiffStateWithStore(state, target.get(), 20));
      report_["verified_registers"] = diff.registers_compared;
      if (diff.total > 0) {
        for (const RegisterDifference& d : diff.differences) {
          std::fprintf(err_, "%s\n", d.ToString().c_str());
        }
        return Status::Corruption("the staged state at " + target_uri +
                                  " differs from the log in " + std::to_string(diff.total) +
                                  " registers; not switched");
      }
      Say("verified " + std::to_string(diff.registers_compared) + " registers in " + target_uri);
      target.reset();
      source.reset();
      PIGTAIL_ASSIGN_OR_RETURN(std::optional<StateLocation> previous, SwitchToStaging(live));
      Say("switched: " + live.ToString() + " now holds the rebuilt state" +
          (previous ? "; the old state is at " + previous->ToString() : std::string()));
      report_["switched"] = true;
      report_["previous"] = previous ? previous->uri : std::string();
      if (previous && previous->IsPostgres()) {
        report_["previous_schema"] = previous->postgres_schema;
      }
    }
    report_["peak_rss_kb"] = PeakRssKb();
    return Status::Ok();
  }

  Status Verify(int* code) {
    OnlyOptions({"log", "state", "max-diffs"});
    NoPositional();
    std::string log = Required("log");
    std::string state_uri = Required("state");
    size_t max_diffs = Number("max-diffs");
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventSource> source, OpenSource(log));
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> store,
                             OpenStateStore(state_uri, Reading()));
    State state;
    PIGTAIL_ASSIGN_OR_RETURN(ReplayReport r,
                             Replay(source.get(), &state, nullptr, options_, progress_.get()));
    PIGTAIL_ASSIGN_OR_RETURN(StateDiff diff, DiffStateWithStore(state, store.get(), max_diffs));
    SayCorruption(source->PositionName());
    json::array diffs;
    for (const RegisterDifference& d : diff.differences) {
      Say(d.ToString());
      diffs.push_back(DifferenceJson(d));
    }
    Say(std::to_string(diff.total) + " differences in " + std::to_string(diff.registers_compared) +
        " registers compared (" + std::to_string(diff.registers_expected) + " from the log, " +
        std::to_string(diff.registers_stored) + " in the store, " +
        std::to_string(diff.undecodable) + " of them undecodable; log digest " + r.digest.ToHex() +
        ")");
    report_["replay"] = ReplayJson(r);
    report_["corruption"] = CorruptionJson();
    report_["registers_compared"] = diff.registers_compared;
    report_["registers_expected"] = diff.registers_expected;
    report_["registers_stored"] = diff.registers_stored;
    report_["undecodable_registers"] = diff.undecodable;
    report_["difference_count"] = diff.total;
    report_["differences"] = std::move(diffs);
    report_["peak_rss_kb"] = PeakRssKb();
    *code = diff.total == 0 ? kExitOk : kExitDifferences;
    return Status::Ok();
  }

  static json::object DifferenceJson(const RegisterDifference& d) {
    json::object o;
    o["kind"] = DifferenceKindName(d.kind);
    o["queue"] = d.queue;
    if (d.id) o["id"] = d.id->ToString();
    auto parsed = [](const std::optional<std::string>& s) -> json::value {
      if (!s) return nullptr;
      boost::system::error_code ec;
      json::value v = json::parse(*s, ec);
      return ec ? json::value(*s) : v;
    };
    o["expected"] = parsed(d.expected);
    o["actual"] = parsed(d.actual);
    if (d.undecodable) o["undecodable"] = *d.undecodable;
    return o;
  }

  Status Compare(int* code) {
    OnlyOptions({"max-diffs", "digests"});
    const std::vector<std::string>& targets = args_.positional;
    if (targets.size() < 2) throw UsageError{"compare needs at least two stores or nodes"};
    size_t max_diffs = Number("max-diffs");
    DigestSource source = DigestSource::kRegisters;
    if (std::optional<std::string> from = Option("digests")) {
      if (*from == "stored") {
        source = DigestSource::kStored;
      } else if (*from != "registers") {
        throw UsageError{"--digests takes registers or stored, not \"" + *from + "\""};
      }
    }
    bool any_node = false;
    for (const std::string& t : targets) any_node = any_node || IsHttpSpec(t);
    CompareReport report;
    if (any_node) {
      std::vector<NamedDigests> digests;
      for (const std::string& t : targets) {
        NamedDigests d{t, {}, DigestSource::kNode};
        if (IsHttpSpec(t)) {
#ifdef PIGTAIL_REPLAY_HAVE_HTTP
          PIGTAIL_ASSIGN_OR_RETURN(d.digests, FetchNodeDigests(t));
#else
          return Status::FailedPrecondition("this build has no HTTP client; cannot read " + t);
#endif
        } else {
          PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> s, OpenStateStore(t, Reading()));
          PIGTAIL_ASSIGN_OR_RETURN(d, ReadStoreDigests(t, s.get(), source));
        }
        digests.push_back(std::move(d));
      }
      report = CompareDigests(std::move(digests));
    } else {
      std::vector<std::unique_ptr<StateStore>> owned;
      std::vector<StateStore*> stores;
      for (const std::string& t : targets) {
        PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> s, OpenStateStore(t, Reading()));
        stores.push_back(s.get());
        owned.push_back(std::move(s));
      }
      PIGTAIL_ASSIGN_OR_RETURN(report, CompareStores(targets, stores, max_diffs, source));
    }
    json::array digests;
    for (const NamedDigests& d : report.digests) {
      const std::string_view from = DigestSourceName(d.source);
      Say(d.digests.total.ToHex() + "  " + d.name + "  (checkpoint " +
          std::to_string(d.digests.checkpoint) + ", " +
          (d.source == DigestSource::kRegisters ? "recomputed from the registers"
           : d.source == DigestSource::kStored  ? "digests as stored"
                                                : "digests served by the node") +
          ")");
      json::object o{{"name", d.name},
                     {"total", d.digests.total.ToHex()},
                     {"checkpoint", d.digests.checkpoint},
                     {"digests_from", from}};
      if (d.stored_mismatch) {
        Say("  " + d.name + ": its stored digests do not match its registers (stored total " +
            d.stored_mismatch->total.ToHex() + ")");
        json::array queues;
        for (const std::string& q : DifferingQueueNames(*d.stored_mismatch, d.digests)) {
          Say("    queue " + q);
          queues.push_back(json::value(q));
        }
        o["stored_total"] = d.stored_mismatch->total.ToHex();
        o["stored_digests_differ_in"] = std::move(queues);
      }
      digests.push_back(std::move(o));
    }
    json::array pairs;
    for (const PairComparison& p : report.pairs) {
      Say(p.other + " differs from " + p.reference + ":");
      json::object pj;
      pj["reference"] = p.reference;
      pj["other"] = p.other;
      json::array queues;
      for (const std::string& q : p.queues) {
        Say("  queue " + q);
        queues.push_back(json::value(q));
      }
      pj["queues"] = std::move(queues);
      json::array ranges;
      for (const RangeDigests& r : p.ranges) {
        Say("  range " + r.queue + "/" + r.range + "*: " + r.reference.ToHex() + " vs " +
            r.other.ToHex());
        ranges.push_back(json::object{{"queue", r.queue},
                                      {"range", r.range},
                                      {"reference", r.reference.ToHex()},
                                      {"other", r.other.ToHex()}});
      }
      pj["ranges"] = std::move(ranges);
      json::array regs;
      for (const RegisterDifference& d : p.registers.differences) {
        Say("  " + d.ToString());
        regs.push_back(DifferenceJson(d));
      }
      pj["registers"] = std::move(regs);
      pj["register_difference_count"] = p.registers.total;
      pairs.push_back(std::move(pj));
    }
    Say(report.agree ? "all agree" : "they differ");
    report_["agree"] = report.agree;
    report_["digests"] = std::move(digests);
    report_["differences"] = std::move(pairs);
    *code = report.agree ? kExitOk : kExitDifferences;
    return Status::Ok();
  }

  Status Merge() {
    OnlyOptions({"from", "into-log", "into-state"});
    NoPositional();
    std::vector<std::string> inputs = All("from");
    if (inputs.size() < 2) throw UsageError{"merge needs at least two --from logs"};
    std::string into_log = Required("into-log");
    std::optional<std::string> into_state = Option("into-state");
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> log, OpenEventStore(into_log, backend_));
    json::array inputs_json;
    for (const std::string& in : inputs) {
      PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventSource> source, OpenSource(in));
      PIGTAIL_ASSIGN_OR_RETURN(
          CopyReport r, CopyEvents(source.get(), log.get(), limits_, progress_.get(), "merge"));
      Say(in + ": " + std::to_string(r.read) + " read, " + std::to_string(r.added) + " new, " +
          std::to_string(r.duplicates) + " duplicates");
      inputs_json.push_back(json::object{
          {"source", in}, {"read", r.read}, {"added", r.added}, {"duplicates", r.duplicates}});
    }
    SayCorruption("position");
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<OwnerReport> owners, ReportOwners(log.get()));
    json::array owners_json;
    for (const OwnerReport& o : owners) {
      std::string holes;
      json::array holes_json;
      for (const Uuid& h : o.holes) {
        holes += " " + h.ToString();
        holes_json.push_back(json::value(h.ToString()));
      }
      Say("owner " + o.owner.ToString() + ": " + std::to_string(o.events) + " events, " +
          std::to_string(o.holes.size()) + " holes" + holes);
      owners_json.push_back(json::object{
          {"owner", o.owner.ToString()}, {"events", o.events}, {"holes", std::move(holes_json)}});
    }
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t count, log->Count());
    Say("merged log: " + std::to_string(count) + " events");
    report_["inputs"] = std::move(inputs_json);
    report_["owners"] = std::move(owners_json);
    report_["events"] = count;
    report_["corruption"] = CorruptionJson();
    if (into_state) {
      PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<StateStore> target,
                               OpenStateStore(*into_state, backend_));
      CorruptionReporter strict(CorruptionPolicy::kStop);
      std::unique_ptr<EventSource> source = NewStoreSource(log.get(), &strict);
      State state;
      PIGTAIL_ASSIGN_OR_RETURN(
          ReplayReport r, Replay(source.get(), &state, target.get(), options_, progress_.get()));
      SayReplay(r, source->PositionName());
      report_["replay"] = ReplayJson(r);
    }
    return Status::Ok();
  }

  Status Export() {
    OnlyOptions({"from", "out"});
    NoPositional();
    std::string from = Required("from");
    if (IsJsonlSpec(from) || IsHttpSpec(from)) {
      throw UsageError{"export reads an EventStore URI, not \"" + from + "\""};
    }
    std::optional<std::string> path = Option("out");
    if (json_ && !path) throw UsageError{"export --json needs --out (stdout carries the report)"};
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store, OpenEventStore(from, Reading()));
    std::FILE* file = out_;
    if (path) {
      file = std::fopen(path->c_str(), "wb");
      if (file == nullptr)
        return Status::IOError("cannot create " + *path + ": " + std::strerror(errno));
    }
    Result<uint64_t> count = ExportJsonl(store.get(), file, limits_, progress_.get());
    if (path && std::fclose(file) != 0 && count.ok()) {
      return Status::IOError("closing " + *path + ": " + std::strerror(errno));
    }
    if (!count.ok()) return count.status();
    if (path) Say("exported " + std::to_string(*count) + " events to " + *path);
    report_["events"] = *count;
    return Status::Ok();
  }

  Status Import() {
    OnlyOptions({"from", "into"});
    NoPositional();
    std::string from = Required("from");
    std::string into = Required("into");
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventSource> source, OpenSource(from));
    PIGTAIL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store, OpenEventStore(into, backend_));
    PIGTAIL_ASSIGN_OR_RETURN(CopyReport r,
                             CopyEvents(source.get(), store.get(), limits_, progress_.get()));
    Say("imported " + std::to_string(r.added) + " new events (" + std::to_string(r.read) +
        " read, " + std::to_string(r.duplicates) + " duplicates)");
    SayCorruption(source->PositionName());
    report_["read"] = r.read;
    report_["added"] = r.added;
    report_["duplicates"] = r.duplicates;
    report_["corruption"] = CorruptionJson();
    return Status::Ok();
  }

  inline static const std::set<std::string> kCommonOptions = {
      "corrupt", "memory-budget-mb", "rocksdb-memory-mb", "batch", "pg-schema", "read-ahead",
      "json",    "progress",         "no-progress"};

  Args args_;
  std::FILE* out_;
  std::FILE* err_;
  bool json_ = false;
  std::unique_ptr<ProgressSink> progress_;
  CorruptionReporter reporter_{CorruptionPolicy::kStop};
  ReplayOptions options_;
  BatchLimits limits_;
  BackendOptions backend_;
  json::object report_;
};

}  // namespace

int RunReplayTool(const std::vector<std::string>& argv, std::FILE* out, std::FILE* err) {
  Args args;
  if (std::optional<UsageError> e = Parse(argv, &args)) {
    std::fprintf(err, "pigtail-replay: %s\n(run `pigtail-replay help` for usage)\n",
                 RedactSecrets(e->message).c_str());
    return kExitUsage;
  }
  return Command(std::move(args), out, err).Run();
}

}  // namespace pigtail::replay

#include "server/api.h"

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <functional>
#include <string_view>
#include <vector>

#include "backends/registry.h"
#include "core/redact.h"
#include "core/task_view.h"
#include "server/api_call.h"
#include "server/log.h"
#include "server/memory_trim.h"
#include "server/node_work.h"

namespace pigtail {
namespace {

enum class Auth { kNone, kClient, kPeer, kClientOrPeer };

std::vector<std::string> SplitPattern(std::string_view pattern) {
  std::vector<std::string> out;
  size_t pos = 1;
  while (pos <= pattern.size()) {
    size_t slash = pattern.find('/', pos);
    if (slash == std::string_view::npos) slash = pattern.size();
    if (slash > pos) out.emplace_back(pattern.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// True if `segments` fits `pattern`; the parameters go to `params`.
bool Match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
           std::vector<std::string>* params) {
  if (pattern.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].starts_with("{")) {
      params->push_back(segments[i]);
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

// True if the request carries `Authorization: Bearer <token>`. The scheme is
// case-insensitive (RFC 9110 section 11.1); one space separates it from the
// token.
bool HasBearer(const HttpRequest& request, const std::string& token) {
  std::string_view header = request.Header("Authorization");
  static constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  // One space, as every client sends it.
  if (header[kScheme.size()] != ' ') return false;
  std::string_view given = header.substr(kScheme.size() + 1);
  if (given.size() != token.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i) diff |= given[i] ^ token[i];
  return diff == 0;
}

// Runs `route`; an exception it throws is answered with a 500, so the client
// is not left waiting (unless `route` had moved the reply away first).
template <typename F>
void ReplyOnThrow(const Replier& reply, F&& route) {
  try {
    route();
  } catch (const std::exception& e) {
    if (reply.respond) reply(api::Error(500, std::string("internal error: ") + e.what()));
  }
}

}  // namespace

Api::Api(Node* node, Sequencer* sequencer, Notifier* notifier, Metrics* metrics,
         const ApiOptions& options)
    : node_(node),
      sequencer_(sequencer),
      notifier_(notifier),
      metrics_(metrics),
      options_(options),
      store_io_(std::make_unique<SerialExecutor>("store-io")) {}

void Api::set_replicator(Replicator* replicator) {
  replicator_ = replicator;
  if (!options_.claim_routing) return;
  ClaimRouterOptions router;
  router.peer_token = options_.peer_token;
  router.forward_timeout = options_.forward_timeout;
  claim_router_ = std::make_unique<ClaimRouter>(
      node_->id(), [replicator] { return replicator->Peers(); }, router);
}

void Api::Stop() {
  store_io_.reset();  // runs what was posted, then joins
  if (claim_router_) claim_router_->Stop();
}

void Api::Handle(HttpRequest request, HttpResponder respond) {
  Call call;
  call.reply.start = std::chrono::steady_clock::now();
  call.reply.metrics = metrics_;
  if (log::AccessEnabled()) call.reply.access = request.method + " " + request.target;
  call.reply.respond = std::move(respond);
  call.request = std::move(request);
  Result<api::Target> target = api::ParseTarget(call.request.target);
  if (!target.ok()) return call.reply(api::FromStatus(target.status()));
  call.target = std::move(target).value();
  ReplyOnThrow(call.reply, [&] { Route(call); });
}

void Api::Route(Call& call) {
  using P = const std::vector<std::string>&;
  using Run = void (*)(Api*, Call&, P);
  // Where a route runs. A peer's page of thousands of log entries, and on a
  // remote log (PostgreSQL: a network round trip each) every read of the
  // log and every change of the node's own records (/nodes, /log/register),
  // run on store_io_, so the I/O thread goes on serving the other clients.
  // A point read of a local log takes microseconds, less than the hand-off
  // to another thread. Writes go to the sequencer and wait on nothing here.
  enum class On { kIoThread, kStoreThread, kStoreThreadIfRemote };
  struct Spec {
    const char* method;
    const char* pattern;
    Auth auth;
    Run run;
    On on = On::kIoThread;
  };
  constexpr On kIfRemote = On::kStoreThreadIfRemote;
  // Literal segments before parameters where both could match.
  static const Spec kSpecs[] = {
      {"GET", "/log", Auth::kClientOrPeer, [](Api* a, Call& c, P) { a->LogHeads(c, false); },
       kIfRemote},
      {"POST", "/log", Auth::kClient, [](Api* a, Call& c, P) { a->LogPost(c); }},
      {"GET", "/log/first", Auth::kClientOrPeer, [](Api* a, Call& c, P) { a->LogHeads(c, true); },
       kIfRemote},
      {"GET", "/log/range", Auth::kPeer, [](Api* a, Call& c, P) { a->LogRange(c); },
       On::kStoreThread},
      {"POST", "/log/batch", Auth::kPeer, [](Api* a, Call& c, P) { a->LogBatch(c); }},
      {"POST", "/log/other", Auth::kPeer, [](Api* a, Call& c, P) { a->LogOther(c, false); }},
      {"POST", "/log/register", Auth::kClient, [](Api* a, Call& c, P) { a->LogRegister(c, true); },
       kIfRemote},
      {"POST", "/log/deregister", Auth::kClient,
       [](Api* a, Call& c, P) { a->LogRegister(c, false); }, kIfRemote},
      {"GET", "/log/{id}", Auth::kClientOrPeer, [](Api* a, Call& c, P p) { a->LogGet(c, p[0]); },
       kIfRemote},
      {"GET", "/replication", Auth::kPeer, [](Api* a, Call& c, P) { a->ReplicationStatus(c); }},
      {"GET", "/nodes", Auth::kPeer, [](Api* a, Call& c, P) { a->NodesGet(c); }, kIfRemote},
      {"POST", "/nodes", Auth::kPeer, [](Api* a, Call& c, P) { a->NodesChange(c, true); },
       kIfRemote},
      {"DELETE", "/nodes", Auth::kPeer, [](Api* a, Call& c, P) { a->NodesChange(c, false); },
       kIfRemote},
      {"POST", "/event", Auth::kPeer, [](Api* a, Call& c, P) { a->LogOther(c, true); }},
      {"POST", "/create", Auth::kClient, [](Api* a, Call& c, P) { a->QueueCreate(c); }},
      {"GET", "/queues", Auth::kClient, [](Api* a, Call& c, P) { a->QueueList(c); }},
      {"GET", "/queue/{name}", Auth::kClient, [](Api* a, Call& c, P p) { a->QueueGet(c, p[0]); }},
      {"POST", "/queue/{name}", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueueAdd(c, p[0], false); }},
      {"DELETE", "/queue/{name}", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueueDelete(c, p[0]); }},
      {"PATCH", "/queue/{name}", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueueChange(c, p[0]); }},
      {"POST", "/queue/{name}/batch", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueueAdd(c, p[0], true); }},
      {"POST", "/queue/{name}/pause", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueuePause(c, p[0], true); }},
      {"POST", "/queue/{name}/resume", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueuePause(c, p[0], false); }},
      {"POST", "/queue/{name}/purge", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueuePurge(c, p[0]); }},
      {"POST", "/queue/{name}/claim", Auth::kClientOrPeer,
       [](Api* a, Call& c, P p) { a->QueueClaim(c, p[0]); }},
      {"POST", "/queue/{name}/done", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueueDoneBatch(c, p[0]); }},
      {"GET", "/queue/{name}/stats", Auth::kClient,
       [](Api* a, Call& c, P p) { a->QueueStats(c, p[0]); }},
      {"GET", "/queue/{name}/{id}", Auth::kClient,
       [](Api* a, Call& c, P p) { a->TaskGet(c, p[0], p[1]); }},
      {"PUT", "/queue/{name}/{id}", Auth::kClient,
       [](Api* a, Call& c, P p) { a->TaskPut(c, p[0], p[1]); }},
      {"DELETE", "/queue/{name}/{id}", Auth::kClient,
       [](Api* a, Call& c, P p) { a->TaskDelete(c, p[0], p[1]); }},
      {"POST", "/queue/{name}/{id}/fail", Auth::kClient,
       [](Api* a, Call& c, P p) { a->TaskFail(c, p[0], p[1]); }},
      {"POST", "/queue/{name}/{id}/cancel", Auth::kClient,
       [](Api* a, Call& c, P p) { a->TaskCancel(c, p[0], p[1]); }},
      {"POST", "/queue/{name}/{id}/retry", Auth::kClient,
       [](Api* a, Call& c, P p) { a->TaskRetry(c, p[0], p[1]); }},
      {"GET", "/digest", Auth::kClientOrPeer, [](Api* a, Call& c, P) { a->Digests(c); }},
      {"GET", "/metrics", Auth::kClient, [](Api* a, Call& c, P) { a->MetricsText(c); }},
      {"GET", "/health", Auth::kNone, [](Api* a, Call& c, P) { a->Health(c); }},
      {"GET", "/ready", Auth::kNone, [](Api* a, Call& c, P) { a->Ready(c); }},
      {"GET", "/", Auth::kNone, [](Api* a, Call& c, P) { a->UiRedirect(c); }},
      {"GET", "/ui", Auth::kNone, [](Api* a, Call& c, P) { a->UiFile(c, "index.html"); }},
      {"GET", "/ui/{file}", Auth::kNone, [](Api* a, Call& c, P p) { a->UiFile(c, p[0]); }},
  };
  static const std::vector<std::vector<std::string>> kPatterns = [] {
    std::vector<std::vector<std::string>> out;
    for (const Spec& spec : kSpecs) out.push_back(SplitPattern(spec.pattern));
    return out;
  }();

  std::vector<std::string> params;
  const Spec* path_match = nullptr;
  for (size_t i = 0; i < std::size(kSpecs); ++i) {
    const Spec& spec = kSpecs[i];
    if (!Match(kPatterns[i], call.target.segments, &params)) continue;
    // "/queue/{name}/claim" must not be read as task id "claim" by a later
    // spec with another method.
    if (path_match != nullptr && std::string_view(path_match->pattern) != spec.pattern) break;
    path_match = &spec;
    if (call.request.method != spec.method) continue;
    call.reply.route = std::string(spec.method) + " " + spec.pattern;
    const std::string* token = spec.auth == Auth::kPeer   ? &options_.peer_token
                               : spec.auth == Auth::kNone ? nullptr
                                                          : &options_.client_token;
    bool peer_ok = spec.auth == Auth::kClientOrPeer && !options_.peer_token.empty() &&
                   HasBearer(call.request, options_.peer_token);
    if (token != nullptr && !token->empty() && !peer_ok && !HasBearer(call.request, *token)) {
      HttpResponse r = api::Error(401, "missing or wrong bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pigtail\"");
      return call.reply(std::move(r));
    }
    const bool on_store_thread = spec.on == On::kStoreThread ||
                                 (spec.on == On::kStoreThreadIfRemote && node_->log()->IsRemote());
    if (!on_store_thread) return spec.run(this, call, params);
    store_io_->Post([this, run = spec.run, call = std::move(call), params]() mutable {
      ReplyOnThrow(call.reply, [&] { run(this, call, params); });
    });
    return;
  }
  if (path_match != nullptr) {
    call.reply.route = std::string("* ") + path_match->pattern;
    // The path's methods, in the Allow header a 405 must carry (RFC 9110,
    // 15.5.6).
    std::string allowed;
    for (const Spec& spec : kSpecs) {
      if (std::string_view(spec.pattern) != path_match->pattern) continue;
      if (!allowed.empty()) allowed += ", ";
      allowed += spec.method;
    }
    HttpResponse r = api::Error(
        405, "method " + call.request.method + " is not allowed here (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    return call.reply(std::move(r));
  }
  call.reply.route = "unknown";
  call.reply(api::Error(404, "no such endpoint: " + call.request.target));
}

void Api::Digests(Call& call) {
  std::string body = node_->Read([](const State& state) {
    boost::json::object queues;
    for (const auto& [name, slot] : state.queues()) {
      if (!slot.digest.IsZero()) queues[name] = slot.digest.ToHex();
    }
    boost::json::object out;
    out["total"] = state.total_digest().ToHex();
    out["queues"] = std::move(queues);
    out["tasks"] = state.task_count();
    return boost::json::serialize(out);
  });
  call.reply(api::Json(200, std::move(body)));
}

void Api::Health(Call& call) {
  boost::json::object out;
  // Liveness: the process serves. Whether it can take writes is GET /ready.
  out["status"] = "ok";
  out["node_id"] = node_->id().ToString();
  out["log"] = RedactSecrets(options_.log_uri);  // GET /health needs no token
  out["state"] = RedactSecrets(options_.state_uri);
  out["events_appended"] = node_->counters().events_appended.load();
  node_->Read([&](const State& state) {
    out["queues"] = state.queues().size();
    out["tasks"] = state.task_count();
    out["tasks_in_memory"] = state.task_count() - state.dropped_count();
    return 0;
  });
  call.reply(api::Json(200, boost::json::serialize(out)));
}

void Api::MetricsText(Call& call) {
  std::string text = metrics_ != nullptr ? metrics_->Render() : std::string();
  NodeCounters& c = node_->counters();
  auto counter_text = [&](const char* name, const char* help, const std::string& value) {
    text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
            " " + value + "\n";
  };
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    counter_text(name, help, std::to_string(value));
  };
  auto seconds = [&](const char* name, const char* help, double value) {
    char formatted[32];
    std::snprintf(formatted, sizeof formatted, "%.6f", value);
    counter_text(name, help, formatted);
  };
  counter("pigtail_events_appended_total", "New events stored in the log.",
          c.events_appended.load());
  counter("pigtail_duplicate_events_total", "Events received that were already stored.",
          c.duplicate_events.load());
  counter("pigtail_claims_total", "Leases granted.", c.claims.load());
  if (claim_router_) {
    counter("pigtail_claims_forwarded_total", "Claims this node forwarded to a task's home.",
            claim_router_->forwarded());
    counter("pigtail_claim_forward_failures_total",
            "Forwarded claims that failed; the home then counts as unreachable.",
            claim_router_->forward_failures());
  }
  counter("pigtail_lease_expiries_total", "Claims that took over an expired lease.",
          c.lease_expiries.load());
  counter("pigtail_rejected_ops_total", "Malformed queue operations stored and rejected.",
          c.rejected_ops.load());
  counter("pigtail_foreign_events_total", "Stored events whose data is not a queue op.",
          c.foreign_events.load());
  counter("pigtail_future_events_total",
          "Peer entries stamped beyond the clock's bounds (offset, epoch, count): deferred.",
          c.future_events.load());
  counter("pigtail_sequencer_batches_total", "Batches written by the ingest sequencer.",
          c.batches.load());
  counter("pigtail_sequencer_requests_total",
          "Requests decided in the batches written (per batch: how many share a log append).",
          c.batch_requests.load());
  seconds("pigtail_log_append_seconds_total",
          "Time in the sequencer's log appends, each with its sync.", c.log_append_ns.load() / 1e9);
  seconds("pigtail_sequencer_busy_seconds_total",
          "Time the sequencer spent on batches and state commits (not waiting for requests).",
          c.sequencer_busy_ns.load() / 1e9);
  seconds("process_cpu_seconds_total", "CPU time of this process, user and system.",
          ProcessCpuSeconds());
  counter("pigtail_tasks_reinstated_total",
          "Finished tasks read back from the state store for an op on them.",
          c.tasks_reinstated.load());
  node_->Read([&](const State& state) {
    text +=
        "# HELP pigtail_tasks_in_memory Task registers held in memory (the others, finished, "
        "are in the state store only).\n# TYPE pigtail_tasks_in_memory gauge\n"
        "pigtail_tasks_in_memory " +
        std::to_string(state.task_count() - state.dropped_count()) + "\n";
    return 0;
  });
  text +=
      "# HELP pigtail_rocksdb_memory_bytes RocksDB memory in use: cached blocks and memtables "
      "(within --rocksdb-memory-mb).\n# TYPE pigtail_rocksdb_memory_bytes gauge\n"
      "pigtail_rocksdb_memory_bytes " +
      std::to_string(RocksDbMemoryInUse()) + "\n";
  text +=
      "# HELP pigtail_rocksdb_cache_sweeps_total Times RocksDB's cache was cleared of the "
      "blocks of tables compaction deleted.\n# TYPE pigtail_rocksdb_cache_sweeps_total counter\n"
      "pigtail_rocksdb_cache_sweeps_total " +
      std::to_string(RocksDbCacheSweeps()) + "\n";
  const auto roles = RocksDbMemoryByRole();
  if (!roles.empty()) {
    text +=
        "# HELP pigtail_rocksdb_memory_role_bytes The same by what holds it (RocksDB's cache "
        "entry roles; write-buffer is the memtables), as of RocksDB's last scan of its cache.\n"
        "# TYPE pigtail_rocksdb_memory_role_bytes gauge\n";
    for (const auto& [role, bytes] : roles) {
      text += "pigtail_rocksdb_memory_role_bytes{role=\"" + role + "\"} " + std::to_string(bytes) +
              "\n";
    }
  }
  const HeapUsage heap = ReadHeapUsage();
  text +=
      "# HELP pigtail_heap_bytes The C library heap: bytes allocated and not freed (in_use), "
      "and bytes the allocator holds beyond them (free).\n# TYPE pigtail_heap_bytes gauge\n"
      "pigtail_heap_bytes{allocator=\"" +
      std::string(AllocatorName()) + "\",kind=\"in_use\"} " + std::to_string(heap.in_use) +
      "\npigtail_heap_bytes{allocator=\"" + AllocatorName() + "\",kind=\"free\"} " +
      std::to_string(heap.free) + "\n";
  text +=
      "# HELP pigtail_heap_info The allocator and its transparent huge page option (thp: "
      "always, default or never).\n# TYPE pigtail_heap_info gauge\npigtail_heap_info{allocator=\"" +
      std::string(AllocatorName()) + "\",thp=\"" + HeapHugePages() + "\"} 1\n";
  text += ReadinessMetrics();
  counter("pigtail_state_commit_failures_total",
          "State store commits that failed (their changes are committed again).",
          sequencer_->state_commit_failures());
  if (replicator_ != nullptr) text += replicator_->MetricsText();
  if (notifier_ != nullptr) {
    counter("pigtail_notifications_delivered_total", "Entries delivered to registered URLs.",
            notifier_->delivered());
  }
  uint64_t now = node_->NowNanos();
  text +=
      "# HELP pigtail_queue_tasks Visible tasks by queue and state.\n"
      "# TYPE pigtail_queue_tasks gauge\n";
  node_->Read([&](const State& state) {
    for (const auto& [name, slot] : state.queues()) {
      if (!slot.record || !slot.record->alive) continue;
      QueueCounts counts = CountTasks(state, name, now);
      auto gauge = [&](const char* st, uint64_t v) {
        text += "pigtail_queue_tasks{queue=\"" + name + "\",state=\"" + st + "\"} " +
                std::to_string(v) + "\n";
      };
      gauge("pending", counts.pending);
      gauge("working", counts.working);
      gauge("done", counts.done);
      gauge("dead", counts.dead);
      gauge("cancelled", counts.cancelled);
    }
    text += sequencer_->queue_metrics().Render(state, now);
    return 0;
  });
  HttpResponse r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
  r.body = std::move(text);
  call.reply(std::move(r));
}

}  // namespace pigtail

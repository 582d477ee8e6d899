#include "server/replicator.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <future>
#include <set>
#include <span>

#include "server/entry_array.h"
#include "server/entry_fetch.h"
#include "server/peer_watch.h"
#include "server/thread_name.h"

namespace pigtail {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status HttpError(std::string_view what, const HttpResponse& r) {
  std::string body = r.body.substr(0, 200);
  return Status::Unavailable(std::string(what) + ": HTTP " + std::to_string(r.status) + " " + body);
}

Result<boost::json::value> ParseJson(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) return Status::Unavailable(std::string(what) + ": not JSON: " + ec.message());
  return v;
}

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string PushCursorKey(std::string_view peer_url) {
  return "push_cursor:" + std::string(peer_url);
}

// ---------------------------------------------------------------------------
// PeerClient

PeerClient::PeerClient(Node* node, Sequencer* sequencer, std::string url,
                       const ReplicatorOptions& options)
    : node_(node), sequencer_(sequencer), url_(std::move(url)), options_(options) {
  Result<HttpUrl> parsed = ParseHttpUrl(url_);
  if (parsed.ok()) {
    parsed_ = std::move(parsed).value();
    // A peer URL names the node; its API is at the root.
    if (parsed_.target == "/") parsed_.target.clear();
    while (!parsed_.target.empty() && parsed_.target.back() == '/') parsed_.target.pop_back();
  }
}

PeerClient::~PeerClient() = default;

Result<HttpResponse> PeerClient::Send(std::string_view method, std::string_view target,
                                      std::string_view body) {
  if (parsed_.host.empty()) return Status::InvalidArgument("bad peer URL " + url_);
  if (stop_ != nullptr && stop_->load()) return Status::Unavailable("stopping");
  if (!conn_) conn_ = std::make_unique<HttpConnection>(parsed_.host, parsed_.port);
  HttpHeaders headers;
  if (!options_.peer_token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + options_.peer_token);
  }
  Result<HttpResponse> r = conn_->Send(method, parsed_.target + std::string(target), body, headers,
                                       options_.request_timeout);
  if (!r.ok()) conn_.reset();  // a timed-out exchange leaves the stream unusable
  return r;
}

Result<std::string> PeerClient::PeerNodeId() {
  PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", "/health"));
  if (r.status == 404) return std::string();  // a Potboiler node
  if (r.status != 200) return HttpError("GET /health", r);
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::value v, ParseJson(r.body, "GET /health"));
  const boost::json::value* id = v.is_object() ? v.as_object().if_contains("node_id") : nullptr;
  if (id == nullptr || !id->is_string()) return std::string();  // a Potboiler node
  return std::string(id->as_string());
}

Result<std::string> PeerClient::PeerDigest() {
  PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", "/digest"));
  if (r.status != 200) return std::string();  // a Potboiler node, or no access
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::value v, ParseJson(r.body, "GET /digest"));
  const boost::json::value* total = v.is_object() ? v.as_object().if_contains("total") : nullptr;
  if (total == nullptr || !total->is_string()) return std::string();
  return std::string(total->as_string());
}

Result<std::map<Uuid, Uuid>> PeerClient::Heads() {
  PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", "/log"));
  if (r.status != 200) return HttpError("GET /log", r);
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::value v, ParseJson(r.body, "GET /log"));
  if (!v.is_object()) return Status::Unavailable("GET /log: not an object");
  std::map<Uuid, Uuid> out;
  for (const auto& [key, value] : v.as_object()) {
    if (!value.is_string()) return Status::Unavailable("GET /log: a head is not a string");
    Result<Uuid> owner = Uuid::Parse(key);
    Result<Uuid> id = Uuid::Parse(std::string_view(value.as_string()));
    if (!owner.ok() || !id.ok()) return Status::Unavailable("GET /log: not a UUID");
    out.emplace(*owner, *id);
  }
  return out;
}

std::future<WriteResult> PeerClient::StoreAsync(std::vector<Event> events) {
  const Uuid& me = node_->id();
  std::erase_if(events, [&](const Event& e) { return e.owner == me; });
  auto promise = std::make_shared<std::promise<WriteResult>>();
  std::future<WriteResult> future = promise->get_future();
  if (events.empty()) {
    promise->set_value(WriteResult());
    return future;
  }
  ExternalRequest req;
  req.events = std::move(events);
  sequencer_->Submit(std::move(req),
                     [promise](WriteResult r) { promise->set_value(std::move(r)); });
  return future;
}

Result<uint64_t> PeerClient::Stored(std::future<WriteResult> pending) {
  WriteResult result = pending.get();
  if (!result.status.ok()) return result.status.WithContext("storing pulled entries");
  deferred_ += result.deferred.size();
  return static_cast<uint64_t>(std::count(result.stored.begin(), result.stored.end(), true));
}

Result<uint64_t> PeerClient::Store(std::vector<Event> events) {
  return Stored(StoreAsync(std::move(events)));
}

Result<std::optional<Event>> PeerClient::Fetch(const Uuid& id, std::optional<Uuid>* next) {
  auto get = [this](const std::string& target) { return Send("GET", target); };
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<FetchedEntry> fetched, FetchEntry(get, id, &serves_raw_));
  if (!fetched) return std::optional<Event>();
  *next = fetched->next;
  Result<Event> e = ParseEvent(std::move(fetched->bytes));
  if (!e.ok()) return e.status().WithContext("GET /log/{id}");
  if (e->id != id) return Status::Unavailable("GET /log/{id}: the peer sent another entry");
  return std::optional<Event>(std::move(e).value());
}

Result<uint64_t> PeerClient::PullRange(const Uuid& owner, std::optional<Hlc> after) {
  uint64_t stored = 0;
  // The next page is fetched while the sequencer stores the last one.
  std::optional<std::future<WriteResult>> in_flight;
  auto settle = [&]() -> Status {
    if (!in_flight) return Status::Ok();
    Result<uint64_t> added = Stored(std::move(*in_flight));
    in_flight.reset();
    if (!added.ok()) return added.status();
    stored += *added;
    return Status::Ok();
  };
  for (;;) {
    std::string target =
        "/log/range?owner=" + owner.ToString() + "&limit=" + std::to_string(options_.batch);
    if (after) target += "&after_when=" + HlcQueryText(*after);
    Result<HttpResponse> r = Send("GET", target);
    if (!r.ok() || r->status != 200) {
      PIGTAIL_RETURN_IF_ERROR(settle());
      if (!r.ok()) return r.status();
      if (r->status == 404 || r->status == 405) {
        no_range_ = true;
        return Status::NotFound("the peer has no GET /log/range");
      }
      return HttpError("GET /log/range", *r);
    }
    Result<std::vector<Event>> events = ParseEntryArray(r->body);
    if (!events.ok()) {
      PIGTAIL_RETURN_IF_ERROR(settle());
      return Status::Unavailable("GET /log/range: " + events.status().message());
    }
    size_t n = events->size();
    PIGTAIL_RETURN_IF_ERROR(settle());
    if (n == 0) break;
    after = events->back().when;
    in_flight = StoreAsync(std::move(events).value());
    // A page cut short by its size is followed by more.
    if (n < options_.batch && r->Header(kTruncatedHeader) != "true") break;
  }
  PIGTAIL_RETURN_IF_ERROR(settle());
  return stored;
}

Result<uint64_t> PeerClient::WalkFrom(const Uuid& start) {
  uint64_t stored = 0;
  std::vector<Event> pending;
  std::optional<Uuid> id = start;
  std::set<Uuid> seen;  // a cycle in a broken peer's `next` links ends the walk
  while (id && seen.insert(*id).second) {
    std::optional<Uuid> next;
    PIGTAIL_ASSIGN_OR_RETURN(std::optional<Event> e, Fetch(*id, &next));
    if (!e) break;  // the peer lost it or never had it
    PIGTAIL_ASSIGN_OR_RETURN(bool have, node_->log()->Contains(*id));
    if (!have) pending.push_back(std::move(*e));
    if (pending.size() >= options_.submit_chunk) {
      PIGTAIL_ASSIGN_OR_RETURN(uint64_t added, Store(std::move(pending)));
      stored += added;
      pending.clear();
    }
    id = next;
  }
  if (!pending.empty()) {
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t added, Store(std::move(pending)));
    stored += added;
  }
  return stored;
}

Result<uint64_t> PeerClient::FillHoles(const Uuid& owner) {
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<Uuid> holes, node_->log()->Holes(owner));
  if (holes.empty()) return uint64_t{0};
  std::vector<Event> found;
  std::set<Uuid> asked;
  std::vector<Uuid> todo(holes.rbegin(), holes.rend());
  while (!todo.empty() && asked.size() < options_.max_hole_fetches) {
    Uuid id = todo.back();
    todo.pop_back();
    if (!asked.insert(id).second) continue;
    std::optional<Uuid> next;
    PIGTAIL_ASSIGN_OR_RETURN(std::optional<Event> e, Fetch(id, &next));
    if (!e) continue;  // another peer may have it
    if (e->prev) {
      PIGTAIL_ASSIGN_OR_RETURN(bool have, node_->log()->Contains(*e->prev));
      if (!have) todo.push_back(*e->prev);  // walk the hole backwards
    }
    found.push_back(std::move(*e));
  }
  // Chain order (oldest first) keeps the notifier's per-owner order.
  std::reverse(found.begin(), found.end());
  std::stable_sort(found.begin(), found.end(),
                   [](const Event& a, const Event& b) { return a.when < b.when; });
  return Store(std::move(found));
}

Result<uint64_t> PeerClient::PullMissing(bool force_walk, uint64_t* holes_filled) {
  PIGTAIL_ASSIGN_OR_RETURN(auto peer_heads, Heads());
  PIGTAIL_ASSIGN_OR_RETURN(auto local_heads, node_->log()->Heads());
  const Uuid& me = node_->id();
  uint64_t stored = 0;
  std::optional<std::map<Uuid, Uuid>> firsts;
  for (const auto& [owner, head] : peer_heads) {
    if (owner == me) continue;
    if (stop_ != nullptr && stop_->load()) break;
    PIGTAIL_ASSIGN_OR_RETURN(bool have, node_->log()->Contains(head));
    if (have) continue;
    std::optional<Uuid> local_head;
    std::optional<Hlc> after;
    if (auto it = local_heads.find(owner); it != local_heads.end()) {
      PIGTAIL_ASSIGN_OR_RETURN(std::optional<StoredEvent> e, node_->log()->Get(it->second));
      if (e) {
        local_head = it->second;
        after = e->event.when;
      }
    }
    if (!force_walk && !no_range_) {
      Result<uint64_t> got = PullRange(owner, after);
      if (got.ok()) {
        stored += *got;
        continue;
      }
      if (!no_range_) return got.status();
    }
    // The Potboiler walk: from our head's successor on the peer, else from
    // the owner's first entry.
    uint64_t walked = 0;
    bool started = false;
    if (local_head) {
      std::optional<Uuid> next;
      PIGTAIL_ASSIGN_OR_RETURN(std::optional<Event> e, Fetch(*local_head, &next));
      if (e) {
        started = true;
        if (next) {
          PIGTAIL_ASSIGN_OR_RETURN(walked, WalkFrom(*next));
        }
      }
    }
    if (!started) {
      if (!firsts) {
        PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", "/log/first"));
        if (r.status != 200) return HttpError("GET /log/first", r);
        PIGTAIL_ASSIGN_OR_RETURN(boost::json::value v, ParseJson(r.body, "GET /log/first"));
        firsts.emplace();
        if (v.is_object()) {
          for (const auto& [key, value] : v.as_object()) {
            Result<Uuid> o = Uuid::Parse(key);
            Result<Uuid> f = value.is_string()
                                 ? Uuid::Parse(std::string_view(value.as_string()))
                                 : Result<Uuid>(Status::InvalidArgument("not a string"));
            if (o.ok() && f.ok()) firsts->emplace(*o, *f);
          }
        }
      }
      if (auto it = firsts->find(owner); it != firsts->end()) {
        PIGTAIL_ASSIGN_OR_RETURN(walked, WalkFrom(it->second));
      }
    }
    stored += walked;
  }
  // Holes: in every chain either side knows of.
  uint64_t filled = 0;
  if (holes_filled != nullptr) *holes_filled = 0;
  if (skip_holes_) return stored;
  std::set<Uuid> owners;
  for (const auto& [owner, head] : peer_heads) owners.insert(owner);
  for (const auto& [owner, head] : local_heads) owners.insert(owner);
  owners.erase(me);
  for (const Uuid& owner : owners) {
    if (stop_ != nullptr && stop_->load()) break;
    PIGTAIL_ASSIGN_OR_RETURN(uint64_t n, FillHoles(owner));
    filled += n;
  }
  if (holes_filled != nullptr) *holes_filled = filled;
  return stored + filled;
}

Result<uint64_t> PeerClient::Push(uint64_t* cursor, size_t max_batches) {
  uint64_t sent = 0;
  for (size_t b = 0; b < max_batches; ++b) {
    PIGTAIL_ASSIGN_OR_RETURN(std::vector<RawRecord> events,
                             node_->log()->ScanRaw(*cursor, options_.batch));
    if (events.empty()) break;
    const uint64_t last_seq = events.back().seq;
    const size_t scanned = events.size();
    if (peer_id_) {
      std::erase_if(events, [&](const RawRecord& e) { return e.owner == *peer_id_; });
      if (events.empty()) {
        *cursor = last_seq;
        if (scanned < options_.batch) break;
        continue;
      }
    }
    bool done = false;
    for (size_t from = 0; !no_batch_ && from < events.size();) {
      const size_t n = EntriesWithin(events, from, options_.max_push_bytes);
      std::span<const RawRecord> part(events.data() + from, n);
      PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("POST", "/log/batch", EncodeEntryArray(part)));
      if (r.status == 404 || r.status == 405) {
        no_batch_ = true;  // a Potboiler node: one at a time, below
        break;
      }
      if (r.status != 200) return HttpError("POST /log/batch", r);
      from += n;
      done = from == events.size();
    }
    if (!done) {
      for (const RawRecord& e : events) {
        PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("POST", "/log/other", e.bytes));
        // A 4xx will not get better by retrying (e.g. the peer's own entry).
        if (r.status >= 500) return HttpError("POST /log/other", r);
        *cursor = e.seq;
        ++sent;
      }
      *cursor = last_seq;
      if (scanned < options_.batch) break;
      continue;
    }
    *cursor = last_seq;
    sent += events.size();
    if (scanned < options_.batch) break;
  }
  return sent;
}

Result<size_t> PeerClient::Gossip() {
  PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", "/nodes"));
  if (r.status != 200) return HttpError("GET /nodes", r);
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::value v, ParseJson(r.body, "GET /nodes"));
  if (!v.is_array()) return Status::Unavailable("GET /nodes: not an array");
  size_t learned = 0;
  bool knows_us = false;
  for (const boost::json::value& item : v.as_array()) {
    if (!item.is_string()) continue;
    std::string url(item.as_string());
    if (url == options_.advertise_url) {
      knows_us = true;
      continue;
    }
    if (url == url_ || !ParseHttpUrl(url).ok()) continue;
    PIGTAIL_ASSIGN_OR_RETURN(bool added, node_->AddToSet(kNodesKey, url));
    if (added) ++learned;
  }
  if (!knows_us && !options_.advertise_url.empty()) {
    std::string body = "{\"url\":\"" + Escape(options_.advertise_url) + "\"}";
    PIGTAIL_ASSIGN_OR_RETURN(HttpResponse posted, Send("POST", "/nodes", body));
    if (posted.status != 201 && posted.status != 200) return HttpError("POST /nodes", posted);
  }
  return learned;
}

// ---------------------------------------------------------------------------
// Replicator::Worker: one thread per peer.

class Replicator::Worker {
 public:
  Worker(Replicator* owner, std::string url) : owner_(owner) {
    status_.url = std::move(url);
    thread_ = std::thread([this] {
      SetThreadName("peer");
      Run();
    });
  }
  ~Worker() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    stop_flag_ = true;
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void Wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }
  PeerStatus Snapshot() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  void Run();

  Replicator* const owner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::atomic<bool> stop_flag_{false};
  PeerStatus status_;  // guarded by mu_
  std::thread thread_;
};

void Replicator::Worker::Run() {
  const ReplicatorOptions& options = owner_->options_;
  Node* node = owner_->node_;
  EventStore* log = node->log();
  std::string url;
  {
    std::lock_guard lock(mu_);
    url = status_.url;
  }
  PeerClient client(node, owner_->sequencer_, url, options);
  client.set_stop_flag(&stop_flag_);
  PeerWatch watch(url);
  uint64_t cursor = 0;
  bool cursor_loaded = false;
  bool up = false;
  bool is_self = false;
  std::string peer_id;  // empty for a Potboiler node (no GET /health)
  bool identified = false;
  std::chrono::milliseconds backoff{0};
  SteadyClock::time_point retry_at = SteadyClock::now();
  SteadyClock::time_point next_pull = SteadyClock::now();
  uint64_t hole_check_seq = UINT64_MAX;  // log position of the last hole check
  uint64_t rounds_since_holes = 0;
  bool deferred_since_holes = false;  // a pull deferred entries since the last hole check
  constexpr size_t kPushBatchesPerTurn = 16;

  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    SteadyClock::time_point now = SteadyClock::now();
    bool more = false;
    if (!is_self && now >= retry_at) {
      ::pigtail::Status error;
      uint64_t pushed = 0;
      uint64_t pulled = 0;
      uint64_t filled = 0;
      bool pulled_now = false;
      std::optional<std::string> digest;
      auto run = [&]() -> ::pigtail::Status {
        if (!cursor_loaded) {
          PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                                   log->GetMeta(PushCursorKey(url)));
          cursor = stored ? std::strtoull(stored->c_str(), nullptr, 10) : 0;
          cursor_loaded = true;
        }
        if (!identified) {
          PIGTAIL_ASSIGN_OR_RETURN(std::string id_now, client.PeerNodeId());
          if (!peer_id.empty() && id_now != peer_id) {
            // Another node now answers at this URL (e.g. a wiped data
            // directory): it has none of what we pushed.
            cursor = 0;
            (void)log->PutMeta(PushCursorKey(url), "0");
          }
          peer_id = id_now;
          identified = true;
          if (peer_id == node->id().ToString()) {
            is_self = true;
            return ::pigtail::Status::FailedPrecondition("this URL is this node");
          }
          if (Result<Uuid> id = Uuid::Parse(peer_id); id.ok()) client.set_peer_id(*id);
        }
        const uint64_t before = cursor;
        Result<uint64_t> sent = client.Push(&cursor, kPushBatchesPerTurn);
        if (cursor != before) {
          (void)log->PutMeta(PushCursorKey(url), std::to_string(cursor));
        }
        if (!sent.ok()) return sent.status();
        pushed = *sent;
        more = *sent >= kPushBatchesPerTurn * options.batch;
        if (SteadyClock::now() >= next_pull || !up) {
          // Anti-entropy, and at once when the peer comes back. Holes are
          // looked for when something arrived since the last look, at most
          // every fifth round unless the peer just came back.
          PIGTAIL_ASSIGN_OR_RETURN(uint64_t last, log->LastSequence());
          // Deferred entries (docs/registers.md) are looked for again too.
          bool look_for_holes = (last != hole_check_seq || deferred_since_holes) &&
                                (!up || ++rounds_since_holes >= 5);
          client.set_skip_holes(!look_for_holes);
          PIGTAIL_ASSIGN_OR_RETURN(pulled, client.PullMissing(false, &filled));
          if (look_for_holes) {
            hole_check_seq = last;
            rounds_since_holes = 0;
            deferred_since_holes = false;
          }
          deferred_since_holes |= client.TakeDeferred() > 0;
          pulled_now = true;
          PIGTAIL_ASSIGN_OR_RETURN(size_t learned, client.Gossip());
          if (learned > 0) owner_->PeersChanged();
          if (!client.potboiler_only()) {
            PIGTAIL_ASSIGN_OR_RETURN(digest, client.PeerDigest());
          }
          next_pull = SteadyClock::now() + options.anti_entropy;
        }
        return ::pigtail::Status::Ok();
      };
      error = run();
      if (error.ok()) {
        (void)watch.Success(peer_id);
      } else if (!is_self) {
        (void)watch.Failure(error);
      }
      Result<uint64_t> last = log->LastSequence();
      std::lock_guard lock(mu_);
      status_.node_id = peer_id;
      status_.potboiler_only = client.potboiler_only();
      status_.push_cursor = cursor;
      status_.push_lag = last.ok() && *last > cursor ? *last - cursor : 0;
      status_.pushed += pushed;
      status_.pulled += pulled;
      status_.holes_filled += filled;
      if (pulled_now) {
        status_.pull_rounds++;
        status_.last_pull_missing = pulled;
      }
      if (digest) {
        status_.digest = std::move(*digest);
        status_.digest_ms = UnixMillis();
      }
      if (error.ok()) {
        up = true;
        backoff = std::chrono::milliseconds(0);
        status_.up = true;
        status_.last_contact_ms = UnixMillis();
      } else {
        up = false;
        more = false;
        identified = false;  // ask again who answers, once it is back
        status_.up = false;
        status_.failures++;
        status_.last_error = error.ToString();
        backoff = std::min(options.max_backoff, std::max(options.min_backoff, backoff * 2));
        retry_at = SteadyClock::now() + backoff;
      }
    }
    if (more) continue;
    std::unique_lock lock(mu_);
    SteadyClock::time_point wake_at =
        is_self ? SteadyClock::now() + std::chrono::hours(1)
                : (up ? next_pull : std::max(retry_at, SteadyClock::now()));
    cv_.wait_until(lock, wake_at, [&] { return stopping_ || woken_; });
    if (stopping_) return;
    if (!up && !is_self && woken_) {
      // New local entries do not cut a backoff short.
      cv_.wait_until(lock, retry_at, [&] { return stopping_; });
      if (stopping_) return;
    }
  }
}

// ---------------------------------------------------------------------------
// Replicator

Replicator::Replicator(Node* node, Sequencer* sequencer, const ReplicatorOptions& options)
    : node_(node), sequencer_(sequencer), options_(options) {}

Replicator::~Replicator() { Stop(); }

void Replicator::Start() {
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      SetThreadName("replicator");
      Run();
    });
  }
}

void Replicator::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::map<std::string, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  workers.clear();  // each destructor stops and joins its thread
}

void Replicator::Wake() {
  std::lock_guard lock(mu_);
  for (auto& [url, worker] : workers_) worker->Wake();
}

void Replicator::PeersChanged() {
  {
    std::lock_guard lock(mu_);
    peers_changed_ = true;
  }
  cv_.notify_all();
}

void Replicator::Run() {
  for (;;) {
    SyncPeers();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.membership_poll, [&] { return stopping_ || peers_changed_; });
    if (stopping_) return;
    peers_changed_ = false;
  }
}

void Replicator::SyncPeers() {
  Result<std::vector<std::string>> urls = node_->ListSet(kNodesKey);
  if (!urls.ok()) return;
  std::set<std::string> wanted;
  for (const std::string& url : *urls) {
    if (url != options_.advertise_url) wanted.insert(url);
  }
  std::vector<std::unique_ptr<Worker>> removed;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (wanted.contains(it->first)) {
        ++it;
      } else {
        removed.push_back(std::move(it->second));
        it = workers_.erase(it);
      }
    }
    for (const std::string& url : wanted) {
      if (!workers_.contains(url)) workers_.emplace(url, std::make_unique<Worker>(this, url));
    }
  }
  removed.clear();  // joined outside the lock
}

std::vector<PeerStatus> Replicator::Peers() const {
  std::vector<PeerStatus> out;
  std::lock_guard lock(mu_);
  for (const auto& [url, worker] : workers_) out.push_back(worker->Snapshot());
  return out;
}

std::string Replicator::StatusJson() const {
  int64_t now = UnixMillis();
  boost::json::array peers;
  for (const PeerStatus& s : Peers()) {
    boost::json::object p;
    p["url"] = s.url;
    p["node_id"] = s.node_id;
    p["up"] = s.up;
    p["potboiler_only"] = s.potboiler_only;
    p["push_cursor"] = s.push_cursor;
    p["push_lag_entries"] = s.push_lag;
    p["pushed"] = s.pushed;
    p["pulled"] = s.pulled;
    p["holes_filled"] = s.holes_filled;
    p["pull_rounds"] = s.pull_rounds;
    p["last_pull_missing"] = s.last_pull_missing;
    p["failures"] = s.failures;
    p["last_contact_ms"] = s.last_contact_ms;
    if (s.last_contact_ms > 0) p["last_contact_age_ms"] = now - s.last_contact_ms;
    p["last_error"] = s.last_error;
    p["digest"] = s.digest;
    if (s.digest_ms > 0) p["digest_age_ms"] = now - s.digest_ms;
    peers.push_back(std::move(p));
  }
  boost::json::object out;
  out["node_id"] = node_->id().ToString();
  out["digest"] = node_->Read([](const State& state) { return state.total_digest().ToHex(); });
  out["advertise_url"] = options_.advertise_url;
  out["anti_entropy_ms"] = options_.anti_entropy.count();
  out["peers"] = std::move(peers);
  return boost::json::serialize(out);
}

std::string Replicator::MetricsText() const {
  std::vector<PeerStatus> peers = Peers();
  int64_t now = UnixMillis();
  std::string text;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const PeerStatus& s : peers) {
      text += std::string(name) + "{peer=\"" + Escape(s.url) + "\"} " + value(s) + "\n";
    }
  };
  auto num = [](auto v) { return std::to_string(v); };
  family("pigtail_replication_peer_up", "gauge", "1 if the last exchange with the peer worked.",
         [&](const PeerStatus& s) { return num(s.up ? 1 : 0); });
  family("pigtail_replication_push_lag_entries", "gauge",
         "Local log entries not yet acknowledged by the peer.",
         [&](const PeerStatus& s) { return num(s.push_lag); });
  family("pigtail_replication_last_pull_missing_entries", "gauge",
         "New entries the last anti-entropy round fetched from the peer.",
         [&](const PeerStatus& s) { return num(s.last_pull_missing); });
  family("pigtail_replication_last_contact_age_seconds", "gauge",
         "Seconds since the last successful exchange (-1: never).", [&](const PeerStatus& s) {
           return s.last_contact_ms == 0 ? std::string("-1")
                                         : num(static_cast<double>(now - s.last_contact_ms) / 1e3);
         });
  family("pigtail_replication_pushed_total", "counter", "Entries pushed to the peer.",
         [&](const PeerStatus& s) { return num(s.pushed); });
  family("pigtail_replication_pulled_total", "counter", "New entries fetched from the peer.",
         [&](const PeerStatus& s) { return num(s.pulled); });
  family("pigtail_replication_holes_filled_total", "counter",
         "Missing chain entries fetched from the peer by id.",
         [&](const PeerStatus& s) { return num(s.holes_filled); });
  family("pigtail_replication_failures_total", "counter", "Failed exchanges with the peer.",
         [&](const PeerStatus& s) { return num(s.failures); });
  return text;
}

}  // namespace pigtail

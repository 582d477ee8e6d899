#include "server/claim_router.h"

#include <boost/json.hpp>

#include <algorithm>
#include <utility>

#include "server/http_client.h"
#include "server/thread_name.h"

namespace pigtail {
namespace {

int64_t NowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A forwarded claim's answer: {"tasks":[...],"entries":["...",...]}.
Result<ForwardedClaim> ParseForwarded(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  const boost::json::object* obj = ec ? nullptr : doc.if_object();
  const boost::json::value* tasks = obj != nullptr ? obj->if_contains("tasks") : nullptr;
  const boost::json::value* entries = obj != nullptr ? obj->if_contains("entries") : nullptr;
  if (tasks == nullptr || !tasks->is_array() || entries == nullptr || !entries->is_array()) {
    return Status::Unavailable("the home's answer to a forwarded claim has no tasks and entries");
  }
  ForwardedClaim out;
  for (const boost::json::value& task : tasks->as_array()) {
    if (!task.is_object()) return Status::Unavailable("a forwarded claim's task is not an object");
    out.tasks.push_back(boost::json::serialize(task));
  }
  for (const boost::json::value& entry : entries->as_array()) {
    if (!entry.is_string()) return Status::Unavailable("a forwarded claim's entry is not text");
    out.entries.emplace_back(entry.as_string());
  }
  return out;
}

}  // namespace

ClaimRouter::ClaimRouter(const Uuid& self, PeerList peers, const ClaimRouterOptions& options)
    : self_(self), peers_(std::move(peers)), options_(options) {
  for (size_t i = 0; i < std::max<size_t>(1, options_.threads); ++i) {
    threads_.emplace_back([this] {
      SetThreadName("claim-router");
      Run();
    });
  }
}

ClaimRouter::~ClaimRouter() { Stop(); }

void ClaimRouter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::shared_ptr<const ClaimRoute> ClaimRouter::Route() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (route_at_ != std::chrono::steady_clock::time_point() &&
        now - route_at_ < options_.refresh) {
      return route_;
    }
  }
  std::vector<PeerStatus> peers = peers_();  // outside mu_: it takes the replicator's lock
  std::lock_guard lock(mu_);
  auto route = std::make_shared<ClaimRoute>();
  route->self = self_;
  route->members.push_back(self_);
  urls_.clear();
  settling_ = false;
  for (const PeerStatus& peer : peers) {
    settling_ |= peer.node_id.empty() && !peer.up && peer.failures == 0;
    Uuid id;
    if (!Uuid::TryParse(peer.node_id, &id) || id == self_) continue;
    route->members.push_back(id);
    urls_[id] = peer.url;
    auto failed = failed_ms_.find(id);
    const bool failed_since_contact =
        failed != failed_ms_.end() && failed->second >= peer.last_contact_ms;
    if (!peer.up || failed_since_contact) route->unreachable.push_back(id);
  }
  std::ranges::sort(route->members);
  route->members.erase(std::ranges::unique(route->members).begin(), route->members.end());
  std::ranges::sort(route->unreachable);
  route_ = route->members.size() > 1 ? std::move(route) : nullptr;
  route_at_ = now;
  return route_;
}

bool ClaimRouter::Settling() {
  if (std::chrono::steady_clock::now() - started_ >= options_.settle) return false;
  (void)Route();
  std::lock_guard lock(mu_);
  return settling_ && !stopping_;
}

void ClaimRouter::MarkFailed(const Uuid& home) {
  std::lock_guard lock(mu_);
  failed_ms_[home] = NowUnixMillis();
  ++forward_failures_;
  route_at_ = {};  // the next Route() homes its tasks among the reachable members
}

void ClaimRouter::Forward(const Uuid& home, const std::string& queue, const Uuid& worker,
                          size_t max, std::vector<Uuid> candidates, ForwardDone done) {
  boost::json::object body;
  body["worker_id"] = worker.ToString();
  body["max"] = max;
  body["wait_ms"] = 0;
  boost::json::array ids;
  for (const Uuid& id : candidates) ids.emplace_back(id.ToString());
  body["candidates"] = std::move(ids);
  Exchange(home, "POST", "/queue/" + queue + "/claim", boost::json::serialize(body),
           [done = std::move(done)](Result<HttpResponse> r) {
             if (!r.ok()) return done(r.status());
             if (r->status != 200) {
               return done(Status::FailedPrecondition("the home answered a forwarded claim with " +
                                                      std::to_string(r->status) + " " + r->body));
             }
             done(ParseForwarded(r->body));
           });
}

void ClaimRouter::Exchange(const Uuid& home, std::string method, std::string target,
                           std::string body, ExchangeDone done) {
  std::string url;
  {
    std::lock_guard lock(mu_);
    auto it = urls_.find(home);
    if (it != urls_.end()) url = it->second;
  }
  After(std::chrono::milliseconds(0),
        [this, home, url, method = std::move(method), target = std::move(target),
         body = std::move(body), done = std::move(done)] {
          bool stopping = false;
          {
            std::lock_guard lock(mu_);
            stopping = stopping_;
            if (!stopping && !url.empty()) ++forwarded_;
          }
          if (stopping) return done(Status::Unavailable("the node is stopping"));
          if (url.empty()) return done(Status::NotFound("no URL for home " + home.ToString()));
          Result<HttpResponse> answer = Send(url, method, target, body);
          if (!answer.ok() && answer.status().code() == StatusCode::kUnavailable) MarkFailed(home);
          done(std::move(answer));
        });
}

Result<HttpResponse> ClaimRouter::Send(const std::string& url, const std::string& method,
                                       const std::string& target, const std::string& body) {
  // One keep-alive connection per router thread and peer.
  thread_local std::map<std::string, std::unique_ptr<HttpConnection>> connections;
  std::unique_ptr<HttpConnection>& conn = connections[url];
  PIGTAIL_ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  if (!conn) conn = std::make_unique<HttpConnection>(parsed.host, parsed.port);
  std::string base = parsed.target == "/" ? std::string() : parsed.target;
  while (base.ends_with("/")) base.pop_back();
  HttpHeaders headers;
  headers.emplace_back(std::string(kForwardedClaimHeader), "true");
  if (!options_.peer_token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + options_.peer_token);
  }
  Result<HttpResponse> r =
      conn->Send(method, base + target, body, headers, options_.forward_timeout);
  if (!r.ok()) {
    conn.reset();  // a late answer must not be read as the next one's
    return r.status().WithContext("forwarding a claim to " + url);
  }
  return r;
}

void ClaimRouter::After(std::chrono::milliseconds delay, std::function<void()> work) {
  {
    std::lock_guard lock(mu_);
    jobs_.emplace(std::chrono::steady_clock::now() + delay, std::move(work));
  }
  cv_.notify_one();
}

void ClaimRouter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (jobs_.empty()) {
      if (stopping_) return;
      cv_.wait(lock);
      continue;
    }
    auto first = jobs_.begin();
    if (!stopping_ && first->first > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    std::function<void()> work = std::move(first->second);
    jobs_.erase(first);
    lock.unlock();
    work();
    lock.lock();
  }
}

uint64_t ClaimRouter::forwarded() const {
  std::lock_guard lock(mu_);
  return forwarded_;
}

uint64_t ClaimRouter::forward_failures() const {
  std::lock_guard lock(mu_);
  return forward_failures_;
}

}  // namespace pigtail

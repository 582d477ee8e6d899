#include "server/notifier.h"

#include <algorithm>
#include <set>
#include <vector>

#include "server/http_client.h"
#include "server/thread_name.h"

namespace pigtail {

std::string NotifyCursorKey(std::string_view url) { return "notify_cursor:" + std::string(url); }

Notifier::Notifier(Node* node, const NotifierOptions& options) : node_(node), options_(options) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() {
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      SetThreadName("notifier");
      Run();
    });
  }
}

void Notifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Notifier::Deregistered(const std::string& url) {
  {
    std::lock_guard lock(mu_);
    deregistered_.insert(url);
    woken_ = true;
  }
  cv_.notify_all();
}

void Notifier::EntriesAppended() {
  if (has_targets_) Wake();
}

void Notifier::RetryNow(const std::string& url) {
  {
    std::lock_guard lock(mu_);
    retry_now_.insert(url);
    woken_ = true;
  }
  cv_.notify_all();
}

uint64_t Notifier::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

void Notifier::Run() {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    std::set<std::string> retry_now;
    std::set<std::string> deregistered;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
      retry_now.swap(retry_now_);
      deregistered.swap(deregistered_);
    }
    // Before any (re-)registration seen in the same round: it came later.
    for (const std::string& url : deregistered) {
      targets_.erase(url);
      (void)node_->log()->DeleteMeta(NotifyCursorKey(url));
    }
    Clock::time_point next = Clock::now() + options_.poll;
    Result<std::vector<std::string>> urls = node_->ListSet(kRegistrationsKey);
    if (urls.ok()) {
      has_targets_ = !urls->empty();
      std::set<std::string> live(urls->begin(), urls->end());
      std::erase_if(targets_, [&](const auto& kv) { return !live.contains(kv.first); });
      for (const std::string& url : *urls) {
        Target& target = targets_[url];
        if (retry_now.contains(url)) target.retry_at = Clock::time_point();
        if (Clock::now() >= target.retry_at) Deliver(url, &target);
        if (target.retry_at > Clock::now()) next = std::min(next, target.retry_at);
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, next, [&] { return stopping_ || woken_; });
    if (stopping_) return;
  }
}

void Notifier::Deliver(const std::string& url, Target* target) {
  using Clock = std::chrono::steady_clock;
  EventStore* log = node_->log();
  if (!target->loaded) {
    Result<std::optional<std::string>> stored = log->GetMeta(NotifyCursorKey(url));
    if (!stored.ok()) return;
    target->cursor = *stored ? std::strtoull((*stored)->c_str(), nullptr, 10) : 0;
    target->loaded = true;
  }
  const uint64_t start = target->cursor;
  auto fail = [&] {
    target->backoff =
        std::min(options_.max_backoff, std::max(options_.min_backoff, target->backoff * 2));
    target->retry_at = Clock::now() + target->backoff;
  };
  for (;;) {
    Result<std::vector<StoredEvent>> events = log->Scan(target->cursor, options_.scan_chunk);
    if (!events.ok() || events->empty()) break;
    bool blocked = false;
    for (const StoredEvent& e : *events) {
      for (const Uuid& dep : e.event.dependencies) {
        Result<bool> present = log->Contains(dep);
        if (!present.ok() || !*present) blocked = true;
      }
      if (blocked) break;
      Result<HttpResponse> reply = SendHttpRequest("POST", url, EventJsonWithNext(e.event, e.next),
                                                   {}, options_.request_timeout);
      if (!reply.ok() || reply->status >= 500) {
        blocked = true;
        fail();
        break;
      }
      target->backoff = std::chrono::milliseconds(0);
      target->cursor = e.seq;
      std::lock_guard lock(mu_);
      ++delivered_;
      if (stopping_) {
        blocked = true;
        break;
      }
    }
    if (blocked) break;
  }
  if (target->cursor != start) {
    (void)log->PutMeta(NotifyCursorKey(url), std::to_string(target->cursor));
  }
}

}  // namespace pigtail

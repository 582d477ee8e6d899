// Delivers log entries to the URLs registered with POST /log/register.
//
// One background thread. Each registered URL has a durable cursor (a log
// sequence number in the log's metadata); entries after it are POSTed, as
// the JSON GET /log/{id} serves, in ingest order, which is chain order per
// owner. An entry is held back (and every later one with it) until all its
// dependencies are stored. A 2xx or 4xx reply counts as delivered (a 4xx will
// not get better by retrying); a 5xx or a network error is retried with
// exponential backoff. A new registration starts from the beginning of the
// log.
//
// Thread safety: EntriesAppended(), RetryNow() and Deregistered() may be
// called from any thread.
#ifndef PIGTAIL_SERVER_NOTIFIER_H_
#define PIGTAIL_SERVER_NOTIFIER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "server/node.h"

namespace pigtail {

struct NotifierOptions {
  std::chrono::milliseconds request_timeout{5'000};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{30'000};
  // Re-check for entries (and dependencies) at least this often.
  std::chrono::milliseconds poll{1'000};
  size_t scan_chunk = 256;
};

// The metadata key holding the registered URLs (a set, see Node::ListSet).
inline constexpr std::string_view kRegistrationsKey = "registrations";
// The metadata key holding a URL's delivery cursor.
std::string NotifyCursorKey(std::string_view url);

class Notifier {
 public:
  Notifier(Node* node, const NotifierOptions& options);
  ~Notifier();  // Stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Start();
  // Finishes the delivery in progress (bounded by request_timeout) and joins.
  void Stop();
  // New entries were appended: deliver them. Costs nothing while no URL is
  // registered.
  void EntriesAppended();
  // `url` was registered (again): deliver to it now, even if it is backing
  // off after failures (a receiver re-registers when it is back).
  void RetryNow(const std::string& url);
  // `url` was deregistered: its delivery cursor is deleted on the
  // notifier's thread, after any delivery to it in flight, so that a later
  // registration starts from the first entry.
  void Deregistered(const std::string& url);

  // Entries delivered since start (for metrics and tests).
  uint64_t delivered() const;

 private:
  struct Target {
    uint64_t cursor = 0;
    bool loaded = false;
    std::chrono::steady_clock::time_point retry_at{};
    std::chrono::milliseconds backoff{0};
  };
  void Run();
  // Makes the thread look again now.
  void Wake();
  // Delivers what it can to `url`; returns when it must wait.
  void Deliver(const std::string& url, Target* target);

  Node* const node_;
  const NotifierOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                // guarded by mu_
  bool woken_ = false;                   // guarded by mu_
  std::atomic<bool> has_targets_{true};  // as of the last look; true until then
  std::set<std::string> retry_now_;      // guarded by mu_
  std::set<std::string> deregistered_;   // guarded by mu_
  uint64_t delivered_ = 0;               // guarded by mu_
  std::thread thread_;
  std::map<std::string, Target> targets_;  // notifier thread only
};

}  // namespace pigtail

#endif  // PIGTAIL_SERVER_NOTIFIER_H_

#include "server/routed_claim.h"

#include <boost/json.hpp>

#include <algorithm>
#include <memory>
#include <utility>

#include "core/event.h"
#include "server/api_util.h"
#include "server/log.h"

namespace pigtail {
namespace {

constexpr std::chrono::milliseconds kSettlePoll{20};

// Stores the entries a home answered a forwarded claim with (each as
// stored), then runs `then`. An entry that does not parse is left to
// replication.
void StoreEntries(Sequencer* sequencer, const Uuid& home, std::vector<std::string> entries,
                  std::function<void()> then) {
  ExternalRequest store;
  for (std::string& raw : entries) {
    Result<Event> event = ParseEvent(std::move(raw));
    if (event.ok()) {
      store.events.push_back(std::move(event).value());
    } else {
      log::Warn("a forwarded claim's entry does not parse; replication brings it",
                {{"home", home.ToString()}, {"error", event.status().ToString()}});
    }
  }
  if (store.events.empty()) return then();
  sequencer->Submit(std::move(store), [then = std::move(then)](WriteResult) { then(); });
}

class RoutedClaim : public std::enable_shared_from_this<RoutedClaim> {
 public:
  RoutedClaim(const RoutedClaimOptions& options, ClaimNextRequest request, RoutedClaimDone done)
      : options_(options),
        request_(std::move(request)),
        done_(std::move(done)),
        deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(request_.wait_ms)) {}

  // Submits the local decision; while the router settles, first waits for
  // it (within the request's wait).
  void Decide() {
    if (std::chrono::steady_clock::now() < deadline_ && options_.router->Settling()) {
      options_.router->After(kSettlePoll, [self = shared_from_this()] { self->Decide(); });
      return;
    }
    ClaimNextRequest request = request_;
    request.max = request_.max - tasks_.size();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    request.wait_ms = left.count() > 0 ? static_cast<uint64_t>(left.count()) : 0;
    request.route = options_.router->Route();
    request.quiet_homes = quiet_;
    request.quiet_until_ns = quiet_until_ns_;
    options_.sequencer->Submit(std::move(request), [self = shared_from_this()](WriteResult r) {
      self->Decided(std::move(r));
    });
  }

 private:
  void Decided(WriteResult r) {
    if (!r.status.ok()) return Finish(std::move(r));
    for (const ClaimedTask& task : r.claimed) tasks_.push_back(options_.render(task));
    homes_ = std::move(r.forward_to);
    answered_empty_.clear();
    Next();
  }

  // Asks the next home, or finishes, or decides again.
  void Next() {
    if (tasks_.size() >= request_.max || homes_.empty()) {
      if (!tasks_.empty() || answered_empty_.empty() ||
          std::chrono::steady_clock::now() >= deadline_) {
        return Finish(WriteResult());
      }
      quiet_ = answered_empty_;
      quiet_until_ns_ = options_.now_ns() + static_cast<uint64_t>(kQuietHomes.count()) * 1'000'000;
      return Decide();
    }
    HomeTasks next = std::move(homes_.front());
    homes_.erase(homes_.begin());
    options_.router->Forward(
        next.home, request_.queue, request_.worker, request_.max - tasks_.size(),
        std::move(next.tasks),
        [self = shared_from_this(), home = next.home](Result<ForwardedClaim> answer) {
          self->Forwarded(home, std::move(answer));
        });
  }

  void Forwarded(const Uuid& home, Result<ForwardedClaim> answer) {
    if (!answer.ok() || answer->tasks.empty()) {
      // A home that failed to answer is unreachable now (the next route
      // homes its tasks among the reachable members); one that answered an
      // error is asked again only after the quiet time, as one that had
      // nothing.
      answered_empty_.push_back(home);
      return Next();
    }
    for (std::string& task : answer->tasks) {
      if (tasks_.size() < request_.max) tasks_.push_back(std::move(task));
    }
    // The worker's heartbeats and dones are decided here against the
    // home's lease, so its entries are stored before the worker sees it.
    StoreEntries(options_.sequencer, home, std::move(answer->entries),
                 [self = shared_from_this()] { self->Next(); });
  }

  void Finish(WriteResult status) {
    if (!status.status.ok() && !tasks_.empty()) status = WriteResult();
    done_(std::move(status), std::move(tasks_));
  }

  const RoutedClaimOptions options_;
  const ClaimNextRequest request_;
  const RoutedClaimDone done_;
  const std::chrono::steady_clock::time_point deadline_;
  std::vector<std::string> tasks_;
  std::vector<HomeTasks> homes_;      // to ask, in order
  std::vector<Uuid> answered_empty_;  // asked since the last decision, nothing given
  std::vector<Uuid> quiet_;
  uint64_t quiet_until_ns_ = 0;
};

}  // namespace

void StartRoutedClaim(const RoutedClaimOptions& options, ClaimNextRequest request,
                      RoutedClaimDone done) {
  std::make_shared<RoutedClaim>(options, std::move(request), std::move(done))->Decide();
}

void ForwardClaimOne(const RoutedClaimOptions& options, const Uuid& home,
                     const HttpRequest& request, std::function<void(HttpResponse)> reply,
                     std::function<void()> decide_here) {
  Sequencer* sequencer = options.sequencer;
  options.router->Exchange(
      home, request.method, request.target, request.body,
      [sequencer, home, reply = std::move(reply),
       decide_here = std::move(decide_here)](Result<HttpResponse> answer) {
        if (!answer.ok()) return decide_here();
        if (answer->status != 200) return reply(api::Json(answer->status, answer->body));
        boost::system::error_code ec;
        boost::json::value doc = boost::json::parse(answer->body, ec);
        boost::json::object* obj = ec ? nullptr : doc.if_object();
        const boost::json::value* listed = obj != nullptr ? obj->if_contains("entries") : nullptr;
        if (listed == nullptr || !listed->is_array()) {
          return reply(
              api::Error(502, "the task's home answered a forwarded claim without its entries"));
        }
        std::vector<std::string> entries;
        for (const boost::json::value& entry : listed->as_array()) {
          if (entry.is_string()) entries.emplace_back(entry.as_string());
        }
        obj->erase("entries");
        StoreEntries(sequencer, home, std::move(entries),
                     [reply, body = boost::json::serialize(doc)] { reply(api::Json(200, body)); });
      });
}

}  // namespace pigtail

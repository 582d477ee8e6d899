#include "server/routed_claim.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "core/event.h"
#include "server/log.h"

namespace pigtail {
namespace {

constexpr std::chrono::milliseconds kSettlePoll{20};

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
      // A home that failed to answer is unreachable now (the route leaves
      // its tasks to this node); one that answered an error is asked
      // again only after the quiet time, as one that had nothing.
      answered_empty_.push_back(home);
      return Next();
    }
    ExternalRequest store;
    for (std::string& raw : answer->entries) {
      Result<Event> event = ParseEvent(std::move(raw));
      if (event.ok()) {
        store.events.push_back(std::move(event).value());
      } else {
        log::Warn("a forwarded claim's entry does not parse; replication brings it",
                  {{"home", home.ToString()}, {"error", event.status().ToString()}});
      }
    }
    for (std::string& task : answer->tasks) {
      if (tasks_.size() < request_.max) tasks_.push_back(std::move(task));
    }
    if (store.events.empty()) return Next();
    // The worker's heartbeats and dones are decided here against the
    // home's lease, so its entries are stored before the worker sees it.
    options_.sequencer->Submit(std::move(store),
                               [self = shared_from_this()](WriteResult) { self->Next(); });
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

}  // namespace pigtail

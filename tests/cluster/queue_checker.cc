#include "tests/cluster/queue_checker.h"

namespace pigtail::testing {

void History::Attempted(const std::string& task_name) {
  std::lock_guard lock(mu_);
  attempted_.insert(task_name);
}

void History::Acked(const std::string& task_name, const std::string& id) {
  std::lock_guard lock(mu_);
  acked_[task_name] = id;
  acked_order_.push_back(id);
}

void History::Claimed(const std::string& id, const std::string& worker) {
  std::lock_guard lock(mu_);
  claimed_by_[id].insert(worker);
}

void History::Finished(const std::string& id) {
  std::lock_guard lock(mu_);
  finished_.insert(id);
}

size_t History::acked() const {
  std::lock_guard lock(mu_);
  return acked_order_.size();
}

size_t History::claims() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [id, workers] : claimed_by_) n += workers.size();
  return n;
}

std::vector<std::string> History::AckedIdsSince(size_t index) const {
  std::lock_guard lock(mu_);
  if (index >= acked_order_.size()) return {};
  return std::vector<std::string>(acked_order_.begin() + static_cast<std::ptrdiff_t>(index),
                                  acked_order_.end());
}

CheckResult CheckQueue(const History& history,
                       const std::map<std::string, FinalTask>& final_tasks) {
  std::lock_guard lock(history.mu_);
  CheckResult r;
  r.attempted = history.attempted_.size();
  r.acknowledged = history.acked_.size();
  for (const auto& [name, id] : history.acked_) {
    auto it = final_tasks.find(id);
    const std::string state = it == final_tasks.end() ? "absent" : it->second.state;
    if (state == "done") {
      ++r.done;
    } else if (state == "pending" || state == "working") {
      ++r.claimable;
    } else {
      ++r.lost;
      if (r.lost_ids.size() < 10) r.lost_ids.push_back(id + " (" + state + ")");
    }
  }
  for (const auto& [id, workers] : history.claimed_by_) {
    r.claims += workers.size();
    if (workers.size() > 1) ++r.duplicated;
    if (!final_tasks.contains(id)) ++r.unexpected;
  }
  for (const auto& [id, task] : final_tasks) {
    bool acked = history.acked_.contains(task.task_name);
    bool attempted = history.attempted_.contains(task.task_name);
    if (!attempted) {
      ++r.unexpected;
    } else if (!acked) {
      ++r.recovered;
    }
  }
  return r;
}

std::string CheckResult::ToString() const {
  std::string out = "attempted " + std::to_string(attempted) + ", acknowledged " +
                    std::to_string(acknowledged) + " (done " + std::to_string(done) +
                    ", still claimable " + std::to_string(claimable) + "), claims " +
                    std::to_string(claims) + "; lost " + std::to_string(lost) + ", duplicated " +
                    std::to_string(duplicated) + ", recovered " + std::to_string(recovered) +
                    ", unexpected " + std::to_string(unexpected);
  for (const std::string& id : lost_ids) out += "\n  lost: " + id;
  return out;
}

}  // namespace pigtail::testing

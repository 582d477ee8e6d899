// For the partition harness: a queue checker in the manner of Jepsen's.
//
// Providers and workers record what they did (History, thread-safe); at the
// end the final state of every task in the union of the logs is compared
// with it:
//  * lost: a provider got 201 for it, and it is neither done nor still
//    claimable (pending or working) — or absent. Must be zero.
//  * duplicated: claimed by more than one worker (allowed across a
//    partition: at-least-once), reported.
//  * recovered: the add request failed or timed out, yet the task exists.
//  * unexpected: claimed or present but never attempted by a provider.
#ifndef PIGTAIL_TESTS_CLUSTER_QUEUE_CHECKER_H_
#define PIGTAIL_TESTS_CLUSTER_QUEUE_CHECKER_H_

#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace pigtail::testing {

struct FinalTask {
  std::string task_name;
  std::string state;  // done, pending, working, dead, cancelled
};

struct CheckResult {
  size_t attempted = 0;
  size_t acknowledged = 0;
  size_t done = 0;
  size_t claimable = 0;
  size_t lost = 0;
  size_t duplicated = 0;
  size_t recovered = 0;
  size_t unexpected = 0;
  size_t claims = 0;
  std::vector<std::string> lost_ids;  // the first few
  std::string ToString() const;
};

class History;
// `final_tasks`: task id -> its final state, for every Add in the union
// of the logs.
CheckResult CheckQueue(const History& history, const std::map<std::string, FinalTask>& final_tasks);

class History {
 public:
  void Attempted(const std::string& task_name);
  void Acked(const std::string& task_name, const std::string& id);
  void Claimed(const std::string& id, const std::string& worker);
  void Finished(const std::string& id);

  size_t acked() const;
  size_t claims() const;
  // The ids acked so far, in order (for probes during a partition).
  std::vector<std::string> AckedIdsSince(size_t index) const;

 private:
  friend CheckResult CheckQueue(const History&, const std::map<std::string, FinalTask>&);
  mutable std::mutex mu_;
  std::set<std::string> attempted_;
  std::map<std::string, std::string> acked_;  // name -> id
  std::vector<std::string> acked_order_;
  std::map<std::string, std::set<std::string>> claimed_by_;  // id -> workers
  std::set<std::string> finished_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CLUSTER_QUEUE_CHECKER_H_

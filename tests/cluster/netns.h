// For the partition harness: a private test network of network namespaces
// (root and `ip` required).
//
// A bridge in the root namespace holds 10.213.S.1/24 (S picked free at
// creation); node i lives in its own namespace with one veth port on the
// bridge and the address 10.213.S.(11+i). The test process, in the root
// namespace, reaches every node through the bridge at all times. Cut(i, j)
// makes i and j unable to reach each other — silently, as a real partition:
// each side's neighbour entry for the other is pinned to a MAC no interface
// has, so packets are dropped and connections time out. Heal(i, j) removes
// the pins. Traffic only ever goes to addresses of interfaces this class
// created.
//
// The destructor removes the namespaces and the bridge, also after a failed
// test. Stop processes running inside the namespaces (by PID) first.
//
// Thread safety: none; use from the test's main thread.
#ifndef PIGTAIL_TESTS_CLUSTER_NETNS_H_
#define PIGTAIL_TESTS_CLUSTER_NETNS_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace pigtail::testing {

// Runs argv[0] (found on PATH) with `args`, waits up to `limit`, and kills
// it by PID if it runs longer. Returns its exit code (128 + signal when
// killed); the output goes to `output` when not null.
int RunCommand(const std::vector<std::string>& args, std::string* output = nullptr,
               std::chrono::milliseconds limit = std::chrono::seconds(20));

class TestNetwork {
 public:
  // FailedPrecondition when not root or `ip` fails.
  static Result<std::unique_ptr<TestNetwork>> Create(int nodes);
  ~TestNetwork();
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  int size() const { return nodes_; }
  const std::string& namespace_name(int i) const { return namespaces_.at(i); }
  std::string address(int i) const;

  Status Cut(int i, int j);
  Status Heal(int i, int j);
  Status HealAll();
  // Cut every pair with one end in `side` and the other outside it.
  Status Isolate(const std::vector<int>& side);

 private:
  explicit TestNetwork(int nodes) : nodes_(nodes) {}
  Status Setup();
  Status Pin(int from, int to, bool cut);
  std::string Device(int i) const;

  const int nodes_;
  int subnet_ = 0;
  std::string prefix_;  // of every name this network creates
  std::string bridge_;
  std::vector<std::string> namespaces_;
  std::vector<std::vector<bool>> cut_;
};

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CLUSTER_NETNS_H_

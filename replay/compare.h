// Comparing the state of several nodes or stores: digests first, and where
// they differ, narrowing down by queue, then by task-id key range (the first
// byte of the id, "00".."ff"), to the registers that differ.
#ifndef PIGTAIL_REPLAY_COMPARE_H_
#define PIGTAIL_REPLAY_COMPARE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/state_store.h"
#include "core/status.h"
#include "replay/state_diff.h"

namespace pigtail::replay {

// Digests of one participant, from StateStore::Digests or a node's
// GET /digest.
struct NamedDigests {
  std::string name;  // the URI it came from
  DigestSummary digests;
};

struct RangeDigests {
  std::string queue;
  std::string range;  // first byte of the task id, two hex digits
  Digest reference;
  Digest other;
};

// How one participant differs from the reference (the first one).
struct PairComparison {
  std::string reference;
  std::string other;
  std::vector<std::string> queues;   // queues whose digests differ
  std::vector<RangeDigests> ranges;  // key ranges whose digests differ
  StateDiff registers;               // expected = reference, actual = other
};

struct CompareReport {
  std::vector<NamedDigests> digests;
  bool agree = true;                  // all total digests are equal
  std::vector<PairComparison> pairs;  // one per participant that differs
};

// Compares stores. REQUIRES: names.size() == stores.size() >= 2.
Result<CompareReport> CompareStores(const std::vector<std::string>& names,
                                    const std::vector<StateStore*>& stores,
                                    size_t max_differences = 1000);

// Compares digest summaries only (for nodes, whose registers are not read):
// narrows to the queues whose digests differ.
CompareReport CompareDigests(std::vector<NamedDigests> digests);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_COMPARE_H_

// Comparing the state of several nodes or stores: digests first, and where
// they differ, narrowing down by queue, then by task-id key range (the first
// byte of the id, "00".."ff"), to the registers that differ.
#ifndef PIGTAIL_REPLAY_COMPARE_H_
#define PIGTAIL_REPLAY_COMPARE_H_

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/state_store.h"
#include "core/status.h"
#include "replay/state_diff.h"

namespace pigtail::replay {

// Where a participant's digests come from.
enum class DigestSource {
  kRegisters,  // recomputed from the store's registers (RecomputeDigests)
  kStored,     // as the store holds them (StateStore::Digests)
  kNode,       // as a node serves them (GET /digest)
};
std::string_view DigestSourceName(DigestSource source);  // "registers", "stored", "node"

// Digests of one participant.
struct NamedDigests {
  std::string name;  // the URI it came from
  DigestSummary digests;
  DigestSource source = DigestSource::kStored;
  // kRegisters: the digests the store holds, when they differ from its
  // registers' (a register changed by hand, or digests out of step).
  std::optional<DigestSummary> stored_mismatch = std::nullopt;
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
  // All total digests are equal and no store's stored digests contradict
  // its registers.
  bool agree = true;
  std::vector<PairComparison> pairs;  // one per participant that differs
};

// A store's digests computed from its registers alone: every queue
// register, the task registers under every queue it has a register or a
// stored digest for, or that `more_queues` names, and the rejected
// registers. The stored digests are read only for queue names and the
// checkpoint. Corruption (naming the queue) if a register does not decode.
Result<DigestSummary> RecomputeDigests(StateStore* store,
                                       const std::set<std::string>& more_queues = {});

// Reads a store's digests: recomputed (setting stored_mismatch when the
// stored ones differ) or as stored.
Result<NamedDigests> ReadStoreDigests(const std::string& name, StateStore* store,
                                      DigestSource source,
                                      const std::set<std::string>& more_queues = {});

// Compares stores, their digests read as `source` (kRegisters or kStored).
// REQUIRES: names.size() == stores.size() >= 2.
Result<CompareReport> CompareStores(const std::vector<std::string>& names,
                                    const std::vector<StateStore*>& stores,
                                    size_t max_differences = 1000,
                                    DigestSource source = DigestSource::kRegisters);

// The queues whose digests differ between `a` and `b`, in name order.
std::vector<std::string> DifferingQueueNames(const DigestSummary& a, const DigestSummary& b);

// Compares digest summaries only (for nodes, whose registers are not read):
// narrows to the queues whose digests differ. A participant with a
// stored_mismatch makes them disagree.
CompareReport CompareDigests(std::vector<NamedDigests> digests);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_COMPARE_H_

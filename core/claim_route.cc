#include "core/claim_route.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdint>

namespace pigtail {
namespace {

// The member's score for the task: a hash of both ids.
uint64_t Score(const Uuid& task, const Uuid& member) {
  const uint64_t seed = XXH3_64bits(member.Bytes().data(), member.Bytes().size());
  return XXH3_64bits_withSeed(task.Bytes().data(), task.Bytes().size(), seed);
}

// The member with the highest score for `task` among those `eligible`
// accepts; null when it accepts none. Ties (which need a 64-bit collision)
// go to the smaller member id, so the choice stays total.
template <typename Eligible>
const Uuid* Best(const Uuid& task, std::span<const Uuid> members, Eligible eligible) {
  const Uuid* best = nullptr;
  uint64_t best_score = 0;
  for (const Uuid& member : members) {
    if (!eligible(member)) continue;
    const uint64_t score = Score(task, member);
    if (best == nullptr || score > best_score || (score == best_score && member < *best)) {
      best = &member;
      best_score = score;
    }
  }
  return best;
}

}  // namespace

Uuid HomeOf(const Uuid& task, std::span<const Uuid> members) {
  return *Best(task, members, [](const Uuid&) { return true; });
}

std::optional<Uuid> RemoteHome(const ClaimRoute& route, const Uuid& task) {
  const Uuid* home = Best(task, route.members, [&](const Uuid& member) {
    return member == route.self ||
           !std::binary_search(route.unreachable.begin(), route.unreachable.end(), member);
  });
  if (home == nullptr || *home == route.self) return std::nullopt;
  return *home;
}

}  // namespace pigtail

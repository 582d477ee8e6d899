#include "core/claim_route.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdint>

namespace pigtail {
namespace {

// The member's score for the task: a hash of both ids. Ties (which need a
// 64-bit collision) go to the smaller member id, so the choice stays total.
uint64_t Score(const Uuid& task, const Uuid& member) {
  const uint64_t seed = XXH3_64bits(member.Bytes().data(), member.Bytes().size());
  return XXH3_64bits_withSeed(task.Bytes().data(), task.Bytes().size(), seed);
}

// Whether `member` with `score` beats `best` with `best_score`.
bool Wins(uint64_t score, const Uuid& member, uint64_t best_score, const Uuid& best) {
  return score > best_score || (score == best_score && member < best);
}

}  // namespace

Uuid HomeOf(const Uuid& task, std::span<const Uuid> members) {
  const Uuid* best = &members.front();
  uint64_t best_score = Score(task, *best);
  for (const Uuid& member : members.subspan(1)) {
    const uint64_t score = Score(task, member);
    if (Wins(score, member, best_score, *best)) {
      best = &member;
      best_score = score;
    }
  }
  return *best;
}

std::optional<Uuid> RemoteHome(const ClaimRoute& route, const Uuid& task) {
  const Uuid* best = nullptr;
  uint64_t best_score = 0;
  for (const Uuid& member : route.members) {
    const bool reachable =
        member == route.self ||
        !std::binary_search(route.unreachable.begin(), route.unreachable.end(), member);
    if (!reachable) continue;
    const uint64_t score = Score(task, member);
    if (best == nullptr || Wins(score, member, best_score, *best)) {
      best = &member;
      best_score = score;
    }
  }
  if (best == nullptr || *best == route.self) return std::nullopt;
  return *best;
}

}  // namespace pigtail

// Key and value encodings of the RocksDB backends. All integers are
// big-endian so that byte order equals numeric order. Internal to
// backends/; the layout is described in rocksdb_event_store.cc and
// rocksdb_state_store.cc.
#ifndef PIGTAIL_BACKENDS_ROCKSDB_KEYS_H_
#define PIGTAIL_BACKENDS_ROCKSDB_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "core/hlc.h"
#include "core/queue_tally.h"
#include "core/status.h"
#include "core/uuid.h"

namespace pigtail::rocks {

void AppendU32(std::string* out, uint32_t v);
void AppendU64(std::string* out, uint64_t v);
// REQUIRES: bytes.size() >= 4 (8).
uint32_t ReadU32(std::string_view bytes);
uint64_t ReadU64(std::string_view bytes);

// 8 bytes: the sequence number.
std::string SeqKey(uint64_t seq);
// Fails unless exactly 8 bytes.
Result<uint64_t> DecodeSeq(std::string_view bytes);

// owner(16) | when(16, Hlc::AppendEncoded) | id(16): one owner's entries
// are contiguous and in `when` order.
std::string OwnerKey(const Uuid& owner, const Hlc& when, const Uuid& id);
inline constexpr size_t kOwnerKeySize = Uuid::kSize + Hlc::kEncodedSize + Uuid::kSize;

// u32 length of the queue name | queue name | task id (16): one queue's
// tasks are contiguous and in id order, and no queue's range is a prefix of
// another's.
std::string TaskKeyPrefix(std::string_view queue);
std::string TaskKey(std::string_view queue, const Uuid& id);

// 16 bytes: high | low.
std::string EncodeDigest(const Digest& d);
Result<Digest> DecodeDigest(std::string_view bytes);

// 32 bytes: tasks | done | dead | cancelled.
std::string EncodeTally(const QueueTally& t);
Result<QueueTally> DecodeTally(std::string_view bytes);

// The smallest key greater than every key that starts with `prefix`, or
// nullopt if there is none (the prefix is all 0xff).
std::optional<std::string> PrefixSuccessor(std::string_view prefix);

}  // namespace pigtail::rocks

#endif  // PIGTAIL_BACKENDS_ROCKSDB_KEYS_H_

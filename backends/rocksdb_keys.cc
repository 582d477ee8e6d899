#include "backends/rocksdb_keys.h"

namespace pigtail::rocks {

void AppendU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void AppendU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint32_t ReadU32(std::string_view bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

uint64_t ReadU64(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

std::string SeqKey(uint64_t seq) {
  std::string out;
  out.reserve(8);
  AppendU64(&out, seq);
  return out;
}

Result<uint64_t> DecodeSeq(std::string_view bytes) {
  if (bytes.size() != 8) {
    return Status::Corruption("sequence number is " + std::to_string(bytes.size()) + " bytes");
  }
  return ReadU64(bytes);
}

std::string OwnerKey(const Uuid& owner, const Hlc& when, const Uuid& id) {
  std::string out;
  out.reserve(kOwnerKeySize);
  out.append(owner.Bytes());
  when.AppendEncoded(&out);
  out.append(id.Bytes());
  return out;
}

std::string TaskKeyPrefix(std::string_view queue) {
  std::string out;
  out.reserve(4 + queue.size() + Uuid::kSize);
  AppendU32(&out, static_cast<uint32_t>(queue.size()));
  out.append(queue);
  return out;
}

std::string TaskKey(std::string_view queue, const Uuid& id) {
  std::string out = TaskKeyPrefix(queue);
  out.append(id.Bytes());
  return out;
}

std::string EncodeDigest(const Digest& d) {
  std::string out;
  out.reserve(16);
  AppendU64(&out, d.high);
  AppendU64(&out, d.low);
  return out;
}

Result<Digest> DecodeDigest(std::string_view bytes) {
  if (bytes.size() != 16) {
    return Status::Corruption("digest is " + std::to_string(bytes.size()) + " bytes");
  }
  return Digest{ReadU64(bytes.substr(0, 8)), ReadU64(bytes.substr(8))};
}

std::string EncodeTally(const QueueTally& t) {
  std::string out;
  out.reserve(32);
  for (uint64_t v : {t.tasks, t.finished.done, t.finished.dead, t.finished.cancelled}) {
    AppendU64(&out, v);
  }
  return out;
}

Result<QueueTally> DecodeTally(std::string_view bytes) {
  if (bytes.size() != 32) {
    return Status::Corruption("queue tally is " + std::to_string(bytes.size()) + " bytes");
  }
  QueueTally t;
  t.tasks = ReadU64(bytes.substr(0, 8));
  t.finished.done = ReadU64(bytes.substr(8, 8));
  t.finished.dead = ReadU64(bytes.substr(16, 8));
  t.finished.cancelled = ReadU64(bytes.substr(24, 8));
  return t;
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto last = static_cast<uint8_t>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return std::nullopt;
}

}  // namespace pigtail::rocks

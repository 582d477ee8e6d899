#include "core/event_store.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/json_splice.h"

namespace pigtail {
namespace {

// The UUID a top-level member of `bytes` holds as a JSON string.
Result<Uuid> UuidMember(std::string_view bytes, std::string_view key) {
  std::optional<std::string_view> text = TopLevelMemberValue(bytes, key);
  if (!text || text->size() < 2 || text->front() != '"' || text->back() != '"') {
    return Status::InvalidArgument(std::string("no string member \"") + std::string(key) + "\"");
  }
  std::string_view inner = text->substr(1, text->size() - 2);
  if (inner.find('\\') == std::string_view::npos) return Uuid::Parse(inner);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*text, ec);
  if (ec || !v.is_string())
    return Status::InvalidArgument("a malformed \"" + std::string(key) + "\"");
  return Uuid::Parse(std::string_view(v.get_string()));
}

std::vector<RawRecord> RawRecordsOf(const std::vector<StoredEvent>& events) {
  std::vector<RawRecord> out;
  out.reserve(events.size());
  for (const StoredEvent& e : events) out.push_back(RawRecordOf(e));
  return out;
}

}  // namespace

Result<RawRecord> RawRecordFromBytes(uint64_t seq, std::string bytes, std::optional<Uuid> next) {
  Result<Uuid> id = UuidMember(bytes, "id");
  Result<Uuid> owner = id.ok() ? UuidMember(bytes, "owner") : id;
  if (!owner.ok()) {
    return Status::Corruption("stored event " + std::to_string(seq) +
                              " has no readable id and owner: " + owner.status().message());
  }
  return RawRecord{seq, *id, *owner, std::move(bytes), next};
}

RawRecord RawRecordOf(const StoredEvent& stored) {
  return RawRecord{stored.seq, stored.event.id, stored.event.owner, stored.event.raw, stored.next};
}

Result<std::optional<RawRecord>> EventStore::GetRaw(const Uuid& id) {
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<StoredEvent> stored, Get(id));
  if (!stored) return std::optional<RawRecord>();
  return std::optional<RawRecord>(RawRecordOf(*stored));
}

Result<std::vector<RawRecord>> EventStore::ScanOwnerRaw(const Uuid& owner,
                                                        const std::optional<Hlc>& after,
                                                        size_t limit) {
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, ScanOwner(owner, after, limit));
  return RawRecordsOf(events);
}

Result<std::vector<RawRecord>> EventStore::ScanRaw(uint64_t after_seq, size_t limit) {
  PIGTAIL_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, Scan(after_seq, limit));
  return RawRecordsOf(events);
}

Result<Uuid> EnsureNodeId(EventStore* store) {
  static constexpr std::string_view kKey = "node_id";
  PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> existing, store->GetMeta(kKey));
  if (existing) {
    Result<Uuid> id = Uuid::Parse(*existing);
    if (!id.ok()) return Status::Corruption("stored node id is not a UUID: " + *existing);
    return id;
  }
  Uuid id = Uuid::Random();
  PIGTAIL_RETURN_IF_ERROR(store->PutMeta(kKey, id.ToString()));
  return id;
}

}  // namespace pigtail

#include "core/event_store.h"

namespace pigtail {

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

// The endpoints between Pigtail nodes: GET /log/range (an owner's entries
// after a point, a page at a time), POST /log/batch (many entries at once,
// verbatim) and GET /replication (per-peer status).
#include <boost/json.hpp>
#include <charconv>

#include "server/api.h"
#include "server/api_call.h"
#include "server/entry_array.h"

namespace pigtail {
namespace {

constexpr size_t kDefaultRangeLimit = 1'000;
constexpr size_t kMaxRangeLimit = 10'000;

}  // namespace

void Api::LogRange(Call& call) {
  std::optional<Uuid> owner;
  std::optional<Hlc> after;
  size_t limit = kDefaultRangeLimit;
  for (const auto& [key, value] : call.target.query) {
    if (key == "owner") {
      Result<Uuid> id = Uuid::Parse(value);
      if (!id.ok()) return call.reply(api::Error(400, "owner: " + id.status().message()));
      owner = *id;
    } else if (key == "after") {
      if (value.empty()) continue;
      Result<Uuid> id = Uuid::Parse(value);
      if (!id.ok()) return call.reply(api::Error(400, "after: " + id.status().message()));
      Result<std::optional<StoredEvent>> stored = node_->log()->Get(*id);
      if (!stored.ok()) return call.reply(api::FromStatus(stored.status()));
      if (!*stored) return call.reply(api::Error(404, "after: no entry " + value, "unknown_after"));
      after = (*stored)->event.when;
    } else if (key == "after_when") {
      Result<Hlc> when = ParseHlcQueryText(value);
      if (!when.ok()) return call.reply(api::Error(400, "after_when: " + when.status().message()));
      after = *when;
    } else if (key == "limit") {
      Result<size_t> n = api::ParseLimit("limit", value, kMaxRangeLimit);
      if (!n.ok()) return call.reply(api::Error(400, n.status().message()));
      limit = *n;
    } else {
      return call.reply(api::Error(400, "unknown query parameter \"" + key + "\""));
    }
  }
  if (!owner) return call.reply(api::Error(400, "the query needs owner=<uuid>"));
  Result<std::vector<RawRecord>> events = node_->log()->ScanOwnerRaw(*owner, after, limit);
  if (!events.ok()) return call.reply(api::FromStatus(events.status()));
  const size_t keep = EntriesWithin(*events, 0, options_.max_range_bytes);
  const bool truncated = keep < events->size();
  events->resize(keep);
  HttpResponse response = api::Json(200, EncodeEntryArray(*events));
  if (truncated) response.headers.emplace_back(kTruncatedHeader, "true");
  call.reply(std::move(response));
}

void Api::LogBatch(Call& call) {
  Result<std::vector<Event>> events = ParseEntryArray(call.request.body);
  if (!events.ok()) return call.reply(api::Error(400, events.status().message()));
  ExternalRequest req;
  size_t own = 0;
  for (Event& e : *events) {
    // Our own entries come back from peers that forward everything.
    if (e.owner == node_->id()) {
      ++own;
      continue;
    }
    req.events.push_back(std::move(e));
  }
  // Entries stamped beyond the clock's bounds are deferred, not stored
  // (docs/registers.md): counted, and listed with their reasons.
  auto answer = [reply = call.reply, own](size_t stored, size_t duplicates,
                                          boost::json::array deferred) {
    boost::json::object out;
    out["stored"] = stored;
    out["duplicates"] = duplicates;
    out["own"] = own;
    out["deferred"] = deferred.size();
    if (!deferred.empty()) out["deferred_entries"] = std::move(deferred);
    reply(api::Json(200, boost::json::serialize(out)));
  };
  if (req.events.empty()) return answer(0, 0, {});
  std::vector<Uuid> ids;
  for (const Event& e : req.events) ids.push_back(e.id);
  sequencer_->Submit(std::move(req), [reply = call.reply, answer, ids](WriteResult r) {
    if (!r.status.ok()) return reply(api::FromStatus(r.status));
    size_t stored = static_cast<size_t>(std::count(r.stored.begin(), r.stored.end(), true));
    boost::json::array deferred;
    for (const DeferredEntry& d : r.deferred) {
      boost::json::object entry;
      entry["id"] = ids.at(d.index).ToString();
      entry["reason"] = d.reason;
      entry["error"] = d.status.message();
      deferred.push_back(std::move(entry));
    }
    answer(stored, r.stored.size() - stored - r.deferred.size(), std::move(deferred));
  });
}

void Api::ReplicationStatus(Call& call) {
  if (replicator_ == nullptr) {
    boost::json::object out;
    out["node_id"] = node_->id().ToString();
    out["peers"] = boost::json::array();
    return call.reply(api::Json(200, boost::json::serialize(out)));
  }
  call.reply(api::Json(200, replicator_->StatusJson()));
}

}  // namespace pigtail

// The Potboiler log API: /log, /log/first, /log/{id}, /log/other,
// /log/register, /log/deregister, /nodes, and Pigtail's /event.
#include <boost/json.hpp>

#include "core/event.h"
#include "server/api.h"
#include "server/api_call.h"
#include "server/entry_array.h"
#include "server/entry_fetch.h"
#include "server/http_client.h"

namespace pigtail {
namespace {

std::string IdMapJson(const std::map<Uuid, Uuid>& ids) {
  boost::json::object out;
  for (const auto& [owner, id] : ids) out[owner.ToString()] = id.ToString();
  return boost::json::serialize(out);
}

// Reads {"url": "..."} with no other field. *valid is ParseHttpUrl's
// verdict: an add needs a valid URL, but a removal takes any string, so that
// a URL stored before the URL rules were tightened can still be removed.
Result<std::string> UrlFromBody(std::string_view body, Status* valid) {
  PIGTAIL_ASSIGN_OR_RETURN(boost::json::object obj, api::ParseObject(body));
  PIGTAIL_RETURN_IF_ERROR(api::CheckFields(obj, {"url"}));
  const boost::json::value* url = obj.if_contains("url");
  if (url == nullptr || !url->is_string()) {
    return Status::InvalidArgument("the body needs a string field \"url\"");
  }
  std::string text(url->as_string());
  *valid = ParseHttpUrl(text).status();
  return text;
}

}  // namespace

void Api::LogHeads(Call& call, bool firsts) {
  Result<std::map<Uuid, Uuid>> ids = firsts ? node_->log()->Firsts() : node_->log()->Heads();
  if (!ids.ok()) return call.reply(api::FromStatus(ids.status()));
  call.reply(api::Json(200, IdMapJson(*ids)));
}

void Api::LogGet(Call& call, const std::string& id_text) {
  Result<Uuid> id = Uuid::Parse(id_text);
  if (!id.ok()) return call.reply(api::Error(404, "no entry: not a UUID: " + id_text));
  bool raw = false;
  for (const auto& [key, value] : call.target.query) {
    if (key != "raw" || (value != "true" && value != "false")) {
      return call.reply(api::Error(400, "unknown query parameter \"" + key + "=" + value +
                                            "\" (GET /log/{id} takes raw=true or raw=false)"));
    }
    raw = value == "true";
  }
  Result<std::optional<RawRecord>> stored = node_->log()->GetRaw(*id);
  if (!stored.ok()) return call.reply(api::FromStatus(stored.status()));
  if (!*stored) return call.reply(api::Error(404, "no entry " + id_text));
  const RawRecord& record = **stored;
  if (!raw) return call.reply(api::Json(200, ServedEntryJson(record)));
  HttpResponse response = api::Json(200, record.bytes);
  response.headers.emplace_back(kRawHeader, "true");
  if (record.next) response.headers.emplace_back(kNextHeader, record.next->ToString());
  call.reply(std::move(response));
}

void Api::LogPost(Call& call) {
  LocalRequest req;
  for (const auto& [key, value] : call.target.query) {
    if (key != "dependency") {
      return call.reply(api::Error(400, "unknown query parameter \"" + key + "\""));
    }
    Result<Uuid> dep = Uuid::Parse(value);
    if (!dep.ok()) return call.reply(api::Error(400, "dependency: " + dep.status().message()));
    req.dependencies.push_back(*dep);
  }
  boost::system::error_code ec;
  boost::json::value data = boost::json::parse(call.request.body, ec);
  if (ec) return call.reply(api::Error(400, "malformed JSON body: " + ec.message()));
  req.data.push_back(boost::json::serialize(data));
  sequencer_->Submit(std::move(req), [reply = call.reply](WriteResult r) {
    if (!r.status.ok()) return reply(api::FromStatus(r.status));
    std::string id = r.ids.at(0).ToString();
    HttpResponse res = api::Json(201, "{\"id\":" + api::Quote(id) + "}");
    res.headers.emplace_back("Location", "/log/" + id);
    reply(std::move(res));
  });
}

void Api::LogOther(Call& call, bool pigtail_event) {
  Result<Event> event = ParseEvent(call.request.body);
  if (!event.ok()) return call.reply(api::Error(400, event.status().message()));
  if (event->owner == node_->id()) {
    // Our own entry echoed back (e.g. by a log we are registered with).
    Result<bool> have = node_->log()->Contains(event->id);
    if (pigtail_event && have.ok() && *have) return call.reply(api::Json(204, ""));
    return call.reply(api::Error(400, "the entry's owner is this node"));
  }
  ExternalRequest req;
  req.events.push_back(std::move(event).value());
  sequencer_->Submit(std::move(req), [reply = call.reply, pigtail_event](WriteResult r) {
    if (!r.status.ok()) return reply(api::FromStatus(r.status));
    // Stamped beyond the clock's bounds (docs/registers.md): not stored.
    if (!r.deferred.empty())
      return reply(api::FromStatus(r.deferred[0].status, r.deferred[0].reason));
    if (pigtail_event) return reply(api::Json(204, ""));
    bool stored = !r.stored.empty() && r.stored[0];
    reply(api::Json(200, stored ? "{\"stored\":true}" : "{\"stored\":false}"));
  });
}

void Api::LogRegister(Call& call, bool add) {
  Status valid;
  Result<std::string> url = UrlFromBody(call.request.body, &valid);
  if (!url.ok()) return call.reply(api::Error(400, url.status().message()));
  if (add && !valid.ok()) return call.reply(api::Error(400, valid.message()));
  if (add) {
    Result<bool> added = node_->AddToSet(kRegistrationsKey, *url);
    if (!added.ok()) return call.reply(api::FromStatus(added.status()));
    if (notifier_ != nullptr) notifier_->RetryNow(*url);
    return call.reply(api::Json(201, "{\"url\":" + api::Quote(*url) + "}"));
  }
  Result<bool> removed = node_->RemoveFromSet(kRegistrationsKey, *url);
  if (!removed.ok()) return call.reply(api::FromStatus(removed.status()));
  if (!*removed && !valid.ok()) return call.reply(api::Error(400, valid.message()));
  if (!*removed) return call.reply(api::Error(404, "not registered: " + *url));
  if (notifier_ != nullptr) {
    notifier_->Deregistered(*url);
  } else {
    (void)node_->log()->DeleteMeta(NotifyCursorKey(*url));
  }
  call.reply(api::Json(204, ""));
}

void Api::NodesGet(Call& call) {
  Result<std::vector<std::string>> nodes = node_->ListSet(kNodesKey);
  if (!nodes.ok()) return call.reply(api::FromStatus(nodes.status()));
  boost::json::array out;
  for (const std::string& n : *nodes) out.emplace_back(n);
  call.reply(api::Json(200, boost::json::serialize(out)));
}

void Api::NodesChange(Call& call, bool add) {
  Status valid;
  Result<std::string> url = UrlFromBody(call.request.body, &valid);
  if (!url.ok()) return call.reply(api::Error(400, url.status().message()));
  if (add && !valid.ok()) return call.reply(api::Error(400, valid.message()));
  if (add) {
    Result<bool> added = node_->AddToSet(kNodesKey, *url);
    if (!added.ok()) return call.reply(api::FromStatus(added.status()));
    if (replicator_ != nullptr) replicator_->PeersChanged();
    return call.reply(api::Json(201, "{\"url\":" + api::Quote(*url) + "}"));
  }
  Result<bool> removed = node_->RemoveFromSet(kNodesKey, *url);
  if (!removed.ok()) return call.reply(api::FromStatus(removed.status()));
  if (!*removed && !valid.ok()) return call.reply(api::Error(400, valid.message()));
  if (!*removed) return call.reply(api::Error(404, "not a known node: " + *url));
  if (replicator_ != nullptr) replicator_->PeersChanged();
  call.reply(api::Json(204, ""));
}

}  // namespace pigtail

#include "replay/node_digests.h"

#include <boost/json.hpp>

#include "server/http_client.h"

namespace pigtail::replay {
namespace json = boost::json;

Result<DigestSummary> FetchNodeDigests(const std::string& base_url) {
  PIGTAIL_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(base_url));
  std::string digest_url = "http://" + url.host + ":" + url.port + "/digest";
  PIGTAIL_ASSIGN_OR_RETURN(HttpResponse response, SendHttpRequest("GET", digest_url, ""));
  if (response.status != 200) {
    return Status::Unavailable("GET " + digest_url + " returned HTTP " +
                               std::to_string(response.status));
  }
  boost::system::error_code ec;
  json::value v = json::parse(response.body, ec);
  if (ec || !v.is_object()) return Status::Corruption(digest_url + " did not return a JSON object");
  const json::object& o = v.get_object();
  DigestSummary summary;
  const json::value* total = o.if_contains("total");
  if (total == nullptr || !total->is_string()) {
    return Status::Corruption(digest_url + ": no \"total\" digest");
  }
  PIGTAIL_ASSIGN_OR_RETURN(summary.total, Digest::FromHex(total->get_string()));
  if (const json::value* queues = o.if_contains("queues");
      queues != nullptr && queues->is_object()) {
    for (const auto& [name, hex] : queues->get_object()) {
      if (!hex.is_string()) return Status::Corruption(digest_url + ": queue digest not a string");
      PIGTAIL_ASSIGN_OR_RETURN(Digest d, Digest::FromHex(hex.get_string()));
      summary.queues[std::string(name)] = d;
    }
  }
  if (const json::value* cp = o.if_contains("checkpoint"); cp != nullptr) {
    if (const uint64_t* u = cp->if_uint64()) summary.checkpoint = *u;
    if (const int64_t* i = cp->if_int64(); i != nullptr && *i >= 0) {
      summary.checkpoint = static_cast<uint64_t>(*i);
    }
  }
  return summary;
}

}  // namespace pigtail::replay

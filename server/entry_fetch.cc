#include "server/entry_fetch.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "core/json_splice.h"

namespace pigtail {

std::string ServedEntryJson(const RawRecord& record) {
  return SpliceTopLevelMember(record.bytes, "next",
                              record.next ? "\"" + record.next->ToString() + "\"" : "null");
}

Result<std::optional<FetchedEntry>> FetchEntry(
    const std::function<Result<HttpResponse>(const std::string& target)>& get, const Uuid& id,
    bool* serves_raw) {
  const std::string target = "/log/" + id.ToString();
  PIGTAIL_ASSIGN_OR_RETURN(HttpResponse r, get(target + "?raw=true"));
  if (r.status == 404 && !*serves_raw) {
    PIGTAIL_ASSIGN_OR_RETURN(r, get(target));
  }
  if (r.status == 404) return std::optional<FetchedEntry>();
  if (r.status != 200) {
    return Status::Unavailable("GET " + target + ": HTTP " + std::to_string(r.status) + " " +
                               r.body.substr(0, 200));
  }
  FetchedEntry out;
  out.raw = r.Header(kRawHeader) == "true";
  if (out.raw) {
    *serves_raw = true;
    if (Result<Uuid> next = Uuid::Parse(r.Header(kNextHeader)); next.ok()) out.next = *next;
  } else {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    const boost::json::value* next =
        !ec && v.is_object() ? v.get_object().if_contains("next") : nullptr;
    if (next != nullptr && next->is_string()) {
      if (Result<Uuid> parsed = Uuid::Parse(std::string_view(next->get_string())); parsed.ok()) {
        out.next = *parsed;
      }
    }
  }
  out.bytes = std::move(r.body);
  return std::optional<FetchedEntry>(std::move(out));
}

}  // namespace pigtail

#include "server/external_log.h"

#include <algorithm>
#include <boost/json.hpp>
#include <thread>

namespace pigtail {
namespace {

// The path prefix of the base URL, without a trailing '/'.
std::string Prefix(const HttpUrl& url) {
  std::string prefix = url.target;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

Status Unexpected(std::string_view what, const HttpResponse& r) {
  std::string body = r.body.substr(0, 200);
  return Status::Unavailable("the external log answered " + std::string(what) + " with HTTP " +
                             std::to_string(r.status) + ": " + body);
}

// The new entry's id: the body's "id", else the last segment of a
// Location of the form .../log/{id}.
Result<Uuid> EntryId(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(r.body, ec);
  const boost::json::value* id =
      !ec && body.is_object() ? body.as_object().if_contains("id") : nullptr;
  if (id != nullptr && id->is_string()) return Uuid::Parse(std::string(id->as_string()));
  std::string_view location = r.Header("Location");
  size_t at = location.rfind("/log/");
  if (at == std::string_view::npos) return Status::NotFound("no entry id");
  return Uuid::Parse(location.substr(at + 5));
}

}  // namespace

Result<std::unique_ptr<ExternalLog>> ExternalLog::Open(std::string_view base_url,
                                                       const ExternalLogOptions& options) {
  PIGTAIL_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(base_url));
  std::string base(base_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<ExternalLog>(new ExternalLog(std::move(base), std::move(url), options));
}

ExternalLog::ExternalLog(std::string base_url, HttpUrl url, const ExternalLogOptions& options)
    : base_url_(std::move(base_url)),
      url_(std::move(url)),
      options_(options),
      connection_(url_.host, url_.port) {}

HttpHeaders ExternalLog::Headers() const {
  HttpHeaders headers;
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  return headers;
}

Status ExternalLog::Register(const std::string& event_url, std::chrono::milliseconds deadline) {
  boost::json::object body;
  body["url"] = event_url;
  const std::string text = boost::json::serialize(body);
  const std::string target = base_url_ + "/log/register";
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::chrono::milliseconds backoff{50};
  for (;;) {
    Result<HttpResponse> r = SendHttpRequest("POST", target, text, Headers(), options_.timeout);
    Status s = r.status();
    if (r.ok()) {
      // 201 (a repeat too); early Potboiler versions answered 204.
      if (r->status == 201 || r->status == 204) return Status::Ok();
      s = Unexpected("POST /log/register", *r);
      // A 4xx will not get better by retrying.
      if (r->status < 500) return Status::InvalidArgument(s.message());
    }
    if (std::chrono::steady_clock::now() + backoff >= until) {
      return s.WithContext("registering " + event_url + " with " + base_url_);
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2'000));
  }
}

Status ExternalLog::Deregister(const std::string& event_url) {
  boost::json::object body;
  body["url"] = event_url;
  Result<HttpResponse> r =
      SendHttpRequest("POST", base_url_ + "/log/deregister", boost::json::serialize(body),
                      Headers(), options_.timeout);
  if (!r.ok()) return r.status().WithContext("deregistering " + event_url + " from " + base_url_);
  if (r->status == 204 || r->status == 404) return Status::Ok();
  return Unexpected("POST /log/deregister", *r);
}

Result<Event> ExternalLog::Write(const std::string& data_json,
                                 const std::vector<Uuid>& dependencies) {
  const std::string prefix = Prefix(url_);
  std::string target = prefix + "/log";
  for (size_t i = 0; i < dependencies.size(); ++i) {
    target += (i == 0 ? "?dependency=" : "&dependency=") + dependencies[i].ToString();
  }
  Result<HttpResponse> post =
      connection_.Send("POST", target, data_json, Headers(), options_.timeout);
  if (!post.ok()) return post.status().WithContext("POST " + base_url_ + "/log");
  const HttpResponse& posted = *post;
  // Potboiler answers 201 {"id"} with Location: /log/{id}; early versions
  // answered with a redirect to the entry and no body.
  const bool created = posted.status == 201 || posted.status == 302 || posted.status == 303;
  if (!created) return Unexpected("POST /log", posted);
  Result<Uuid> id = EntryId(posted);
  if (!id.ok()) return Unexpected("POST /log without an entry id", posted);

  const std::string entry_target = prefix + "/log/" + id->ToString();
  Result<HttpResponse> got = connection_.Send("GET", entry_target, "", Headers(), options_.timeout);
  if (!got.ok()) return got.status().WithContext("GET " + base_url_ + "/log/{id}");
  if (got->status != 200) return Unexpected("GET /log/{id}", *got);
  Result<Event> event = ParseEvent(std::move(got->body));
  if (!event.ok()) {
    return Status::Unavailable("the external log served a malformed entry: " +
                               event.status().message());
  }
  if (event->id != *id) {
    return Status::Unavailable("the external log served entry " + event->id.ToString() + " for " +
                               id->ToString());
  }
  return event;
}

}  // namespace pigtail

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
      if (r->status == 201) return Status::Ok();
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
  if (posted.status != 201) return Unexpected("POST /log", posted);
  boost::system::error_code ec;
  boost::json::value reply = boost::json::parse(posted.body, ec);
  const boost::json::value* id_value =
      !ec && reply.is_object() ? reply.as_object().if_contains("id") : nullptr;
  if (id_value == nullptr || !id_value->is_string()) {
    return Unexpected("POST /log without an \"id\"", posted);
  }
  Result<Uuid> id = Uuid::Parse(std::string(id_value->as_string()));
  if (!id.ok()) return Unexpected("POST /log with a malformed id", posted);

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

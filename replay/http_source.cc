#include "replay/http_source.h"

#include <boost/json.hpp>
#include <map>
#include <utility>

#include "server/entry_array.h"
#include "server/entry_fetch.h"
#include "server/http_client.h"

namespace pigtail::replay {
namespace {
namespace json = boost::json;

class HttpSource final : public EventSource {
 public:
  HttpSource(HttpUrl url, CorruptionReporter* reporter)
      : url_(std::move(url)), connection_(url_.host, url_.port), reporter_(reporter) {}

  std::string_view PositionName() const override { return "ordinal"; }

  Status SeekAfter(uint64_t position) override {
    while (position_ < position) {
      PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> body, FetchNext());
      if (!body) {
        return Status::OutOfRange("the node's log has " + std::to_string(position_) +
                                  " entries; cannot resume after " + std::to_string(position));
      }
    }
    return Status::Ok();
  }

  Status Next(const BatchLimits& limits, std::vector<SourcedEvent>* out) override {
    out->clear();
    size_t bytes = 0;
    while (out->size() < limits.max_events && (out->empty() || bytes < limits.max_bytes)) {
      PIGTAIL_ASSIGN_OR_RETURN(std::optional<std::string> body, FetchNext());
      if (!body) break;
      bytes += body->size();
      Result<Event> event = ParseEvent(std::move(*body));
      if (!event.ok()) {
        PIGTAIL_RETURN_IF_ERROR(reporter_->Report("ordinal", position_, event.status().message()));
        continue;
      }
      out->push_back(SourcedEvent{position_, std::move(event).value()});
    }
    return Status::Ok();
  }

  uint64_t position() const override { return position_; }

  SourceProgress Progress() const override { return {position_, std::nullopt, "events"}; }

 private:
  Result<std::string> Get(const std::string& target) {
    PIGTAIL_ASSIGN_OR_RETURN(HttpResponse response, connection_.Send("GET", target, ""));
    if (response.status != 200) {
      return Status::Unavailable("GET " + target + " returned HTTP " +
                                 std::to_string(response.status));
    }
    return std::move(response.body);
  }

  Status LoadFirsts() {
    PIGTAIL_ASSIGN_OR_RETURN(std::string body, Get("/log/first"));
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      return Status::Corruption("GET /log/first did not return a JSON object");
    }
    for (const auto& [owner, id] : v.get_object()) {
      if (!id.is_string()) return Status::Corruption("GET /log/first: id is not a string");
      PIGTAIL_ASSIGN_OR_RETURN(Uuid owner_id, Uuid::Parse(owner));
      PIGTAIL_ASSIGN_OR_RETURN(Uuid first, Uuid::Parse(id.get_string()));
      firsts_.emplace(owner_id, first);
    }
    owner_ = firsts_.begin();
    loaded_ = true;
    return Status::Ok();
  }

  // The bytes of the next entry in the walk (stored bytes from a node that
  // serves them, else the Potboiler form), or nullopt at the end. A body
  // that is not an event still advances the position; its "next" cannot be
  // read, so the walk moves on to the next owner.
  Result<std::optional<std::string>> FetchNext() {
    if (!loaded_) PIGTAIL_RETURN_IF_ERROR(LoadFirsts());
    while (!current_) {
      if (owner_ == firsts_.end()) return std::optional<std::string>();
      current_ = owner_->second;
      ++owner_;
    }
    auto get = [this](const std::string& target) -> Result<HttpResponse> {
      return connection_.Send("GET", target, "");
    };
    PIGTAIL_ASSIGN_OR_RETURN(std::optional<FetchedEntry> fetched,
                             FetchEntry(get, *current_, &serves_raw_));
    if (!fetched) {
      return Status::Unavailable("GET /log/" + current_->ToString() + " returned HTTP 404");
    }
    ++position_;
    current_ = fetched->next;
    std::string body = std::move(fetched->bytes);
    return std::optional<std::string>(std::move(body));
  }

  HttpUrl url_;
  HttpConnection connection_;
  CorruptionReporter* reporter_;
  bool loaded_ = false;
  std::map<Uuid, Uuid> firsts_;
  std::map<Uuid, Uuid>::const_iterator owner_;
  std::optional<Uuid> current_;
  bool serves_raw_ = false;
  uint64_t position_ = 0;
};

}  // namespace

Result<std::unique_ptr<EventSource>> OpenHttpSource(const std::string& base_url,
                                                    CorruptionReporter* reporter) {
  PIGTAIL_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(base_url));
  return std::unique_ptr<EventSource>(std::make_unique<HttpSource>(std::move(url), reporter));
}

}  // namespace pigtail::replay

#include "server/api_util.h"
#include <charconv>

#include <boost/json.hpp>

#include "core/hex.h"

namespace pigtail::api {
namespace {

Result<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return Status::InvalidArgument("bad percent escape in request target");
      }
      int hi = HexDigitValue(in[i + 1]);
      int lo = HexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("bad percent escape in request target");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

HttpResponse Error(int status, std::string_view message, std::string_view reason) {
  std::string body = "{\"error\":" + Quote(message);
  if (!reason.empty()) body += ",\"reason\":" + Quote(reason);
  body += "}";
  return Json(status, std::move(body));
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kConflict:
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kUnavailable:
    case StatusCode::kIOError:
      return 503;
    default:
      return 500;
  }
}

HttpResponse FromStatus(const Status& status, std::string_view reason) {
  return Error(HttpStatusFor(status), status.message(), reason);
}

std::string Quote(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

Result<boost::json::object> ParseObject(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return Status::InvalidArgument("malformed JSON body: " + ec.message());
  if (!v.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  return std::move(v.as_object());
}

Status CheckFields(const boost::json::object& object,
                   std::initializer_list<std::string_view> allowed) {
  for (const auto& member : object) {
    bool known = false;
    for (std::string_view a : allowed) known |= member.key() == a;
    if (!known) {
      return Status::InvalidArgument("unknown field \"" + std::string(member.key()) + "\"");
    }
  }
  return Status::Ok();
}

Result<size_t> ParseLimit(std::string_view name, std::string_view value, size_t max) {
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size() || n < 1 || n > max) {
    return Status::InvalidArgument(std::string(name) + " must be 1 to " + std::to_string(max));
  }
  return n;
}

Result<Target> ParseTarget(std::string_view target) {
  Target out;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(pos, slash - pos);
    if (!seg.empty()) {
      PIGTAIL_ASSIGN_OR_RETURN(std::string decoded, PercentDecode(seg, false));
      out.segments.push_back(std::move(decoded));
    }
    pos = slash + 1;
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    pos = 0;
    while (pos < query.size()) {
      size_t amp = query.find('&', pos);
      if (amp == std::string_view::npos) amp = query.size();
      std::string_view pair = query.substr(pos, amp - pos);
      if (!pair.empty()) {
        size_t eq = pair.find('=');
        PIGTAIL_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
        std::string value;
        if (eq != std::string_view::npos) {
          PIGTAIL_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
        }
        out.query.emplace_back(std::move(key), std::move(value));
      }
      pos = amp + 1;
    }
  }
  return out;
}

}  // namespace pigtail::api

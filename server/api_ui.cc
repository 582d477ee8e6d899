// GET /ui, GET /ui/{file}, GET /: the dashboard, served from the files that
// server/ui/embed.cmake compiled into the binary. No token: the page holds
// no data; the endpoints it reads keep theirs.
#include <string_view>

#include "server/api.h"
#include "server/api_call.h"
#include "server/ui/embedded_files.h"

namespace pigtail {
namespace {

std::string_view ContentType(std::string_view name) {
  struct Type {
    std::string_view suffix;
    std::string_view type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
  };
  for (const Type& t : kTypes) {
    if (name.ends_with(t.suffix)) return t.type;
  }
  return "application/octet-stream";
}

const ui::EmbeddedFile* FindFile(std::string_view name) {
  for (size_t i = 0; i < ui::kFileCount; ++i) {
    if (name == ui::kFiles[i].name) return &ui::kFiles[i];
  }
  return nullptr;
}

// True if an If-None-Match header names `etag` (or is "*").
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag || item == "*") return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

void Api::UiFile(Call& call, const std::string& name) {
  const ui::EmbeddedFile* file = FindFile(name);
  if (file == nullptr) return call.reply(api::Error(404, "no such dashboard file: " + name));
  HttpResponse r;
  // Revalidate every time: the ETag makes that a 304 without a body.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("ETag", file->etag);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (name.ends_with(".html")) {
    // The page loads nothing from elsewhere and is framed by nobody.
    r.headers.emplace_back("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
  }
  if (EtagMatches(call.request.Header("If-None-Match"), file->etag)) {
    r.status = 304;
    return call.reply(std::move(r));
  }
  r.status = 200;
  r.headers.emplace_back("Content-Type", std::string(ContentType(name)));
  r.body = std::string(file->bytes);
  call.reply(std::move(r));
}

void Api::UiRedirect(Call& call) {
  HttpResponse r;
  r.status = 302;
  r.headers.emplace_back("Location", "/ui");
  call.reply(std::move(r));
}

}  // namespace pigtail

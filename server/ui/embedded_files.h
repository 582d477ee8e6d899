// The dashboard's files (server/ui/*), compiled into the binary by
// server/ui/embed.cmake. Read-only, thread-safe.
#ifndef PIGTAIL_SERVER_UI_EMBEDDED_FILES_H_
#define PIGTAIL_SERVER_UI_EMBEDDED_FILES_H_

#include <cstddef>
#include <string_view>

namespace pigtail::ui {

struct EmbeddedFile {
  const char* name;        // file name, e.g. "app.js"
  std::string_view bytes;  // the file's contents
  const char* etag;        // a quoted strong ETag of the contents
};

extern const EmbeddedFile kFiles[];
extern const size_t kFileCount;

}  // namespace pigtail::ui

#endif  // PIGTAIL_SERVER_UI_EMBEDDED_FILES_H_

// RedactSecrets: never crashes, masking twice changes nothing more, and a
// password put into a URI's userinfo, a query parameter or conninfo is
// masked exactly (the input's first line, its URI-safe characters, is the
// password).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/redact.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pigtail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string once = RedactSecrets(text);
  FUZZ_CHECK(RedactSecrets(once) == once, once);

  // A password of URI-safe characters (as a URI must write it).
  std::string password;
  for (char c : text.substr(0, text.find('\n'))) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '%' || c == '-' || c == '_') {
      password.push_back(c);
    }
  }
  if (password.size() < 4) return 0;
  const std::string masked(kRedacted);
  const std::pair<std::string, std::string> cases[] = {
      {"postgresql://u:" + password + "@h/db", "postgresql://u:" + masked + "@h/db"},
      {"postgresql:///db?password=" + password + "&u=1",
       "postgresql:///db?password=" + masked + "&u=1"},
      {"host=h password=" + password + " dbname=d", "host=h password=" + masked + " dbname=d"},
      {"e: postgresql://u:" + password + "@/x?y", "e: postgresql://u:" + masked + "@/x?y"},
  };
  for (const auto& [shown, want] : cases) {
    FUZZ_CHECK(RedactSecrets(shown) == want, shown + " -> " + RedactSecrets(shown));
  }
  return 0;
}

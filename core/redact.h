// Masking of passwords in text that is about to be shown: GET /health, log
// lines, error messages, tool output. Pure; no I/O.
#ifndef PIGTAIL_CORE_REDACT_H_
#define PIGTAIL_CORE_REDACT_H_

#include <string>
#include <string_view>

namespace pigtail {

// What a masked password reads as.
inline constexpr std::string_view kRedacted = "****";

// Returns `text` with every password it holds replaced by kRedacted:
//   * the password in the userinfo of a URI of any scheme,
//       postgresql://user:pw@host/db  ->  postgresql://user:****@host/db
//     (the userinfo ends at the last '@' before the URI ends: at whitespace,
//     a quote, '<', '>' or the end of `text`; so a password holding a raw
//     '/', '?' or '#' is masked too);
//   * the value of a URI query parameter password= or sslpassword=,
//       ...?host=/run&password=pw&user=u  ->  ...?host=/run&password=****&user=u
//   * the value of the libpq conninfo keywords password and sslpassword,
//       host=h password=pw dbname=d  ->  host=h password=**** dbname=d
//       password = 'p w\'x'          ->  password = ****
// `text` may be one URI or conninfo string, or free text (an error message,
// a JSON document) holding several. Everything else is kept byte for byte.
// Masking may over-reach (a URL with a port and a raw '@' later in its path
// loses the text between them); it never under-reaches on the forms above.
std::string RedactSecrets(std::string_view text);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_REDACT_H_

// HLC timestamps in every form: JSON text ([E,[T],C], [E,T,C], the object
// form), the 16-byte encoding and the "E.T.C" query form. Whatever parses
// must round-trip through each form it can be written in.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/hlc.h"
#include "fuzz/fuzz_check.h"
#include "server/entry_array.h"

namespace pigtail {
namespace {

void CheckRoundTrips(const Hlc& hlc) {
  Result<Hlc> json = ParseHlc(hlc.ToJson());
  FUZZ_CHECK(json.ok() && *json == hlc, hlc.ToJson());
  Result<Hlc> decoded = Hlc::Decode(hlc.Encoded());
  FUZZ_CHECK(decoded.ok() && *decoded == hlc, hlc.ToJson());
  Result<Hlc> query = ParseHlcQueryText(HlcQueryText(hlc));
  FUZZ_CHECK(query.ok() && *query == hlc, HlcQueryText(hlc));
}

}  // namespace
}  // namespace pigtail

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pigtail;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (Result<Hlc> hlc = ParseHlc(text); hlc.ok()) CheckRoundTrips(*hlc);
  if (Result<Hlc> hlc = ParseHlcQueryText(text); hlc.ok()) CheckRoundTrips(*hlc);
  if (Result<Hlc> hlc = Hlc::Decode(text); hlc.ok()) {
    FUZZ_CHECK(hlc->Encoded() == text, "Decode then Encoded changes the bytes");
    CheckRoundTrips(*hlc);
  }
  return 0;
}

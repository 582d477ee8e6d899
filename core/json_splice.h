// Edits one top-level member of a JSON object's text and leaves every other
// byte as it was: how a stored entry is served with its "next" filled in
// without re-serializing (and so changing) the owner's bytes.
#ifndef PIGTAIL_CORE_JSON_SPLICE_H_
#define PIGTAIL_CORE_JSON_SPLICE_H_

#include <string>
#include <string_view>

namespace pigtail {

// `object_text` with the value of its top-level member `key` replaced by
// `value_json` (every member named `key`, keys compared after unescaping),
// or with `,"key":value_json` added before the closing brace when it has
// none. Members of nested values are never touched.
// REQUIRES: `object_text` is a valid JSON object; `key` needs no escaping;
// `value_json` is valid JSON text.
std::string SpliceTopLevelMember(std::string_view object_text, std::string_view key,
                                 std::string_view value_json);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_JSON_SPLICE_H_

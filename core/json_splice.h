// Edits one top-level member of a JSON object's text and leaves every other
// byte as it was: how a stored entry is served with its "next" filled in
// without re-serializing (and so changing) the owner's bytes.
#ifndef PIGTAIL_CORE_JSON_SPLICE_H_
#define PIGTAIL_CORE_JSON_SPLICE_H_

#include <optional>
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

// The text of the value of the top-level member `key` (the last one, if
// the key repeats), or nullopt when the object has none. How an entry's id
// and owner are read from its stored bytes without parsing the rest.
// REQUIRES: `object_text` is a valid JSON object; `key` needs no escaping.
std::optional<std::string_view> TopLevelMemberValue(std::string_view object_text,
                                                    std::string_view key);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_JSON_SPLICE_H_

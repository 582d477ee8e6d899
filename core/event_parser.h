// The one parser of Potboiler events and queue ops: a SAX handler over
// Boost.JSON's basic_parser that reads the text once, straight into the
// Event, with the op fields of core/op_grammar.h. Used by ParseEvent
// (core/event.h) and ParseQueueOpText (core/queue_op.h).
//
// It accepts and refuses exactly what Boost.JSON's tree would give to the
// same rules: a repeated key counts once, with its last value, at the place
// of its first, as json::parse keeps it.
#ifndef PIGTAIL_CORE_EVENT_PARSER_H_
#define PIGTAIL_CORE_EVENT_PARSER_H_

#include <string_view>

#include "core/event.h"
#include "core/queue_op.h"
#include "core/status.h"

namespace pigtail {

// Parses the JSON text of an event into *event, all but `raw`. Returns
// InvalidArgument if the text is not JSON, not an object, or lacks or
// mistypes an event field (a malformed op is a RejectedOp, not an error).
// REQUIRES: *event is default-constructed.
Status ParseEventText(std::string_view text, Event* event);

// What the JSON text `data` means as an event's data; ForeignData if the
// text is not JSON.
OpParse ParseOpText(std::string_view data);

}  // namespace pigtail

#endif  // PIGTAIL_CORE_EVENT_PARSER_H_

// The PostgreSQL half of blue/green rebuilds (replay/blue_green.h): switch
// a staged state schema in, in one transaction.
#ifndef PIGTAIL_REPLAY_POSTGRES_SCHEMA_SWITCH_H_
#define PIGTAIL_REPLAY_POSTGRES_SCHEMA_SWITCH_H_

#include <optional>
#include <string>

#include "core/status.h"

namespace pigtail::replay {

// On the server at `uri`, in one transaction: renames `live` to
// `previous` and `staging` to `live`, then replaces the new schema's (empty)
// log tables with the old schema's, so the log stays under `live`. When
// `live` does not exist, only renames `staging`. Returns the previous
// schema's name, or nullopt when there was none.
// Errors: NotFound when `staging` does not exist; FailedPrecondition when
// `staging` holds log entries or `previous` exists; Unavailable when the
// server cannot be reached; InvalidArgument for an invalid schema name.
Result<std::optional<std::string>> SwitchPostgresSchemas(const std::string& uri,
                                                         const std::string& live,
                                                         const std::string& staging,
                                                         const std::string& previous);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_POSTGRES_SCHEMA_SWITCH_H_

// PostgreSQL EventStore and StateStore (libpqxx). `uri` is any libpq
// connection string; tables live in options.postgres_schema.
#ifndef PIGTAIL_BACKENDS_POSTGRES_STORE_H_
#define PIGTAIL_BACKENDS_POSTGRES_STORE_H_

#include <memory>
#include <string_view>

#include "backends/registry.h"

namespace pigtail {

Result<std::unique_ptr<EventStore>> OpenPostgresEventStore(std::string_view uri,
                                                           const BackendOptions& options);
Result<std::unique_ptr<StateStore>> OpenPostgresStateStore(std::string_view uri,
                                                           const BackendOptions& options);

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_POSTGRES_STORE_H_

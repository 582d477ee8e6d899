// Versioned migrations of Pigtail's PostgreSQL schema. Both stores share one
// schema (the event store's and the state store's tables live side by side)
// and one list of migrations, recorded in the table schema_version.
#ifndef PIGTAIL_BACKENDS_POSTGRES_MIGRATIONS_H_
#define PIGTAIL_BACKENDS_POSTGRES_MIGRATIONS_H_

#include <string>

#include "core/status.h"

namespace pqxx {
class connection_base;
}  // namespace pqxx

namespace pigtail {

// The version the migrations below bring a schema to.
int LatestPgSchemaVersion();

// Creates `schema` if missing and applies every migration it lacks, each in
// its own transaction that first takes a transaction-scoped advisory lock on
// the schema name, so concurrent opens (threads or processes) are safe and
// each migration is applied exactly once. Idempotent.
// REQUIRES: `schema` is a valid schema name (ValidSchemaName).
// Returns FailedPrecondition if the schema is newer than this binary knows.
// Sets *created (when not null) to whether it created Pigtail's tables (the
// first migration). Throws libpqxx exceptions; call it inside PgSession::Run.
Status ApplyPgMigrations(pqxx::connection_base& conn, const std::string& schema,
                         bool* created = nullptr);

// For readers: checks, without writing anything, that `schema` holds a
// Pigtail store at LatestPgSchemaVersion(). NotFound ("no Pigtail store in
// schema S") if it holds none; FailedPrecondition if its version differs.
// Throws libpqxx exceptions; call it inside PgSession::Run.
Status CheckPgStore(pqxx::connection_base& conn, const std::string& schema);

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_POSTGRES_MIGRATIONS_H_

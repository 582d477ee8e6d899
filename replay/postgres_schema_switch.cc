#include "replay/postgres_schema_switch.h"

#include <pqxx/pqxx>

#include "backends/postgres_session.h"

namespace pigtail::replay {
namespace {

// The event store's tables (backends/postgres_migrations.cc); every other
// table of a schema belongs to the state store.
constexpr const char* kLogTables[] = {"events", "event_counter", "event_waits", "meta"};

bool SchemaExists(pqxx::work& txn, const std::string& name) {
  return !txn.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", name).empty();
}

bool TableExists(pqxx::work& txn, const std::string& schema, const std::string& table) {
  return !txn.exec_params("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
                          schema, table)
              .empty();
}

}  // namespace

Result<std::optional<std::string>> SwitchPostgresSchemas(const std::string& uri,
                                                         const std::string& live,
                                                         const std::string& staging,
                                                         const std::string& previous) {
  for (const std::string* name : {&live, &staging, &previous}) {
    if (!ValidSchemaName(*name)) {
      return Status::InvalidArgument("invalid PostgreSQL schema name '" + *name + "'");
    }
  }
  try {
    pqxx::connection conn(uri);
    pqxx::work txn(conn);
    const std::string q_live = txn.quote_name(live);
    const std::string q_staging = txn.quote_name(staging);
    const std::string q_previous = txn.quote_name(previous);
    if (!SchemaExists(txn, staging)) {
      return Status::NotFound("no staged state: schema " + staging + " does not exist");
    }
    if (TableExists(txn, staging, "events") &&
        txn.exec1("SELECT count(*) FROM " + q_staging + ".events")[0].as<int64_t>() != 0) {
      return Status::FailedPrecondition("schema " + staging +
                                        " holds log entries; it is not a staged state");
    }
    if (!SchemaExists(txn, live)) {
      txn.exec("ALTER SCHEMA " + q_staging + " RENAME TO " + q_live);
      txn.commit();
      return std::optional<std::string>();
    }
    if (SchemaExists(txn, previous)) {
      return Status::FailedPrecondition("schema " + previous + " already exists");
    }
    txn.exec("ALTER SCHEMA " + q_live + " RENAME TO " + q_previous);
    txn.exec("ALTER SCHEMA " + q_staging + " RENAME TO " + q_live);
    for (const char* table : kLogTables) {
      if (!TableExists(txn, previous, table)) continue;
      const std::string q_table = txn.quote_name(table);
      txn.exec("DROP TABLE IF EXISTS " + q_live + "." + q_table);
      txn.exec("ALTER TABLE " + q_previous + "." + q_table + " SET SCHEMA " + q_live);
    }
    txn.commit();
    return std::optional<std::string>(previous);
  } catch (const pqxx::broken_connection& e) {
    return Status::Unavailable(std::string("PostgreSQL: ") + e.what());
  } catch (const std::exception& e) {
    return Status::IOError(std::string("switching schemas ") + staging + " -> " + live + ": " +
                           e.what());
  }
}

}  // namespace pigtail::replay

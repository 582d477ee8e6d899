// PgSession: one libpqxx connection to PostgreSQL shared by one store, with
// the schema selected, the store's prepared statements registered, and every
// libpqxx exception translated into a Status.
//
// Thread safety: Run() may be called from any thread; calls are serialized
// by a mutex around the single connection (simple and correct: a store's
// calls are short and a node has one writer per store).
//
// Reconnection: when a call finds the connection broken (the server went
// away or restarted), it returns Unavailable and drops the connection; the
// next call connects again. So a node keeps running through an outage and
// recovers when the server comes back, without a restart.
//
// Errors from Run(): Unavailable when the server cannot be reached or the
// connection broke (including a COMMIT whose outcome is unknown); IOError
// with the SQLSTATE for an SQL error; Internal for any other exception; or
// the Status the callback returned.
#ifndef PIGTAIL_BACKENDS_POSTGRES_SESSION_H_
#define PIGTAIL_BACKENDS_POSTGRES_SESSION_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/registry.h"
#include "core/status.h"

namespace pqxx {
class connection_base;
}  // namespace pqxx

namespace pigtail {

// A named SQL statement prepared on every (re)connection. Its table names
// are unqualified: the session's search_path is the store's schema.
struct PgStatement {
  std::string name;
  std::string sql;
};

class PgSession {
 public:
  // Checks `schema` (see ValidSchemaName), connects to `uri`, creates the
  // schema and applies the pending migrations (backends/postgres_migrations.h),
  // then registers `statements`. With options.create_if_missing false it
  // writes nothing: NotFound if the schema holds no Pigtail store
  // (CheckPgStore). Calls options.on_created when it created the tables.
  // Returns InvalidArgument for a bad schema name, Unavailable if the server
  // cannot be reached.
  static Result<std::unique_ptr<PgSession>> Open(std::string_view uri, std::string_view schema,
                                                 std::vector<PgStatement> statements,
                                                 const BackendOptions& options);

  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  ~PgSession();

  // Connects if needed, then calls `fn` with the connection while holding
  // the session's mutex. Any exception from `fn` is caught and translated;
  // `what` names the operation in error messages. `fn` must not keep the
  // connection past its return.
  Status Run(std::string_view what, const std::function<Status(pqxx::connection_base&)>& fn);

  const std::string& schema() const { return schema_; }

  // A second session on the same server, schema and statements, with a
  // connection of its own (opened by its first Run): for reads that should
  // not wait behind this session's writes. Does no I/O.
  std::unique_ptr<PgSession> Twin() const;

 private:
  PgSession(std::string uri, std::string schema, std::vector<PgStatement> statements);

  // REQUIRES: mu_ held. Opens conn_ if it is not open.
  Status ConnectLocked();

  const std::string uri_;
  const std::string schema_;
  const std::vector<PgStatement> statements_;

  struct Connection;  // holds the pqxx::connection

  std::mutex mu_;
  std::unique_ptr<Connection> conn_;  // null while disconnected
};

// True if `name` is a schema name Pigtail accepts: [a-z_][a-z0-9_]*, at most
// 63 bytes, not starting with "pg_".
bool ValidSchemaName(std::string_view name);

}  // namespace pigtail

#endif  // PIGTAIL_BACKENDS_POSTGRES_SESSION_H_

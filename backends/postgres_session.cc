#include "backends/postgres_session.h"

#include <exception>
#include <pqxx/pqxx>

#include "backends/postgres_migrations.h"
#include "core/redact.h"

namespace pigtail {

struct PgSession::Connection {
  explicit Connection(const std::string& uri) : conn(uri) {}
  pqxx::connection conn;
};

namespace {

// SQLSTATE classes that mean the session is gone: connection exceptions
// (08), and the server shutting down or starting up (57P01-57P03).
bool SessionLost(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

// The first line of a libpq message (they end with newlines and hints).
std::string FirstLine(const char* what) {
  std::string s(what);
  if (size_t nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// Translates the exception being handled. Sets *lost when the connection
// can no longer be used. libpq's messages may quote the connection string,
// so the result passes through Masked.
Status TranslateCurrentException(std::string_view what, bool* lost) {
  const std::string prefix = "PostgreSQL " + std::string(what) + ": ";
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    *lost = true;
    return Status::Unavailable(
        prefix + "connection lost during COMMIT; outcome unknown: " + FirstLine(e.what()));
  } catch (const pqxx::broken_connection& e) {
    *lost = true;
    return Status::Unavailable(prefix + "cannot reach the server: " + FirstLine(e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    if (SessionLost(state)) {
      *lost = true;
      return Status::Unavailable(prefix + "server closed the session (SQLSTATE " + state +
                                 "): " + FirstLine(e.what()));
    }
    return Status::IOError(prefix + "SQL error (SQLSTATE " + (state.empty() ? "?" : state) +
                           "): " + FirstLine(e.what()));
  } catch (const pqxx::failure& e) {
    return Status::IOError(prefix + FirstLine(e.what()));
  } catch (const std::exception& e) {
    return Status::Internal(prefix + e.what());
  } catch (...) {
    return Status::Internal(prefix + "unknown exception");
  }
}

// `status` with every password in its message masked (core/redact.h).
Status Masked(const Status& status) {
  return Status(status.code(), RedactSecrets(status.message()));
}

}  // namespace

bool ValidSchemaName(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.starts_with("pg_")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

PgSession::PgSession(std::string uri, std::string schema, std::vector<PgStatement> statements)
    : uri_(std::move(uri)), schema_(std::move(schema)), statements_(std::move(statements)) {}

PgSession::~PgSession() = default;

Result<std::unique_ptr<PgSession>> PgSession::Open(std::string_view uri, std::string_view schema,
                                                   std::vector<PgStatement> statements,
                                                   const BackendOptions& options) {
  if (!ValidSchemaName(schema)) {
    return Status::InvalidArgument("invalid PostgreSQL schema name '" + std::string(schema) +
                                   "': want [a-z_][a-z0-9_]*, at most 63 bytes, not pg_*");
  }
  std::unique_ptr<PgSession> session(
      new PgSession(std::string(uri), std::string(schema), std::move(statements)));
  bool created = false;
  PIGTAIL_RETURN_IF_ERROR(session->Run("open", [&](pqxx::connection_base& conn) {
    if (!options.create_if_missing) return CheckPgStore(conn, session->schema_);
    return ApplyPgMigrations(conn, session->schema_, &created);
  }));
  if (created && options.on_created) options.on_created("PostgreSQL schema " + session->schema_);
  return session;
}

std::unique_ptr<PgSession> PgSession::Twin() const {
  return std::unique_ptr<PgSession>(new PgSession(uri_, schema_, statements_));
}

Status PgSession::ConnectLocked() {
  if (conn_ != nullptr && conn_->conn.is_open()) return Status::Ok();
  conn_.reset();
  auto fresh = std::make_unique<Connection>(uri_);
  // Remembered by libpqxx and re-applied if it ever reactivates the
  // connection itself.
  fresh->conn.set_variable("search_path", fresh->conn.quote_name(schema_));
  for (const PgStatement& s : statements_) fresh->conn.prepare(s.name, s.sql);
  conn_ = std::move(fresh);
  return Status::Ok();
}

Status PgSession::Run(std::string_view what,
                      const std::function<Status(pqxx::connection_base&)>& fn) {
  std::lock_guard lock(mu_);
  bool lost = false;
  Status status;
  try {
    status = ConnectLocked();
    if (status.ok()) status = fn(conn_->conn);
  } catch (...) {
    status = Masked(TranslateCurrentException(what, &lost));
  }
  if (lost || (conn_ != nullptr && !conn_->conn.is_open())) conn_.reset();
  return status;
}

}  // namespace pigtail

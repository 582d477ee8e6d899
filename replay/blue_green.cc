#include "replay/blue_green.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "replay/postgres_schema_switch.h"

namespace pigtail::replay {
namespace {

constexpr std::string_view kRocksPrefix = "rocksdb:";
constexpr std::string_view kStagingSuffix = "_rebuild";
constexpr size_t kMaxSchemaName = 63;  // PostgreSQL's NAMEDATALEN - 1

Result<std::string> RocksPath(std::string_view uri) {
  if (!uri.starts_with(kRocksPrefix) || uri.size() == kRocksPrefix.size()) {
    return Status::InvalidArgument(
        "blue/green rebuilds need a rocksdb:PATH or postgresql:// target, not \"" +
        std::string(uri) + "\"");
  }
  std::string path(uri.substr(kRocksPrefix.size()));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// rocksdb:PATH keeps its log in PATH/log (backends/rocksdb_options.h). A
// switch moves the whole directory, so a log there would go with the old
// state and the node would start with none.
Status RefuseLog(const std::string& path, std::string_view role) {
  if (!Exists(path + "/log")) return Status::Ok();
  return Status::FailedPrecondition(
      "rocksdb:" + path + " holds a log (" + path + "/log) besides the state; " +
      std::string(role) +
      " would move that log away with the state directory. Blue/green on RocksDB needs the "
      "state in a directory of its own (pigtaild --state rocksdb:OTHER); rebuild in place "
      "instead (without --blue-green, with the node stopped)");
}

Result<std::optional<StateLocation>> SwitchRocks(const StateLocation& live_location) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string live, RocksPath(live_location.uri));
  std::string staging = live + ".rebuild";
  if (!Exists(staging)) return Status::NotFound("no staged state at " + staging);
  PIGTAIL_RETURN_IF_ERROR(RefuseLog(live, "a blue/green switch"));
  PIGTAIL_RETURN_IF_ERROR(RefuseLog(staging, "a blue/green switch"));
  if (!Exists(live)) {
    if (::rename(staging.c_str(), live.c_str()) != 0) {
      return Status::IOError("rename " + staging + " -> " + live + ": " + std::strerror(errno));
    }
    return std::optional<StateLocation>();
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, live.c_str(), RENAME_EXCHANGE) != 0) {
    return Status::IOError("exchanging " + staging + " and " + live + ": " + std::strerror(errno));
  }
  // The old state is now at `staging`; give it a name that says what it is.
  std::string previous = live + ".previous-" + std::to_string(std::time(nullptr));
  if (::rename(staging.c_str(), previous.c_str()) != 0) {
    return Status::IOError("the new state is live, but moving the old one from " + staging +
                           " to " + previous + " failed: " + std::strerror(errno));
  }
  return std::optional<StateLocation>(StateLocation{std::string(kRocksPrefix) + previous, ""});
}

Result<std::optional<StateLocation>> SwitchPostgres(const StateLocation& live) {
  PIGTAIL_ASSIGN_OR_RETURN(StateLocation staging, StagingLocation(live));
  std::string stamp = "_previous_" + std::to_string(std::time(nullptr));
  std::string previous = live.postgres_schema.substr(0, kMaxSchemaName - stamp.size()) + stamp;
  PIGTAIL_ASSIGN_OR_RETURN(
      std::optional<std::string> old,
      SwitchPostgresSchemas(live.uri, live.postgres_schema, staging.postgres_schema, previous));
  if (!old) return std::optional<StateLocation>();
  return std::optional<StateLocation>(StateLocation{live.uri, *old});
}

}  // namespace

bool StateLocation::IsPostgres() const {
  return uri.starts_with("postgresql://") || uri.starts_with("postgres://");
}

std::string StateLocation::ToString() const {
  return IsPostgres() ? uri + " (schema " + postgres_schema + ")" : uri;
}

Result<StateLocation> StagingLocation(const StateLocation& live) {
  if (live.IsPostgres()) {
    if (live.postgres_schema.empty() ||
        live.postgres_schema.size() + kStagingSuffix.size() > kMaxSchemaName) {
      return Status::InvalidArgument("blue/green on PostgreSQL needs a schema name of 1 to " +
                                     std::to_string(kMaxSchemaName - kStagingSuffix.size()) +
                                     " bytes, not \"" + live.postgres_schema + "\"");
    }
    return StateLocation{live.uri, live.postgres_schema + std::string(kStagingSuffix)};
  }
  PIGTAIL_ASSIGN_OR_RETURN(std::string path, RocksPath(live.uri));
  PIGTAIL_RETURN_IF_ERROR(RefuseLog(path, "a blue/green switch"));
  return StateLocation{std::string(kRocksPrefix) + path + ".rebuild", ""};
}

Result<std::optional<StateLocation>> SwitchToStaging(const StateLocation& live) {
  return live.IsPostgres() ? SwitchPostgres(live) : SwitchRocks(live);
}

}  // namespace pigtail::replay

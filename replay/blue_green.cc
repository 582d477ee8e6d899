#include "replay/blue_green.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace pigtail::replay {
namespace {

constexpr std::string_view kRocksPrefix = "rocksdb:";

Result<std::string> RocksPath(std::string_view uri) {
  if (!uri.starts_with(kRocksPrefix) || uri.size() == kRocksPrefix.size()) {
    return Status::InvalidArgument("blue/green rebuilds need a rocksdb:PATH target, not \"" +
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

}  // namespace

Result<std::string> StagingUri(std::string_view live_uri) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string path, RocksPath(live_uri));
  return std::string(kRocksPrefix) + path + ".rebuild";
}

Result<std::string> SwitchToStaging(std::string_view live_uri) {
  PIGTAIL_ASSIGN_OR_RETURN(std::string live, RocksPath(live_uri));
  std::string staging = live + ".rebuild";
  if (!Exists(staging)) return Status::NotFound("no staged state at " + staging);
  if (!Exists(live)) {
    if (::rename(staging.c_str(), live.c_str()) != 0) {
      return Status::IOError("rename " + staging + " -> " + live + ": " + std::strerror(errno));
    }
    return std::string();
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
  return std::string(kRocksPrefix) + previous;
}

}  // namespace pigtail::replay

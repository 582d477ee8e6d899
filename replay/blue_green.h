// Blue/green rebuilds: build the new state beside the live one, verify it,
// and only then switch, so the live state is never touched before the new
// one is complete and verified.
//
// Supported targets: rocksdb:PATH. The new state is built in PATH.rebuild
// (a fixed name, so an interrupted rebuild resumes there); the switch
// exchanges the two directories atomically (renameat2 RENAME_EXCHANGE), so
// PATH names either the old or the new state at every instant, then moves
// the old state to PATH.previous-<unix seconds>. The node that serves PATH
// must be stopped (or restarted) around the switch. The log must not live
// in PATH itself: the switch moves everything in the directory.
#ifndef PIGTAIL_REPLAY_BLUE_GREEN_H_
#define PIGTAIL_REPLAY_BLUE_GREEN_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace pigtail::replay {

// The URI to build into for `live_uri`. InvalidArgument for targets that
// cannot be switched.
Result<std::string> StagingUri(std::string_view live_uri);

// Makes the staging state live. Returns the URI where the old state now is
// (empty when there was no live state). REQUIRES: no store is open on
// either URI in this process.
Result<std::string> SwitchToStaging(std::string_view live_uri);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_BLUE_GREEN_H_

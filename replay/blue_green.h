// Blue/green rebuilds: build the new state beside the live one, verify it,
// and only then switch, so the live state is never touched before the new
// one is complete and verified. The staging location is fixed, so an
// interrupted rebuild resumes there. The node that serves the live state
// must be stopped (or restarted) around the switch: a running node keeps
// using what it had open.
//
// rocksdb:PATH: the new state is built in PATH.rebuild; the switch exchanges
// the two directories atomically (renameat2 RENAME_EXCHANGE), so PATH names
// either the old or the new state at every instant, then moves the old state
// to PATH.previous-<unix seconds>. The switch moves everything in the
// directory, so a PATH that holds a log (PATH/log, pigtaild's default
// layout) is refused: the state must live in a directory of its own.
//
// postgresql://... with schema S: the new state is built in schema
// S_rebuild on the same server; the switch is one transaction that renames
// S to S_previous_<unix seconds> and S_rebuild to S, and moves the log's
// tables (events, event_counter, event_waits, meta) from the old schema
// into the new one, so a log kept in S stays in S. Other sessions see the
// old or the new schema, never a mix.
#ifndef PIGTAIL_REPLAY_BLUE_GREEN_H_
#define PIGTAIL_REPLAY_BLUE_GREEN_H_

#include <optional>
#include <string>

#include "core/status.h"

namespace pigtail::replay {

// Where a state lives: a StateStore URI, and for postgresql:// URIs the
// schema (BackendOptions::postgres_schema).
struct StateLocation {
  std::string uri;
  std::string postgres_schema;

  bool IsPostgres() const;
  // The URI, plus " (schema S)" for PostgreSQL.
  std::string ToString() const;
};

// The location to build into for `live`. InvalidArgument for targets that
// cannot be switched (memory:, a schema name too long for a suffix);
// FailedPrecondition for a rocksdb:PATH that holds a log.
Result<StateLocation> StagingLocation(const StateLocation& live);

// Makes the staging state live. Returns where the old state now is (nullopt
// when there was no live state). NotFound when nothing is staged;
// FailedPrecondition when the staging schema or directory, or the live
// directory, holds a log.
// REQUIRES: no store is open on either location in this process.
Result<std::optional<StateLocation>> SwitchToStaging(const StateLocation& live);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_BLUE_GREEN_H_

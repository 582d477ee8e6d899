// The pigtail-replay command line (tools/pigtail_replay.cc is a thin main
// over RunReplayTool). Subcommands: rebuild, verify, compare, merge, export,
// import; `pigtail-replay help` lists their options (docs/replay.md has the
// full story).
//
// Exit codes: 0 success; 1 verify or compare found differences; 2 usage
// error; 3 the operation failed (unreadable input, backend error, ...).
#ifndef PIGTAIL_REPLAY_CLI_H_
#define PIGTAIL_REPLAY_CLI_H_

#include <cstdio>
#include <string>
#include <vector>

#include "cli/exit_code.h"

namespace pigtail::replay {

inline constexpr int kExitOk = 0;
inline constexpr int kExitDifferences = 1;
inline constexpr int kExitUsage = cli::kExitUsage;
inline constexpr int kExitFailure = 3;

// Runs one command. `args` excludes the program name. Reports go to `out`
// (JSON with --json), progress and errors to `err`.
int RunReplayTool(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace pigtail::replay

#endif  // PIGTAIL_REPLAY_CLI_H_

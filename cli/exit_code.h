// The exit code every Pigtail program uses for a usage error (an unknown
// flag, a missing or malformed value, a stray argument). Without
// Program_options, for the mains.
#ifndef PIGTAIL_CLI_EXIT_CODE_H_
#define PIGTAIL_CLI_EXIT_CODE_H_

namespace pigtail::cli {

inline constexpr int kExitUsage = 2;

}  // namespace pigtail::cli

#endif  // PIGTAIL_CLI_EXIT_CODE_H_

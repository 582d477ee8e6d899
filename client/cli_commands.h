// The `pigtail` command line (tools/pigtail.cc is a thin main over this):
// queue inspection, adding and cancelling tasks, following the log, and
// `pigtail work QUEUE -- CMD ARGS...`, which runs CMD once per claimed task
// on a Worker (client/worker.h). docs/client.md describes every command.
//
// Exit codes: 0 success, 1 an HTTP or transport error (the server's error is
// printed), 2 a usage error.
#ifndef PIGTAIL_CLIENT_CLI_COMMANDS_H_
#define PIGTAIL_CLIENT_CLI_COMMANDS_H_

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace pigtail::client {

// Reads an environment variable; null when unset.
using CliGetEnv = std::function<const char*(const char*)>;

// Runs `pigtail args...` (without the program name). `in` is read for
// `--info -`. `work` blocks SIGTERM and SIGINT in the calling process and
// waits for them on a thread of its own: call it from a process's main.
int RunPigtailCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                  std::ostream& err, const CliGetEnv& env);

}  // namespace pigtail::client

#endif  // PIGTAIL_CLIENT_CLI_COMMANDS_H_

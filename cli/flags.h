// Command-line flags of the Pigtail programs (pigtaild, pigtail-replay,
// pigtail-load), declared once each with Boost.Program_options: name, type,
// default and help. ParseFlags fills a variables_map from three sources:
//
//   command line  >  environment (PREFIX<FLAG>)  >  config file (--config)  >  default
//
// The environment variable of a flag is the prefix followed by the flag in
// upper case with '-' as '_' (pigtaild: --max-batch is PIGTAIL_MAX_BATCH).
// The config file holds `flag = value` lines (# starts a comment); its name
// comes from the flag `config` (or its environment variable).
//
// Include this header only from the one .cc of each program that declares
// its flags: it brings in Program_options.
#ifndef PIGTAIL_CLI_FLAGS_H_
#define PIGTAIL_CLI_FLAGS_H_

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <boost/program_options/variables_map.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/exit_code.h"
#include "core/status.h"

namespace pigtail::cli {

namespace po = boost::program_options;

// Reads an environment variable; null when unset. Tests pass a fake.
using GetEnv = std::function<const char*(const char*)>;

struct FlagSources {
  std::string env_prefix;  // e.g. "PIGTAIL_"
  GetEnv env;              // null: no environment
};

// "PIGTAIL_" + "max-batch" -> "PIGTAIL_MAX_BATCH".
std::string EnvName(std::string_view prefix, std::string_view flag);

// Parses `args` (without the program name) against `desc` into `*vm` with
// the precedence above and calls po::notify. `positional` may be null (then
// a positional argument is an error). If `desc` has a string flag "config",
// the file it names is read. Every error (an unknown flag, a missing or
// malformed value, a flag given twice, an unreadable config file) is
// InvalidArgument with a message naming the flag and where it came from.
[[nodiscard]] Status ParseFlags(const std::vector<std::string>& args,
                                const po::options_description& desc,
                                const po::positional_options_description* positional,
                                const FlagSources& sources, po::variables_map* vm);

// The --help text: `usage` (the first lines, ending in a newline), then
// every flag with its default and environment variable, then how the
// sources combine.
std::string FlagsHelp(std::string_view usage, const po::options_description& desc,
                      std::string_view env_prefix);

}  // namespace pigtail::cli

#endif  // PIGTAIL_CLI_FLAGS_H_

// pigtail-replay: rebuild, verify and compare Pigtail state from the log.
// A thin main over replay/cli.h; see docs/replay.md.
#include <cstdio>
#include <string>
#include <vector>

#include "core/version.h"
#include "replay/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && (args[0] == "--version" || args[0] == "version")) {
    std::printf("pigtail-replay %s\n", std::string(pigtail::PigtailVersion()).c_str());
    return 0;
  }
  return pigtail::replay::RunReplayTool(args, stdout, stderr);
}

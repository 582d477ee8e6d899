// pigtail-replay: rebuild, verify and compare Pigtail state from the log.
// A thin main over replay/cli.h; see docs/replay.md.
#include <cstdio>
#include <string>
#include <vector>

#include "replay/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return pigtail::replay::RunReplayTool(args, stdout, stderr);
}

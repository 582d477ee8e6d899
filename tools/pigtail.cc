// pigtail: the command line for a Pigtail cluster, a thin main over
// client/cli_commands.h (docs/client.md).
//
//   pigtail --url http://127.0.0.1:8000 stats jobs
//   pigtail work jobs --concurrency 4 -- ./process-one.sh
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli_commands.h"

int main(int argc, char** argv) {
  return pigtail::client::RunPigtailCli(std::vector<std::string>(argv + 1, argv + argc), std::cin,
                                        std::cout, std::cerr,
                                        [](const char* name) { return std::getenv(name); });
}

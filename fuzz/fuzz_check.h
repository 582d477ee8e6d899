// FUZZ_CHECK(cond, detail): what a fuzz target asserts. When `cond` is false
// it prints the condition, `detail` (a std::string) and aborts, which
// libFuzzer reports as a crash and saves the input for.
#ifndef PIGTAIL_FUZZ_FUZZ_CHECK_H_
#define PIGTAIL_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, detail)                                                            \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(detail).c_str());                                            \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

#endif  // PIGTAIL_FUZZ_FUZZ_CHECK_H_

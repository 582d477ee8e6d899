// The version of the Pigtail programs: the project version and the commit
// they were built from, e.g. "0.1.0 (commit 1a2b3c4d5e6f)". The definition
// is generated at build time (cmake/version.cmake).
#ifndef PIGTAIL_CORE_VERSION_H_
#define PIGTAIL_CORE_VERSION_H_

#include <string_view>

namespace pigtail {

std::string_view PigtailVersion();

}  // namespace pigtail

#endif  // PIGTAIL_CORE_VERSION_H_

// Checks of a State against first principles, for tests.
#ifndef PIGTAIL_TESTS_CORE_STATE_CHECKS_H_
#define PIGTAIL_TESTS_CORE_STATE_CHECKS_H_

#include "core/digest.h"
#include "core/state.h"

namespace pigtail::testing {

// The total digest recomputed from every register's encoding, to check the
// incremental one.
Digest DigestFromScratch(const State& state);

}  // namespace pigtail::testing

#endif  // PIGTAIL_TESTS_CORE_STATE_CHECKS_H_

// Small assertion helpers shared by the backend tests.
#ifndef PIGTAIL_TESTS_BACKENDS_TEST_MACROS_H_
#define PIGTAIL_TESTS_BACKENDS_TEST_MACROS_H_

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "core/status.h"
#include "tests/backends/backend_fixture.h"

namespace pigtail::testing {

// Unwraps a Result; on error records a test failure and throws, which
// gtest reports and which ends the test.
template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    ADD_FAILURE() << what << ": " << r.status().ToString();
    throw std::runtime_error(std::string(what) + ": " + r.status().ToString());
  }
  return std::move(r).value();
}

// Names a value-parameterized test after its backend ("memory", "rocksdb",
// "postgres").
inline std::string BackendParamName(const ::testing::TestParamInfo<BackendKind>& param) {
  return BackendName(param.param);
}

}  // namespace pigtail::testing

#define MUST(expr) ::pigtail::testing::Must((expr), #expr)

#define ASSERT_OK(expr)                                                                   \
  do {                                                                                    \
    ::pigtail::Status assert_ok_status_ = (expr);                                         \
    ASSERT_TRUE(assert_ok_status_.ok()) << #expr << ": " << assert_ok_status_.ToString(); \
  } while (0)

#define EXPECT_OK(expr)                                                                   \
  do {                                                                                    \
    ::pigtail::Status expect_ok_status_ = (expr);                                         \
    EXPECT_TRUE(expect_ok_status_.ok()) << #expr << ": " << expect_ok_status_.ToString(); \
  } while (0)

#endif  // PIGTAIL_TESTS_BACKENDS_TEST_MACROS_H_

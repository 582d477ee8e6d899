# The PostgreSQL backend's own tests, included by tests/backends/CMakeLists.txt.
# They need a server: PIGTAIL_TEST_POSTGRES_URI (scripts/test.sh sets it), and
# the reconnect test starts its own cluster with scripts/pg_cluster.sh.
pkg_check_modules(PIGTAIL_TEST_PQXX REQUIRED IMPORTED_TARGET libpqxx)
add_executable(postgres_backend_test
  postgres_roundtrip_test.cc
  postgres_migrations_test.cc
  postgres_reconnect_test.cc
  postgres_test_env.cc
  ${PROJECT_SOURCE_DIR}/tests/core/test_events.cc
)
target_compile_definitions(postgres_backend_test PRIVATE
  PIGTAIL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_link_libraries(postgres_backend_test PRIVATE
  pigtail_backends pigtail_backends_testing pigtail_core PkgConfig::PIGTAIL_TEST_PQXX
  GTest::gtest_main)
gtest_discover_tests(postgres_backend_test DISCOVERY_TIMEOUT 60
  PROPERTIES LABELS "postgres" TIMEOUT 300)

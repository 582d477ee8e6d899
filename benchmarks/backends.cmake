# backends_benchmark: append / commit / scan on every backend (see the
# "Backends" section of benchmarks/README.md).
pkg_check_modules(PIGTAIL_BENCH_PQXX REQUIRED IMPORTED_TARGET libpqxx)
add_executable(backends_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/backends_benchmark.cc)
target_link_libraries(backends_benchmark PRIVATE
  pigtail_backends benchmark::benchmark PkgConfig::PIGTAIL_BENCH_PQXX)

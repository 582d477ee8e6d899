#!/usr/bin/env bash
# The CI checks beyond scripts/test.sh: .clang-format is respected, the
# unit tests pass under AddressSanitizer + UndefinedBehaviorSanitizer, the
# tests that run threads pass under ThreadSanitizer, and a short run of
# every libFuzzer target finds nothing. Idempotent.
#
#   PIGTAIL_FUZZ_SECONDS   seconds per fuzz target (default 45)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

echo "check.sh: clang-format"
mapfile -t sources < <(git ls-files '*.h' '*.cc')
clang-format --dry-run --Werror "${sources[@]}"

# Unit tests and the memory/RocksDB backend suites (label "unit" or
# "backends"); the PostgreSQL cases run in scripts/test.sh.
echo "check.sh: unit and backend tests under ASan+UBSan"
build_dir="${PIGTAIL_ASAN_BUILD_DIR:-build-asan}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPIGTAIL_SANITIZE=ON \
  -DPIGTAIL_BUILD_BENCHMARKS=OFF
# Only the test targets with such cases: the tools and the process, cluster
# and PostgreSQL tests add build time and no case here. ctest gives a test
# binary that was not built no label, so one missing here would be skipped
# without a word: the cases must be as many as in the full build that
# scripts/test.sh made, when there is one.
asan_targets=(core_test server_test backends_test replication_test claim_routing_test
  byte_exact_test replay_test cli_flags_test client_subprocess_test)
asan_cases=(-L 'unit|backends' -E 'Postgres|postgres')
cmake --build "$build_dir" -j"$(nproc)" --target "${asan_targets[@]}"
count_cases() { ctest --test-dir "$1" -N "${asan_cases[@]}" | sed -n 's/^Total Tests: //p'; }
full_dir="${PIGTAIL_BUILD_DIR:-build}"
if [[ -f "$full_dir/CTestTestfile.cmake" ]]; then
  want="$(count_cases "$full_dir")"
  got="$(count_cases "$build_dir")"
  if [[ "$want" != "$got" ]]; then
    echo "check.sh: the ASan build has $got unit and backend cases, $full_dir has $want:" \
      "add the missing test target to asan_targets in scripts/check.sh (or rebuild $full_dir)" >&2
    exit 1
  fi
  echo "check.sh: $got unit and backend cases, as in $full_dir"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" --timeout 900 "${asan_cases[@]}"

# The test binaries whose tests run threads (the in-process server with its
# sequencer, committer and HTTP threads; replication between in-process
# nodes; the backends) under ThreadSanitizer, with assertions on. Only
# their targets are built: the rest adds build time and no threads.
echo "check.sh: threaded tests under TSan"
tsan_dir="${PIGTAIL_TSAN_BUILD_DIR:-build-tsan}"
cmake -S . -B "$tsan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DPIGTAIL_TSAN=ON -DPIGTAIL_BUILD_BENCHMARKS=OFF
cmake --build "$tsan_dir" -j"$(nproc)" --target server_test replication_test backends_test
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir "$tsan_dir" --output-on-failure -j"$(nproc)" --timeout 900 \
  -L 'unit|backends' -E 'Postgres|postgres|NOT_BUILT'

# Each libFuzzer target (fuzz/) over a copy of its seed corpus.
echo "check.sh: fuzz targets"
bash scripts/fuzz.sh "${PIGTAIL_FUZZ_SECONDS:-45}"

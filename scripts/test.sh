#!/usr/bin/env bash
# Installs what is needed, builds Pigtail and runs every test: unit tests,
# the backend conformance suites on memory, RocksDB and a throwaway
# PostgreSQL cluster, crash tests, and black-box tests of the real binaries.
# Idempotent: safe to run again; it reuses the build directory.
#
#   PIGTAIL_BUILD_DIR   build directory (default: build)
#   PIGTAIL_CTEST_ARGS  extra arguments for ctest (e.g. "-R core")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

build_dir="${PIGTAIL_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$(nproc)"

# A throwaway PostgreSQL cluster for the tests; stopped (by its PID) on exit.
pg_dir="$(mktemp -d /tmp/pigtail-test-pg.XXXXXX)"
rmdir "$pg_dir"
cleanup() { bash scripts/pg_cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
PIGTAIL_TEST_POSTGRES_URI="$(bash scripts/pg_cluster.sh start "$pg_dir")"
export PIGTAIL_TEST_POSTGRES_URI
echo "test.sh: PostgreSQL for tests at $PIGTAIL_TEST_POSTGRES_URI"

# shellcheck disable=SC2086
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" --timeout 900 \
  ${PIGTAIL_CTEST_ARGS:-}

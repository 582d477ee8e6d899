#!/usr/bin/env bash
# Runs the partition harness (tests/cluster/cluster_test, ctest label
# "cluster") on its own: three real pigtaild nodes in network namespaces,
# links cut and healed, queue checker and digest convergence
# (docs/replication.md). Needs root (it creates network namespaces).
#
#   scripts/partition_test.sh            short version (under a minute)
#   PIGTAIL_CLUSTER_LONG=1 scripts/partition_test.sh
#                                        every phase ten times longer
#   PIGTAIL_BUILD_DIR   build directory (default: build)
#
# Without PIGTAIL_TEST_POSTGRES_URI a throwaway PostgreSQL cluster is
# started for the PostgreSQL scenario and stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "$(id -u)" != 0 ]]; then
  echo "partition_test.sh: needs root (ip netns)" >&2
  exit 1
fi
build_dir="${PIGTAIL_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target cluster_test pigtaild

if [[ -z "${PIGTAIL_TEST_POSTGRES_URI:-}" ]]; then
  pg_dir="$(mktemp -d /tmp/pigtail-part-pg.XXXXXX)"
  rmdir "$pg_dir"
  cleanup() { bash scripts/pg_cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; }
  trap cleanup EXIT
  PIGTAIL_TEST_POSTGRES_URI="$(bash scripts/pg_cluster.sh start "$pg_dir")"
  export PIGTAIL_TEST_POSTGRES_URI
fi

log="$(mktemp /tmp/pigtail-partition-log.XXXXXX)"
code=0
ctest --test-dir "$build_dir" -L cluster --output-on-failure -V >"$log" 2>&1 || code=$?
# The checker's counts and the convergence times, then ctest's verdict.
grep -E '^[0-9]+: \[[a-zA-Z]|Failure|tests passed|FAILED' "$log" || true
echo "partition_test.sh: full output in $log"
exit "$code"

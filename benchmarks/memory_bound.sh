#!/bin/bash
# Memory and restart time of one pigtaild as finished tasks pile up, with
# the same live backlog throughout (issue: memory bounded by live tasks).
#
#   bash benchmarks/memory_bound.sh [--backend rocksdb|postgres] [--bin DIR]
#        [--backlog N] [--checkpoints 1000000,10000000] [--args "EXTRA FLAGS"]
#
# Rounds of `pigtail-load --tasks BACKLOG --phases batch,process` (BACKLOG
# tasks added in batches, then claimed and done by 8 workers) until each
# checkpoint of lifecycles processed; at each: the node's RSS at once and
# after 12 s idle, with RocksDB's share (pigtail_rocksdb_memory_bytes) and
# what holds it (pigtail_rocksdb_memory_role_bytes, MB by role) and the
# cache sweeps so far (pigtail_rocksdb_cache_sweeps_total) and the task
# registers in memory (pigtail_tasks_in_memory), then
# SIGTERM, a restart timed until /ready, the RSS after it and the node's
# `loaded` log line. Prints the host, the commit and one line per
# checkpoint. The node is started from --bin
# (default build/bin) on 127.0.0.1 and stopped by its PID; PostgreSQL is a
# throwaway cluster (scripts/pg_cluster.sh), stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=rocksdb
bin=build/bin
backlog=50000
checkpoints=1000000
extra=""
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --checkpoints) checkpoints=$2; shift 2 ;;
    --args) extra=$2; shift 2 ;;
    *) echo "memory_bound.sh: unknown argument $1 (see the header of this file)" >&2; exit 2 ;;
  esac
done
for tool in pigtaild pigtail-load; do
  [ -x "$bin/$tool" ] || { echo "memory_bound.sh: no $bin/$tool; build first" >&2; exit 2; }
done

work=$(mktemp -d /tmp/pigtail-memory.XXXXXX)
chmod 755 "$work"  # the PostgreSQL cluster runs as user postgres
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ "$backend" = postgres ] && bash scripts/pg_cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  rocksdb) uri="rocksdb:$work/data" ;;
  postgres) uri=$(bash scripts/pg_cluster.sh start "$work/pg") ;;
  *) echo "memory_bound.sh: --backend is rocksdb or postgres" >&2; exit 2 ;;
esac
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port

start_node() {
  # shellcheck disable=SC2086
  "$bin/pigtaild" --listen "127.0.0.1:$port" --backend "$uri" $extra >>"$work/pigtaild.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 6000); do  # at most 10 minutes
    curl -sf "$url/ready" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "pigtaild exited; see its log:" >&2; tail "$work/pigtaild.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "pigtaild not ready after 10 minutes" >&2
  exit 1
}
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), binaries: $bin, backend: $backend, backlog: $backlog tasks per round, flags: ${extra:-none}"
start_node
echo "started: rss $(rss_mb) MB"
done_total=0
IFS=, read -r -a marks <<<"$checkpoints"
for mark in "${marks[@]}"; do
  rounds=0
  rate_sum=0
  while [ "$done_total" -lt "$mark" ]; do
    out=$("$bin/pigtail-load" --url "$url" --tasks "$backlog" --phases batch,process 2>&1)
    n=$(sed -n 's/^process: *\([0-9]*\) tasks.*/\1/p' <<<"$out")
    rate=$(sed -n 's/^process:.*= *\([0-9.]*\) lifecycles.*/\1/p' <<<"$out")
    [ -n "$n" ] || { echo "pigtail-load printed no process line:" >&2; echo "$out" >&2; exit 1; }
    done_total=$((done_total + n))
    rounds=$((rounds + 1))
    rate_sum=$(python3 -c "print($rate_sum + $rate)")
  done
  rss=$(rss_mb)
  sleep 12  # the node gives freed memory back 10 s after its last trim
  rss_idle=$(rss_mb)
  metrics=$(curl -sf "$url/metrics")
  rocks=$(awk '/^pigtail_rocksdb_memory_bytes / {printf "%.0f", $2 / 1048576}' <<<"$metrics")
  roles=$(awk '/^pigtail_rocksdb_memory_role_bytes/ {split($1, k, "\""); r = r sep k[2] " " int($2 / 1048576 + 0.5); sep = ", "}
               END {print r}' <<<"$metrics")
  sweeps=$(awk '/^pigtail_rocksdb_cache_sweeps_total / {print $2}' <<<"$metrics")
  in_memory=$(awk '/^pigtail_tasks_in_memory / {print $2}' <<<"$metrics")
  heap=$(awk '/^pigtail_heap_bytes/ {split($1, k, "\""); a = k[2]; h = h sep k[4] " " int($2 / 1048576 + 0.5) " MB"; sep = ", "}
              END {print a ": " h}' <<<"$metrics")
  t0=$(date +%s.%N)
  kill "$pid"
  wait "$pid" || true
  t1=$(date +%s.%N)
  start_node
  t2=$(date +%s.%N)
  printf '%s lifecycles: rss %s MB, %s MB after 12 s idle (rocksdb %s MB: %s; %s cache sweeps; heap of %s; %s tasks in memory); stop %.2f s; restart to /ready %.2f s; rss after restart %s MB; mean rate of the last %d rounds %.0f lifecycles/s\n' \
    "$done_total" "$rss" "$rss_idle" "${rocks:-?}" "${roles:-?}" "${sweeps:-?}" "${heap:-?}" "${in_memory:-?}" "$(python3 -c "print($t1 - $t0)")" \
    "$(python3 -c "print($t2 - $t1)")" "$(rss_mb)" "$rounds" "$(python3 -c "print($rate_sum / $rounds)")"
  grep ' loaded ' "$work/pigtaild.log" | tail -1 | sed 's/^/  restart: /'
done

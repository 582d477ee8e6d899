#!/bin/bash
# Peak memory of `pigtail-replay rebuild` as the log grows, with the default
# memory budget and a small one (issue: memory bounded by live tasks).
#
#   bash benchmarks/replay_memory.sh [--bin DIR] [--tasks N] [--backlog B]
#        [--budgets 64,8,8/16]
#
# One pigtaild on RocksDB (127.0.0.1, stopped by its PID) takes rounds of
# `pigtail-load --tasks B --phases batch,process` until N tasks are done:
# B tasks added 1,000 per batch request (an Add entry each), then claimed
# and done by 8 workers (a Batch entry per claim and per done batch), so
# that at most B tasks are live at any point of the log (default B = N: all
# of them, after the adds). The log is exported to
# JSONL, then rebuilt into a fresh RocksDB state once per budget: MB is
# --memory-budget-mb, MB/R adds --rocksdb-memory-mb R (default 512). Prints
# the host, the commit, the log's size and, per budget, the rebuild's peak
# RSS (its report's peak_rss_kb), time and events/s.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
tasks=1000000
backlog=""
budgets=64,8,8/16
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --budgets) budgets=$2; shift 2 ;;
    *) echo "replay_memory.sh: unknown argument $1 (see the header of this file)" >&2; exit 2 ;;
  esac
done
for tool in pigtaild pigtail-load pigtail-replay; do
  [ -x "$bin/$tool" ] || { echo "replay_memory.sh: no $bin/$tool; build first" >&2; exit 2; }
done

work=$(mktemp -d /tmp/pigtail-replay-memory.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/pigtaild" --listen "127.0.0.1:$port" --backend "rocksdb:$work/node" >"$work/pigtaild.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # at most a minute
  curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "pigtaild exited:" >&2; tail "$work/pigtaild.log" >&2; exit 1; }
  sleep 0.1
done

echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown), binaries: $bin"
backlog=${backlog:-$tasks}
echo "tasks: $tasks, at most $backlog live"
for ((done_tasks = 0; done_tasks < tasks; done_tasks += backlog)); do
  "$bin/pigtail-load" --url "http://127.0.0.1:$port" --tasks "$backlog" --phases batch,process >"$work/load.out"
done
grep -E '^(add batch|process):' "$work/load.out" | sed 's/^/last round: /'
kill "$pid"
wait "$pid" || true
pid=""
"$bin/pigtail-replay" export --from "rocksdb:$work/node" --out "$work/log.jsonl" >/dev/null
echo "log: $(wc -l <"$work/log.jsonl") entries, $(du -m "$work/log.jsonl" | cut -f1) MB of JSONL"

IFS=, read -r -a sizes <<<"$budgets"
for budget in "${sizes[@]}"; do
  mb=${budget%%/*}
  rocks_flag=()
  [[ $budget == */* ]] && rocks_flag=(--rocksdb-memory-mb "${budget#*/}")
  rm -rf "$work/rebuilt"
  "$bin/pigtail-replay" rebuild --from "jsonl:$work/log.jsonl" --into "rocksdb:$work/rebuilt" \
    --memory-budget-mb "$mb" "${rocks_flag[@]}" --json >"$work/report.json"
  python3 - "--memory-budget-mb $mb ${rocks_flag[*]}" "$work/report.json" <<'EOF_PY'
import json, sys
report = json.load(open(sys.argv[2]))
r = report["replay"]
print(f"rebuild {sys.argv[1].strip()}: peak RSS {report['peak_rss_kb'] // 1024} MB, "
      f"{r['seconds']:.1f} s, {r['events']} events, {r['events_per_second']:.0f} events/s, "
      f"{r['commits']} commits")
EOF_PY
done

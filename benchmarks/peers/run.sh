#!/usr/bin/env bash
# Pigtail side by side with peer job queues: one command.
#
#   bash benchmarks/peers/run.sh [--rounds N] [--jobs N] [--latency-jobs N]
#                                [--systems a,b,...] [--quick] [--out FILE]
#                                [--sync-delay-us N]
#
# Installs what it needs (Debian packages when missing, the pinned npm
# packages into benchmarks/peers/node_modules), builds pigtaild and
# pigtail-load (RelWithDebInfo, in build/) when build/bin lacks them, then
# runs every system for N rounds (runner.mjs) and writes
# benchmarks/peers/results/latest.md and .json (--quick: results/quick.md,
# not committed; --out FILE.md: there). Systems: rabbitmq,
# pg-skip-locked-1, pg-skip-locked-100, graphile-worker, pg-boss, bullmq,
# pigtail-rocksdb, pigtail-postgres. --sync-delay-us N: every system's
# fdatasync and fsync take N µs longer (a slower disk; benchmarks/slow_sync.cc,
# preloaded), and the report goes to results/sync-delay-Nus.md.
# See benchmarks/peers/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"

die() {
  echo "run.sh: $*" >&2
  exit 2
}

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

rounds=3
jobs=20000
latency_jobs=2000
systems=""
out=""
sync_delay_us=0
while (($# > 0)); do
  case "$1" in
    --rounds | --jobs | --latency-jobs | --systems | --out | --sync-delay-us)
      (($# >= 2)) || die "$1 needs a value"
      case "$1" in
        --sync-delay-us) sync_delay_us="$2" ;;
        --rounds) rounds="$2" ;;
        --jobs) jobs="$2" ;;
        --latency-jobs) latency_jobs="$2" ;;
        --systems) systems="$2" ;;
        --out) out="$(realpath -m -- "$2")" ;;
      esac
      shift 2
      ;;
    --quick)
      rounds=1
      jobs=2000
      latency_jobs=200
      out="$HERE/results/quick.md"
      shift
      ;;
    -h | --help) usage ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
for n in "$rounds" "$jobs" "$latency_jobs"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "counts must be positive integers, got $n"
done
[[ "$sync_delay_us" =~ ^(0|[1-9][0-9]{0,6})$ ]] ||
  die "--sync-delay-us must be 0 to 9999999 (microseconds), got $sync_delay_us"
if [[ -z "$out" ]]; then
  out="$HERE/results/latest.md"
  ((sync_delay_us == 0)) || out="$HERE/results/sync-delay-${sync_delay_us}us.md"
fi
[[ "$out" == *.md ]] || die "--out must name a .md file"

# Debian packages: only what is missing, `apt-get update` only then.
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v redis-server >/dev/null || missing+=(redis-server)
[[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || missing+=(rabbitmq-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
if ((${#missing[@]} > 0)); then
  echo "run.sh: installing ${missing[*]}" >&2
  sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo)
  # Keep the packages' own services from starting (they would listen on
  # every interface with default settings); this run starts its own.
  policy_added=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
  [[ -z "$policy_added" ]] || "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 18)) || die "Node.js 18 or newer is needed, found $(node --version)"

# npm packages, pinned in package.json (+ package-lock.json).
if ! (cd "$HERE" && npm ls --omit=dev >/dev/null 2>&1); then
  echo "run.sh: installing npm packages into benchmarks/peers/node_modules" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund >&2)
fi

# Pigtail, with the repository's own build.
if [[ -z "${PIGTAIL_BIN:-}" ]]; then
  export PIGTAIL_BIN="$ROOT/build/bin"
  if [[ ! -x "$PIGTAIL_BIN/pigtaild" || ! -x "$PIGTAIL_BIN/pigtail-load" ]]; then
    echo "run.sh: building pigtaild and pigtail-load (RelWithDebInfo)" >&2
    [[ -f "$ROOT/build/build.ninja" ]] ||
      cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
    nice cmake --build "$ROOT/build" -j2 --target pigtaild pigtail-load >&2
  fi
fi

# A slower disk for every system: the preloaded library delays each sync.
if ((sync_delay_us > 0)); then
  slow_sync="$ROOT/build/benchmarks/libpigtail_slow_sync.so"
  if [[ ! -f "$slow_sync" ]]; then
    echo "run.sh: building the sync delay library (benchmarks/slow_sync.cc)" >&2
    [[ -f "$ROOT/build/build.ninja" ]] ||
      cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
    nice cmake --build "$ROOT/build" -j2 --target pigtail_slow_sync >&2
  fi
  export LD_PRELOAD="$slow_sync${LD_PRELOAD:+:$LD_PRELOAD}"
  export PIGTAIL_SYNC_DELAY_US="$sync_delay_us"
fi

command=(bash benchmarks/peers/run.sh)
[[ "$out" == "$HERE/results/quick.md" ]] && command+=(--quick) ||
  command+=(--rounds "$rounds" --jobs "$jobs" --latency-jobs "$latency_jobs")
[[ -z "$systems" ]] || command+=(--systems "$systems")
((sync_delay_us == 0)) || command+=(--sync-delay-us "$sync_delay_us")
args=(--rounds "$rounds" --jobs "$jobs" --latency-jobs "$latency_jobs" --out "$out"
  --command "${command[*]}")
[[ -z "$systems" ]] || args+=(--systems "$systems")
exec node "$HERE/runner.mjs" "${args[@]}"

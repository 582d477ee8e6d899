#!/usr/bin/env bash
# A short check that every system of the peer benchmark starts, runs its four
# workloads and stops (not part of the project's test command; ~3 min):
#
#   bash benchmarks/peers/smoke.sh
#
# Runs run.sh with 160 jobs and 20 latency jobs into a temporary report and
# fails unless every system produced all five figures without an error and
# nothing it started is left running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
out="$(mktemp -d /tmp/pigtail-peers-smoke.XXXXXX)"
trap 'rm -rf -- "$out"' EXIT

bash "$HERE/run.sh" --rounds 1 --jobs 160 --latency-jobs 20 --out "$out/smoke.md" "$@" >/dev/null
node --input-type=module - "$out/smoke.json" <<'JS'
import { readFileSync } from 'node:fs';
const run = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let failed = 0;
for (const s of run.systems) {
  const r = run.results.find((x) => x.id === s.id);
  const figures = ['single', 'bulk', 'processed', 'p50_ms', 'p99_ms'];
  const bad = !r || r.error || figures.some((k) => !(typeof r[k] === 'number' && r[k] > 0));
  console.log(`${bad ? 'FAIL' : 'ok  '} ${s.id}${bad ? `: ${r ? r.error || 'missing figures' : 'no result'}` : ''}`);
  if (bad) failed++;
}
console.log(`${run.systems.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
JS
# Every directory services.sh made was removed by its stop.
left="$(find /tmp -maxdepth 1 -name 'pigtail-peers.*' -newer "$out" 2>/dev/null || true)"
[[ -z "$left" ]] || { echo "left behind: $left" >&2; exit 1; }

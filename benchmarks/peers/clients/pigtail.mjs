// Pigtail through its own load tool, pigtail-load (tools/pigtail_load.cc):
// the same four workloads over HTTP keep-alive, run in C++ threads. This
// wrapper maps the common arguments onto pigtail-load's flags and its
// printed figures onto the common JSON line. pigtail-load is found in
// $PIGTAIL_BIN (default: build/bin of this checkout).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, plan } from './common.mjs';

const o = parseArgs();
const p = plan(o);
const bin = process.env.PIGTAIL_BIN || fileURLToPath(new URL('../../../build/bin', import.meta.url));
const args = [
  '--url', o.url,
  '--tasks', String(o.jobs),
  '--providers', String(o.producers),
  '--workers', String(o.consumers),
  '--batch', String(o.batch),
  '--claim-max', String(o.fetch),
  '--latency-tasks', String(o.latencyJobs),
  '--phases', 'single,batch,process,latency',
];
const result = {
  system: 'Pigtail',
  jobs: { single: p.single, bulk: p.bulk, batch: p.bulkSize, latency: o.latencyJobs },
};

const { code, stdout, stderr } = await new Promise((resolve) => {
  execFile(
    `${bin}/pigtail-load`,
    args,
    { timeout: o.phaseTimeout * 4 * 1000, killSignal: 'SIGKILL' },
    (err, out, errOut) => resolve({ code: err ? err.code ?? err.signal ?? 1 : 0, stdout: out, stderr: errOut }),
  );
});

const match = (re) => {
  const m = re.exec(stdout);
  return m ? Number(m[1]) : undefined;
};
const log = /^node: log (\S+)/m.exec(stdout);
if (log) {
  result.system = log[1].startsWith('rocksdb:') ? 'Pigtail on RocksDB' : 'Pigtail on PostgreSQL';
}
result.version = `this commit, ${(/^pigtail-load: build ([^,]+)/m.exec(stdout) || [])[1] || '?'} build`;
result.single = match(/^add single: .* = +([\d.]+) adds\/s/m);
result.bulk = match(/^add batch: .* = +([\d.]+) adds\/s/m);
result.processed = match(/^process: .* = +([\d.]+) lifecycles\/s/m);
result.p50_ms = match(/^add->claimed: .* p50 ([\d.]+) ms/m);
result.p99_ms = match(/^add->claimed: .* p99 ([\d.]+) ms/m);
result.latency_started = match(/^add->claimed: +(\d+) tasks/m);
// What the node did in each throughput phase: the "node:" and "bounds:"
// lines pigtail-load prints under the phase's line (server/node_work.h).
const lines = stdout.split('\n');
const work = {};
const phases = [
  ['single', 'add single:'],
  ['bulk', 'add batch:'],
  ['processed', 'process:'],
];
for (const [key, prefix] of phases) {
  const at = lines.findIndex((line) => line.startsWith(prefix));
  const text = at < 0 ? '' : lines.slice(at + 1, at + 3).join('\n');
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const figures = {
    requests_per_batch: num(/([\d.]+) requests\/batch/),
    append_us: num(/log append ([\d.]+) us\/batch/),
    busy_pct: num(/sequencer busy ([\d.]+)%/),
    cpu_node_us: num(/cpu\/item node ([\d.]+) us/),
    cpu_client_us: num(/\+ client ([\d.]+) us/),
    cores_busy: num(/([\d.]+) of \d+ cores busy/),
    log_bound: num(/log appends back to back ([\d.]+) items\/s/),
    sequencer_bound: num(/sequencer never idle ([\d.]+) items\/s/),
    cpu_bound: num(/every core busy ([\d.]+) items\/s/),
  };
  if (Object.values(figures).some((x) => x !== undefined)) work[key] = figures;
}
if (Object.keys(work).length > 0) result.work = work;
if (code !== 0) {
  const why = stderr.trim().split('\n').pop() || `exit ${code}`;
  result.error = `pigtail-load: ${why}`;
}
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(result.error ? 1 : 0);

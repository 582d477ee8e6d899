// Runs the peer benchmark: for each of N rounds, each system in turn (the
// order rotates every round) is started fresh by services.sh, driven by its
// client in clients/, and stopped. Writes the raw figures (JSON) and the
// report (markdown, report.mjs) and prints the report. run.sh installs what
// this needs first; run that, not this.
//
//   node runner.mjs [--rounds N] [--jobs N] [--latency-jobs N]
//                   [--systems a,b] [--out results/latest.md] --command "..."
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReport } from './report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

export const SYSTEMS = [
  { id: 'rabbitmq', kind: 'rabbitmq', client: 'rabbitmq.mjs', fetch: 100,
    label: 'RabbitMQ quorum queue (amqplib, prefetch 100)' },
  { id: 'pg-skip-locked-1', kind: 'postgres', client: 'pg_skip_locked.mjs', fetch: 1,
    label: 'PostgreSQL SKIP LOCKED, 1 per fetch' },
  { id: 'pg-skip-locked-100', kind: 'postgres', client: 'pg_skip_locked.mjs', fetch: 100,
    label: 'PostgreSQL SKIP LOCKED, 100 per fetch' },
  { id: 'graphile-worker', kind: 'postgres', client: 'graphile_worker.mjs', fetch: 100,
    label: 'graphile-worker, batched (localQueue 500)' },
  { id: 'pg-boss', kind: 'postgres', client: 'pg_boss.mjs', fetch: 100,
    label: 'pg-boss work(), batch 100' },
  { id: 'bullmq', kind: 'redis', client: 'bullmq.mjs', fetch: 100,
    label: 'BullMQ on Redis, AOF always (Worker concurrency 100)' },
  { id: 'pigtail-rocksdb', kind: 'pigtail-rocksdb', client: 'pigtail.mjs', fetch: 100,
    label: 'Pigtail on RocksDB (pigtail-load, claim max 100)' },
  { id: 'pigtail-postgres', kind: 'pigtail-postgres', client: 'pigtail.mjs', fetch: 100,
    label: 'Pigtail on PostgreSQL (pigtail-load, claim max 100)' },
];

function parse(argv) {
  const o = {
    rounds: 3,
    jobs: 20000,
    latencyJobs: 2000,
    producers: 8,
    consumers: 8,
    batch: 1000,
    phaseTimeout: 600,
    systems: SYSTEMS.map((s) => s.id).join(','),
    out: join(HERE, 'results', 'latest.md'),
    command: 'bash benchmarks/peers/run.sh',
  };
  const flags = {
    '--rounds': 'rounds',
    '--jobs': 'jobs',
    '--latency-jobs': 'latencyJobs',
    '--systems': 'systems',
    '--out': 'out',
    '--command': 'command',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = flags[argv[i]];
    if (!key || i + 1 >= argv.length) die(`unknown flag or missing value: ${argv[i]}`);
    const v = argv[i + 1];
    if (['systems', 'out', 'command'].includes(key)) {
      o[key] = v;
    } else {
      o[key] = Number(v);
      if (!(Number.isInteger(o[key]) && o[key] > 0)) die(`${argv[i]} needs a positive integer`);
    }
  }
  const known = new Set(SYSTEMS.map((s) => s.id));
  for (const id of o.systems.split(',')) {
    if (!known.has(id)) die(`unknown system ${id}; known: ${[...known].join(', ')}`);
  }
  if (o.jobs < o.producers) die(`--jobs must be at least ${o.producers}`);
  return o;
}

function die(message) {
  process.stderr.write(`run.sh: ${message}\n`);
  process.exit(2);
}

const log = (message) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// Runs a command; resolves to { code, stdout, stderr }. Killed (TERM, then
// KILL) after timeoutMs.
let current = null;
function run(cmd, args, timeoutMs, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const term = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 10000);
    child.on('close', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      current = null;
      resolve({ code: code ?? signal, stdout, stderr, timedOut: signal !== null });
    });
  });
}

const lastLine = (text) => text.trim().split('\n').filter(Boolean).pop() || '';

async function fsyncProbe(dir) {
  const r = await run('node', [join(HERE, 'fsync_probe.mjs'), dir, '400'], 120000);
  try {
    return JSON.parse(lastLine(r.stdout));
  } catch {
    return null;
  }
}

async function environment(dir) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const commit = await run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], 10000);
  const dirty = await run('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], 10000);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: lastLine(commit.stdout) + (dirty.stdout.trim() ? ' (with uncommitted changes)' : ''),
    cpu: (/^model name\s*:\s*(.+)$/m.exec(cpuinfo) || [])[1] || os.cpus()[0]?.model || '?',
    cores: os.cpus().length,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadBefore: os.loadavg(),
    // run.sh --sync-delay-us: every fdatasync and fsync took this much longer.
    syncDelayUs: Number(process.env.PIGTAIL_SYNC_DELAY_US || 0),
    fsyncBefore: await fsyncProbe(dir),
  };
}

// One system, one round: start, drive, stop. Returns the result record.
async function runOne(o, system, round, tmp) {
  const dir = join(tmp, `${system.id}-${round}`);
  const services = join(HERE, 'services.sh');
  const record = { id: system.id, round };
  const started = await run('bash', [services, 'start', system.kind, dir], 240000);
  try {
    if (started.code !== 0) {
      record.error = `failed to start: ${lastLine(started.stderr) || `exit ${started.code}`}`;
      return record;
    }
    const url = lastLine(started.stdout);
    const args = [
      join(HERE, 'clients', system.client),
      '--url', url,
      '--jobs', String(o.jobs),
      '--producers', String(o.producers),
      '--consumers', String(o.consumers),
      '--batch', String(o.batch),
      '--fetch', String(system.fetch),
      '--latency-jobs', String(o.latencyJobs),
      '--phase-timeout', String(o.phaseTimeout),
    ];
    const client = await run('node', args, o.phaseTimeout * 5 * 1000);
    try {
      Object.assign(record, JSON.parse(lastLine(client.stdout)), { id: system.id, round });
    } catch {
      record.error = `client failed: ${lastLine(client.stderr) || `exit ${client.code}`}`;
    }
    if (client.timedOut && !record.error) record.error = 'client timed out';
    return record;
  } finally {
    const stopped = await run('bash', [services, 'stop', system.kind, dir], 120000);
    if (stopped.code !== 0) log(`stopping ${system.id}: ${lastLine(stopped.stderr)}`);
  }
}

function summary(r) {
  if (r.error && r.single === undefined) return r.error;
  const f = (x) => (typeof x === 'number' ? Math.round(x).toLocaleString('en-US') : '–');
  const ms = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');
  return (
    `single ${f(r.single)}/s, bulk ${f(r.bulk)}/s, processed ${f(r.processed)}/s, ` +
    `p50 ${ms(r.p50_ms)} ms, p99 ${ms(r.p99_ms)} ms${r.error ? ` (${r.error})` : ''}`
  );
}

async function main() {
  const o = parse(process.argv.slice(2));
  const systems = SYSTEMS.filter((s) => o.systems.split(',').includes(s.id));
  const tmp = mkdtempSync('/tmp/pigtail-peers.');
  chmodSync(tmp, 0o755); // PostgreSQL runs as user postgres when we are root
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      log(`${sig}: stopping`);
      stopping = true;
      // The running client or start ends; runOne's finally then stops the
      // system by the PIDs services.sh recorded.
      if (current) current.kill('SIGTERM');
    });
  }
  const t0 = Date.now();
  const env = await environment(tmp);
  log(`${env.cpu}, ${env.cores} cores, load ${env.loadBefore.map((x) => x.toFixed(2)).join(' ')}, ` +
      `fdatasync 2 kB p50 ${env.fsyncBefore?.p50_us} µs appending, ` +
      `${env.fsyncBefore?.overwrite_p50_us} µs overwriting`);
  const results = [];
  for (let round = 1; round <= o.rounds && !stopping; round++) {
    const k = (round - 1) % systems.length;
    const order = [...systems.slice(k), ...systems.slice(0, k)];
    for (const system of order) {
      if (stopping) break;
      log(`round ${round}/${o.rounds}: ${system.id}`);
      const r = await runOne(o, system, round, tmp);
      results.push(r);
      log(`  ${summary(r)}`);
    }
  }
  env.loadAfter = os.loadavg();
  env.fsyncAfter = await fsyncProbe(tmp);
  env.minutes = (Date.now() - t0) / 60000;
  rmSync(tmp, { recursive: true, force: true });
  const runData = {
    command: o.command,
    options: o,
    env,
    systems: systems.map(({ id, label }) => ({ id, label })),
    results,
  };
  runData.options = { ...o };
  delete runData.options.out;
  const markdown = renderReport(runData);
  if (stopping) {
    process.stdout.write('\n' + markdown);
    log(`interrupted: ${o.out} left as it was`);
    process.exit(130);
  }
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, markdown);
  writeFileSync(o.out.replace(/\.md$/, '') + '.json', JSON.stringify(runData, null, 1) + '\n');
  process.stdout.write('\n' + markdown);
  log(`wrote ${o.out}`);
}

await main();

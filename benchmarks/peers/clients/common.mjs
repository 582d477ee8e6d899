// The workloads every peer client runs, written once. A client supplies the
// system's calls (add one, add a batch, process everything, latency
// consumers); runWorkloads times them the same way for every system and
// prints one JSON line of results on stdout.
//
// Arguments (the same for every client):
//   --url URL            where the system listens (127.0.0.1 or a unix socket)
//   --jobs N             jobs per add workload (default 20000)
//   --producers P        producers in flight (default 8)
//   --consumers C        consumers (default 8)
//   --batch B            jobs per batch call (default 1000)
//   --fetch F            jobs per fetch where the system has a knob (default 100)
//   --latency-jobs L     jobs added one at a time for add -> started (default 2000)
//   --phase-timeout S    seconds any one workload may take (default 600)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const JOB = Object.freeze({ task_name: 'hello', info: Object.freeze({ foo: 'bar' }) });

export function parseArgs(argv = process.argv.slice(2)) {
  const o = {
    url: '',
    jobs: 20000,
    producers: 8,
    consumers: 8,
    batch: 1000,
    fetch: 100,
    latencyJobs: 2000,
    phaseTimeout: 600,
  };
  const names = {
    '--url': 'url',
    '--jobs': 'jobs',
    '--producers': 'producers',
    '--consumers': 'consumers',
    '--batch': 'batch',
    '--fetch': 'fetch',
    '--latency-jobs': 'latencyJobs',
    '--phase-timeout': 'phaseTimeout',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) fail(`unknown flag or missing value: ${argv[i]}`);
    o[key] = key === 'url' ? argv[i + 1] : Number(argv[i + 1]);
    if (key !== 'url' && !(Number.isInteger(o[key]) && o[key] > 0)) {
      fail(`${argv[i]} needs a positive integer, got ${argv[i + 1]}`);
    }
  }
  if (!o.url) fail('--url is required');
  return o;
}

export function fail(message) {
  process.stderr.write(`peer client: ${message}\n`);
  process.exit(2);
}

// How many jobs each add workload writes, as pigtail-load splits them: every
// producer makes floor(jobs / producers) single calls, then
// max(1, floor(per / batch)) batch calls of min(batch, per) jobs.
export function plan(o) {
  const per = Math.floor(o.jobs / o.producers);
  if (per < 1) fail('--jobs must be at least --producers');
  const bulkCalls = Math.max(1, Math.floor(per / o.batch));
  const bulkSize = Math.min(o.batch, per);
  return {
    per,
    single: per * o.producers,
    bulkCalls,
    bulkSize,
    bulk: bulkCalls * bulkSize * o.producers,
  };
}

// The installed version of npm package `name` (benchmarks/peers/node_modules).
export function packageVersion(name) {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

export const now = () => performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Rejects when `promise` has not settled within `ms`.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls `check` (async, returns truthy when done) every `everyMs` until it
// holds or `ms` pass; throws on timeout.
export async function pollUntil(check, ms, everyMs, what) {
  const deadline = now() + ms;
  for (;;) {
    if (await check()) return;
    if (now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(everyMs);
  }
}

// A counter whose `reached` promise resolves once `add` brought it to `target`.
export class Countdown {
  constructor(target) {
    this.count = 0;
    this.target = target;
    this.reached = new Promise((resolve) => {
      this.resolve = resolve;
    });
    if (target <= 0) this.resolve();
  }
  add(n = 1) {
    this.count += n;
    if (this.count >= this.target) this.resolve();
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.floor(p * (sorted.length - 1))];
}

async function timed(o, what, fn) {
  const start = now();
  await withTimeout(Promise.resolve().then(fn), o.phaseTimeout * 1000, what);
  return (now() - start) / 1000;
}

// Runs the four workloads against `system`, which provides:
//   name, version                  strings for the report (name may be a
//                                  function of the options)
//   setup(o), teardown()           before and after everything
//   addOne(producer) -> id         one durable add
//   addBatch(producer, n)          one batch call of n durable adds
//   processAll(o, total)           resolves once `total` queued jobs are
//                                  fetched and completed, every completion
//                                  durable; may resolve to a stop function,
//                                  called after the clock stops
//   startLatencyConsumers(o, onStarted(id)) -> stop()
//                                  idle consumers that call onStarted when
//                                  a job reaches them (and complete it)
export async function runWorkloads(system) {
  const o = parseArgs();
  const p = plan(o);
  const result = {
    system: typeof system.name === 'function' ? system.name(o) : system.name,
    jobs: { single: p.single, bulk: p.bulk, batch: p.bulkSize, latency: o.latencyJobs },
  };
  try {
    await withTimeout(system.setup(o), 120000, 'setup');
    result.version = system.version;

    let seconds = await timed(o, 'single', () =>
      Promise.all(
        Array.from({ length: o.producers }, async (_, producer) => {
          for (let i = 0; i < p.per; i++) await system.addOne(producer);
        }),
      ),
    );
    result.single = p.single / seconds;

    seconds = await timed(o, 'bulk', () =>
      Promise.all(
        Array.from({ length: o.producers }, async (_, producer) => {
          for (let i = 0; i < p.bulkCalls; i++) await system.addBatch(producer, p.bulkSize);
        }),
      ),
    );
    result.bulk = p.bulk / seconds;

    const total = p.single + p.bulk;
    let cleanup = null;
    seconds = await timed(o, 'process', async () => {
      cleanup = await system.processAll(o, total);
    });
    result.processed = total / seconds;
    if (typeof cleanup === 'function') await withTimeout(cleanup(), 30000, 'consumers stop');

    const latency = await measureLatency(o, system);
    Object.assign(result, latency);
  } catch (err) {
    result.error = String(err && err.message ? err.message : err).split('\n')[0];
  }
  try {
    await withTimeout(system.teardown(), 30000, 'teardown');
  } catch (err) {
    result.teardown_error = String(err && err.message ? err.message : err).split('\n')[0];
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  // Some libraries keep timers or sockets; the result is out, so leave.
  process.exit(result.error ? 1 : 0);
}

// add -> started: one producer adds latencyJobs jobs one at a time (each
// waits for its durable acknowledgement) while the consumers sit idle,
// waiting; a job's latency runs from just before its add call to the moment
// a consumer receives it.
async function measureLatency(o, system) {
  const sent = new Map();
  const started = new Map();
  const pending = new Set(); // sent, not started yet
  let addsDone = false;
  let allStarted;
  const all = new Promise((resolve) => (allStarted = resolve));
  const stop = await withTimeout(
    system.startLatencyConsumers(o, (id) => {
      const key = String(id);
      if (started.has(key)) return;
      started.set(key, now());
      if (pending.delete(key) && addsDone && pending.size === 0) allStarted();
    }),
    60000,
    'latency consumers',
  );
  try {
    await sleep(1000); // consumers reach their idle wait
    const deadline = now() + o.phaseTimeout * 1000;
    for (let i = 0; i < o.latencyJobs && now() < deadline; i++) {
      const start = now();
      const key = String(await system.addOne(0));
      sent.set(key, start);
      if (!started.has(key)) pending.add(key);
    }
    addsDone = true;
    if (pending.size === 0) allStarted();
    await withTimeout(all, 60000, 'latency jobs started').catch(() => {});
  } finally {
    await withTimeout(Promise.resolve().then(stop), 30000, 'latency consumers stop');
  }
  const ms = [];
  for (const [id, start] of sent) {
    const at = started.get(id);
    if (at !== undefined) ms.push(at - start);
  }
  ms.sort((a, b) => a - b);
  const out = {
    p50_ms: percentile(ms, 0.5),
    p99_ms: percentile(ms, 0.99),
    latency_started: ms.length,
  };
  const stray = [...started.keys()].filter((id) => !sent.has(id)).length;
  if (stray > 0) out.latency_stray = stray; // jobs no latency add wrote
  if (ms.length < o.latencyJobs) out.error = `latency: ${ms.length} of ${o.latencyJobs} jobs started`;
  return out;
}

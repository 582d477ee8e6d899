// BullMQ on Redis (AOF appendfsync always: Redis syncs the AOF before it
// replies). Queue.add for one job, Queue.addBulk for a batch, one Queue
// (one connection) per producer; --consumers Workers of concurrency --fetch
// (up to consumers x fetch jobs at once, as prefetch does for the other
// systems; concurrency 1 processed 2.5x fewer jobs/s here), each fetching
// its next job as it completes the last (moveToFinished). Jobs are removed
// on completion. A job counts as processed when its Worker emits
// 'completed', after Redis acknowledged the move.
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { Countdown, JOB, packageVersion, runWorkloads } from './common.mjs';

const QUEUE = JOB.task_name;
const OPTS = { removeOnComplete: true };
let connection;
let queues = [];
let redisVersion = '';
const clients = [];

// A new ioredis connection (BullMQ under ESM takes built clients only).
function redis(extra = {}) {
  const c = new IORedis({ ...connection, ...extra });
  clients.push(c);
  return c;
}

function startWorkers(o, onJob) {
  const workers = Array.from(
    { length: o.consumers },
    () =>
      new Worker(QUEUE, async (job) => onJob(job.id), {
        connection: redis({ maxRetriesPerRequest: null }),
        concurrency: o.fetch,
      }),
  );
  for (const w of workers) w.on('error', (err) => process.stderr.write(`bullmq: ${err.message}\n`));
  return workers;
}

const closeAll = (workers) => () => Promise.all(workers.map((w) => w.close()));

await runWorkloads({
  name: 'BullMQ on Redis, AOF always',
  get version() {
    return `${packageVersion('bullmq')}, Redis ${redisVersion}`;
  },
  async setup(o) {
    const url = new URL(o.url);
    connection = { host: url.hostname, port: Number(url.port) };
    queues = Array.from(
      { length: o.producers },
      () => new Queue(QUEUE, { connection: redis() }),
    );
    await Promise.all(queues.map((q) => q.waitUntilReady()));
    const info = await clients[0].info('server');
    redisVersion = (/redis_version:(\S+)/.exec(info) || [])[1] || '?';
  },
  async teardown() {
    await Promise.all(queues.map((q) => q.close()));
    for (const c of clients) c.disconnect();
  },
  async addOne(producer) {
    const job = await queues[producer].add(JOB.task_name, JOB.info, OPTS);
    return job.id;
  },
  async addBatch(producer, n) {
    await queues[producer].addBulk(
      Array.from({ length: n }, () => ({ name: JOB.task_name, data: JOB.info, opts: OPTS })),
    );
  },
  async processAll(o, total) {
    const done = new Countdown(total);
    const workers = startWorkers(o, () => {});
    for (const w of workers) w.on('completed', () => done.add());
    await done.reached;
    return closeAll(workers);
  },
  async startLatencyConsumers(o, onStarted) {
    const workers = startWorkers(o, onStarted);
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    return closeAll(workers);
  },
});

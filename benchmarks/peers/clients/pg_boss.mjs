// pg-boss: send() for one job, insert() for a batch, work() with
// localConcurrency --consumers workers fetching batches of --fetch jobs
// (continuously while batches come back full), woken by LISTEN/NOTIFY
// (useListenNotify + a notify queue) when idle. A batch handler's jobs are
// completed when it resolves; a job counts as processed once its row in
// pgboss.job reads 'completed' (synchronous_commit on).
import { PgBoss } from 'pg-boss';
import pg from 'pg';
import { Countdown, JOB, packageVersion, pollUntil, runWorkloads } from './common.mjs';

const QUEUE = JOB.task_name;
let boss;
let admin;

async function work(o, onJobs) {
  return boss.work(
    QUEUE,
    {
      batchSize: o.fetch,
      localConcurrency: o.consumers,
      burstWhenBatchFull: true,
      pollingIntervalSeconds: 0.5,
    },
    async (jobs) => onJobs(jobs),
  );
}

async function unfinished() {
  const { rows } = await admin.query(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'`,
    [QUEUE],
  );
  return rows[0].n;
}

await runWorkloads({
  name: (o) => `pg-boss work(), batch ${o.fetch}`,
  version: packageVersion('pg-boss'),
  async setup(o) {
    boss = new PgBoss({
      connectionString: o.url,
      max: o.producers + o.consumers + 4,
      useListenNotify: true,
    });
    boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.message}\n`));
    await boss.start();
    await boss.createQueue(QUEUE, { notify: true });
    admin = new pg.Client({ connectionString: o.url });
    await admin.connect();
  },
  async teardown() {
    await boss.stop({ graceful: false });
    await admin.end();
  },
  async addOne() {
    return boss.send(QUEUE, JOB.info);
  },
  async addBatch(_producer, n) {
    await boss.insert(
      QUEUE,
      Array.from({ length: n }, () => ({ data: JOB.info })),
    );
  },
  async processAll(o, total) {
    const ran = new Countdown(total);
    await work(o, (jobs) => ran.add(jobs.length));
    await ran.reached;
    // The handlers ran; each batch is completed after its handler resolves.
    await pollUntil(async () => (await unfinished()) === 0, o.phaseTimeout * 1000, 2, 'completions');
    return () => boss.offWork(QUEUE, { wait: true });
  },
  async startLatencyConsumers(o, onStarted) {
    await work(o, (jobs) => {
      for (const job of jobs) onStarted(job.id);
    });
    return () => boss.offWork(QUEUE, { wait: true });
  },
});

// graphile-worker, batched: one runner with concurrency --consumers, a local
// queue of 500 jobs per fetch and completions gathered into batches
// (completeJobBatchDelay 0: those that finish in the same tick). Adds go
// through WorkerUtils (addJob, and addJobs for a batch). A job counts as
// processed once its row is gone from graphile_worker._private_jobs, i.e.
// the completing transaction committed (synchronous_commit on).
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import { Countdown, JOB, packageVersion, pollUntil, runWorkloads } from './common.mjs';

const silent = new Logger(() => () => {});
let url;
let utils;
let admin;

function startRunner(o, onJob) {
  return run({
    connectionString: url,
    concurrency: o.consumers,
    maxPoolSize: o.consumers + 2,
    noHandleSignals: true,
    logger: silent,
    taskList: {
      [JOB.task_name]: async (_payload, helpers) => onJob(helpers.job.id),
    },
    preset: {
      worker: {
        localQueue: { size: 500 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
  });
}

async function remaining() {
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
  return rows[0].n;
}

await runWorkloads({
  name: 'graphile-worker, batched (localQueue 500)',
  version: packageVersion('graphile-worker'),
  async setup(o) {
    url = o.url;
    utils = await makeWorkerUtils({ connectionString: url, maxPoolSize: o.producers + 2, logger: silent });
    await utils.migrate();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  },
  async teardown() {
    await utils.release();
    await admin.end();
  },
  async addOne() {
    const job = await utils.addJob(JOB.task_name, JOB.info);
    return job.id;
  },
  async addBatch(_producer, n) {
    await utils.addJobs(Array.from({ length: n }, () => ({ identifier: JOB.task_name, payload: JOB.info })));
  },
  async processAll(o, total) {
    const ran = new Countdown(total);
    const runner = await startRunner(o, () => ran.add());
    await ran.reached;
    // The handlers ran; the batched completions commit after them.
    await pollUntil(async () => (await remaining()) === 0, o.phaseTimeout * 1000, 2, 'completions');
    return () => runner.stop();
  },
  async startLatencyConsumers(o, onStarted) {
    const runner = await startRunner(o, onStarted);
    return () => runner.stop();
  },
});

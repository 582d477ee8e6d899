// A hand-written PostgreSQL queue: a jobs table, fetch with
// UPDATE ... FOR UPDATE SKIP LOCKED LIMIT --fetch (the job is marked running
// in a committed transaction), complete with one DELETE of the fetched ids,
// and a statement-level trigger that NOTIFYs idle consumers (LISTEN) of new
// jobs. Every statement runs in its own transaction with
// synchronous_commit on (the cluster's default), so a reply means durable.
import pg from 'pg';
import { JOB, Countdown, runWorkloads, sleep } from './common.mjs';

const SCHEMA = `
  DROP TABLE IF EXISTS jobs;
  CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued',
    locked_at timestamptz
  );
  CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
  CREATE OR REPLACE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('jobs', '');
    RETURN NULL;
  END $$;
  CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify();
`;
const ADD = { name: 'add', text: 'INSERT INTO jobs (payload) VALUES ($1) RETURNING id' };
const ADD_BATCH = {
  name: 'add_batch',
  text: 'INSERT INTO jobs (payload) SELECT jsonb_array_elements($1::jsonb)',
};
const FETCH = {
  name: 'fetch',
  text: `UPDATE jobs SET state = 'running', locked_at = now()
         WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id
                      LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, payload`,
};
const COMPLETE = { name: 'complete', text: 'DELETE FROM jobs WHERE id = ANY($1::bigint[])' };
const PAYLOAD = JSON.stringify(JOB);

let url;
let producers = [];

async function connect() {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

// Consumers fetch up to `fetch` jobs, report each to onJob, complete them
// with one DELETE and report the count to onCompleted; when a fetch comes
// back empty they wait for a NOTIFY (or 500 ms). stop() ends them.
async function startConsumers(o, onJob, onCompleted) {
  const clients = await Promise.all(Array.from({ length: o.consumers }, connect));
  let stopping = false;
  const wakes = new Set();
  const loops = clients.map(async (c) => {
    let notified = false;
    let wake = null;
    c.on('notification', () => {
      notified = true;
      if (wake) wake();
    });
    await c.query('LISTEN jobs');
    while (!stopping) {
      notified = false;
      const { rows } = await c.query({ ...FETCH, values: [o.fetch] });
      if (rows.length === 0) {
        if (!notified && !stopping) {
          const woken = new Promise((resolve) => (wake = resolve));
          wakes.add(wake);
          await Promise.race([woken, sleep(500)]);
          wakes.delete(wake);
          wake = null;
        }
        continue;
      }
      for (const row of rows) onJob(row.id);
      await c.query({ ...COMPLETE, values: [rows.map((r) => r.id)] });
      onCompleted(rows.length);
    }
  });
  return async () => {
    stopping = true;
    for (const w of wakes) w();
    await Promise.all(loops);
    await Promise.all(clients.map((c) => c.end()));
  };
}

let version = '';

await runWorkloads({
  name: (o) => `PostgreSQL SKIP LOCKED, ${o.fetch} per fetch`,
  get version() {
    return version;
  },
  async setup(o) {
    url = o.url;
    const admin = await connect();
    version = (await admin.query('SHOW server_version')).rows[0].server_version;
    await admin.query(SCHEMA);
    await admin.end();
    producers = await Promise.all(Array.from({ length: o.producers }, connect));
  },
  async teardown() {
    await Promise.all(producers.map((c) => c.end()));
  },
  async addOne(producer) {
    const { rows } = await producers[producer].query({ ...ADD, values: [PAYLOAD] });
    return rows[0].id;
  },
  async addBatch(producer, n) {
    const batch = JSON.stringify(Array.from({ length: n }, () => JOB));
    await producers[producer].query({ ...ADD_BATCH, values: [batch] });
  },
  async processAll(o, total) {
    const done = new Countdown(total);
    const stop = await startConsumers(
      o,
      () => {},
      (n) => done.add(n),
    );
    await done.reached;
    return stop;
  },
  async startLatencyConsumers(o, onStarted) {
    return startConsumers(o, onStarted, () => {});
  },
});

// Drives the pigtaild dashboard (GET /ui) in headless Chromium against real
// nodes that scripts/ui_test.sh started:
//   --a URL      a node this script fills with data
//   --b URL      a second node, made a replication peer of A
//   --c URL      a node started with --client-token TOKEN
//   --token T    C's client token
//   --artifacts DIR   screenshots go here
//   --profile DIR     a fresh Chromium user data directory
// Every page is checked against the API's own answers; every wait is
// bounded. Prints "N passed, N failed" and exits non-zero on a failure.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { chromium } = require('playwright-core');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
for (const need of ['a', 'b', 'c', 'token', 'artifacts', 'profile']) {
  if (!args[need]) {
    console.error(`usage: node ui_test.js --a URL --b URL --c URL --token T --artifacts DIR --profile DIR (missing --${need})`);
    process.exit(2);
  }
}
const WAIT_MS = 15000; // the longest any single wait may take
const WORKER = '6c1f3f0e-8d52-4b8e-9d4e-2a4f0b1c9e77';

// Stops the whole run if something hangs despite the bounded waits.
setTimeout(() => {
  console.error('ui_test.js: overall time limit (240 s) reached');
  process.exit(1);
}, 240000).unref();

// ---- the API, from Node ------------------------------------------------------

async function call(base, method, p, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const response = await fetch(base + p, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(10000),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    // not JSON
  }
  return { status: response.status, json, text, headers: response.headers };
}

async function ok(base, method, p, body, token) {
  const r = await call(base, method, p, body, token);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

// Queue "emails": 3 pending, 2 working, 1 done, 1 cancelled. Queue
// "reports": 25 pending (two pages of 20). Returns the ids by state.
async function fill(base, token) {
  await ok(base, 'POST', '/create', { name: 'emails', timeout_ms: 600000 }, token);
  await ok(base, 'POST', '/create', { name: 'reports', timeout_ms: 600000 }, token);
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const { id } = await ok(base, 'POST', '/queue/emails', { task_name: `welcome-${i}`, info: { n: i } }, token);
    ids.push(id);
  }
  const [p1, p2, p3, w1, w2, d1, c1] = ids;
  for (const id of [w1, w2, d1]) await ok(base, 'PUT', `/queue/emails/${id}`, { worker_id: WORKER }, token);
  await ok(base, 'DELETE', `/queue/emails/${d1}`, { worker_id: WORKER }, token);
  await ok(base, 'POST', `/queue/emails/${c1}/cancel`, undefined, token);
  const tasks = Array.from({ length: 25 }, (_, i) => ({ task_name: `report-${i}`, info: i }));
  await ok(base, 'POST', '/queue/reports/batch', tasks, token);
  return { pending: [p1, p2, p3], working: [w1, w2], done: [d1], cancelled: [c1] };
}

// ---- checks ------------------------------------------------------------------

const results = [];

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

// Waits (bounded) until `fn` returns without throwing; rethrows the last error.
async function eventually(fn, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(args.artifacts, name + '.png'), fullPage: true });
}

async function waitView(page, view) {
  await page.waitForSelector(`body[data-view="${view}"]`, { timeout: WAIT_MS });
}

// The numbers a table row shows, by data-field.
async function fields(locator) {
  return locator.evaluate((row) => Object.fromEntries(
    [...row.querySelectorAll('[data-field]')].map((el) => [el.dataset.field, el.textContent.trim()])));
}

function countsOf(stats) {
  const out = {};
  for (const s of ['pending', 'working', 'done', 'dead', 'cancelled', 'claimable']) out[s] = String(stats[s]);
  return out;
}

function pick(obj, keys) {
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}

const STAT_KEYS = ['pending', 'working', 'done', 'dead', 'cancelled', 'claimable'];

async function main() {
  const A = args.a;
  const B = args.b;
  const C = args.c;
  const ids = await fill(A);

  const context = await chromium.launchPersistentContext(args.profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    timeout: 60000,
  });
  context.setDefaultTimeout(WAIT_MS);

  // Every request the pages make must go to one of our nodes, and nothing
  // may be logged as an error but the 401s the token check expects.
  const allowed = [A, B, C].map((u) => new URL(u).origin);
  const strayRequests = [];
  const consoleErrors = [];
  const watch = (page) => {
    page.on('request', (req) => {
      if (!allowed.includes(new URL(req.url()).origin)) strayRequests.push(req.url());
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/status of 401/.test(msg.text())) consoleErrors.push(msg.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  };
  const page = await context.newPage();
  watch(page);

  await check('GET / redirects to /ui, and the queues page shows every queue with its counts', async () => {
    await page.goto(A + '/');
    assert.equal(new URL(page.url()).pathname, '/ui');
    await page.goto(A + '/ui?poll_ms=500#/queues');
    await waitView(page, 'queues');
    const { queues } = await ok(A, 'GET', '/queues');
    assert.deepEqual(queues.map((q) => q.name).sort(), ['emails', 'reports']);
    for (const q of queues) {
      const stats = await ok(A, 'GET', `/queue/${q.name}/stats`);
      const shown = await fields(page.locator(`tr[data-queue="${q.name}"]`));
      assert.deepEqual(pick(shown, STAT_KEYS), countsOf(stats), `queue ${q.name}`);
    }
    const emails = await fields(page.locator('tr[data-queue="emails"]'));
    assert.deepEqual(pick(emails, ['pending', 'working', 'done', 'cancelled']),
      { pending: '3', working: '2', done: '1', cancelled: '1' });
    await shot(page, 'queues');
  });

  await check('rates: tasks added between polls show as added/s above zero', async () => {
    await eventually(async () => {
      const shown = await fields(page.locator('tr[data-queue="reports"]'));
      assert.match(shown.added_rate, /^\d+\.\d$/, 'a rate after two polls');
    });
    await ok(A, 'POST', '/queue/reports/batch', [{ task_name: 'extra-1', info: 1 }, { task_name: 'extra-2', info: 2 }]);
    await eventually(async () => {
      const shown = await fields(page.locator('tr[data-queue="reports"]'));
      assert.ok(Number(shown.added_rate) > 0, `added/s ${shown.added_rate}`);
      assert.equal(shown.pending, '27');
    });
  });

  await check('queue page: counts and the listed tasks match the API', async () => {
    await page.click('a[href="#/queue/emails"]');
    await waitView(page, 'queue');
    await eventually(async () => assert.equal(await page.textContent('#queue-name'), 'emails'));
    const stats = await ok(A, 'GET', '/queue/emails/stats');
    const shown = await fields(page.locator('#stats tbody tr'));
    assert.deepEqual(pick(shown, STAT_KEYS), countsOf(stats));
    const listing = await ok(A, 'GET', '/queue/emails');
    const rows = await page.$$eval('#tasks tr[data-task]', (trs) => trs.map((tr) => [
      tr.dataset.task, tr.querySelector('[data-field="state"]').textContent.trim()]));
    assert.deepEqual(Object.fromEntries(rows),
      Object.fromEntries(Object.entries(listing).map(([id, t]) => [id, t.state])));
    assert.equal(rows.length, 5);
    await page.click('button[data-filter="working"]');
    await eventually(async () => {
      const working = await page.$$eval('#tasks tr[data-task]', (trs) => trs.map((tr) => tr.dataset.task));
      assert.deepEqual(working.sort(), [...ids.working].sort());
    });
    await shot(page, 'queue');
  });

  await check('queue page: paging walks every listed task once', async () => {
    await page.goto(A + '/ui?poll_ms=500#/queue/reports');
    await waitView(page, 'queue');
    await eventually(async () => assert.equal(await page.textContent('#queue-name'), 'reports'));
    const listing = Object.keys(await ok(A, 'GET', '/queue/reports'));
    // The name shows before the task list has loaded.
    let first = [];
    await eventually(async () => {
      first = await page.$$eval('#tasks tr[data-task]', (trs) => trs.map((tr) => tr.dataset.task));
      assert.equal(first.length, 20);
    });
    assert.equal(await page.textContent('#listed-count'), String(listing.length));
    await page.click('button[data-page="1"]');
    await eventually(async () => assert.equal(await page.textContent('#page'), '2'));
    let second = [];
    await eventually(async () => {
      second = await page.$$eval('#tasks tr[data-task]', (trs) => trs.map((tr) => tr.dataset.task));
      assert.equal(second.length, listing.length - 20);
    });
    assert.deepEqual([...first, ...second].sort(), [...listing].sort());
    assert.ok(await page.isDisabled('button[data-page="1"]'));
    await shot(page, 'queue-page-2');
  });

  await check('task page: fields match the API; a done task offers no cancel', async () => {
    const id = ids.pending[0];
    await page.goto(A + `/ui?poll_ms=500#/queue/emails`);
    await waitView(page, 'queue');
    await page.click(`tr[data-task="${id}"] a`);
    await waitView(page, 'task');
    await eventually(async () => assert.equal(await page.textContent('#task-id'), id));
    const task = await ok(A, 'GET', `/queue/emails/${id}`);
    const shown = await fields(page.locator('#task'));
    assert.equal(shown.task_name, task.task_name);
    assert.equal(shown.state, task.state);
    assert.equal(shown.priority, String(task.priority));
    assert.equal(await page.locator('button[data-action="cancel"]').count(), 1);
    await shot(page, 'task');

    await page.goto(A + `/ui?poll_ms=500#/queue/emails`);
    await waitView(page, 'queue');
    await page.fill('#find-task input[name="task"]', ids.done[0]);
    await page.click('#find-task button[type="submit"]');
    await eventually(async () => assert.equal(await page.textContent('#task-id'), ids.done[0]));
    const done = await fields(page.locator('#task'));
    assert.equal(done.state, 'done');
    assert.equal(await page.locator('button[data-action="cancel"]').count(), 0);
  });

  await check('cancel clicked on the task page cancels the task', async () => {
    const id = ids.pending[0];
    await page.goto(A + `/ui?poll_ms=500#/task/emails/${id}`);
    await waitView(page, 'task');
    await eventually(async () => assert.equal(await page.textContent('#task-id'), id));
    assert.equal((await ok(A, 'GET', `/queue/emails/${id}`)).state, 'pending');
    await page.click('button[data-action="cancel"]');
    await eventually(async () => assert.equal((await fields(page.locator('#task'))).state, 'cancelled'));
    assert.equal((await ok(A, 'GET', `/queue/emails/${id}`)).state, 'cancelled');
    await shot(page, 'task-cancelled');
  });

  await check('cancel clicked in the task list cancels a working task', async () => {
    const id = ids.working[0];
    await page.goto(A + '/ui?poll_ms=500#/queue/emails');
    await waitView(page, 'queue');
    await page.click(`tr[data-task="${id}"] button[data-action="cancel"]`);
    await eventually(async () => assert.equal(await page.locator(`tr[data-task="${id}"]`).count(), 0));
    assert.equal((await ok(A, 'GET', `/queue/emails/${id}`)).state, 'cancelled');
    const stats = await ok(A, 'GET', '/queue/emails/stats');
    assert.equal(stats.cancelled, 3);
    await eventually(async () => {
      assert.deepEqual(pick(await fields(page.locator('#stats tbody tr')), STAT_KEYS), countsOf(stats));
    });
  });

  await check('nodes page: this node, the peer with its lag, digests marked equal', async () => {
    await ok(A, 'POST', '/nodes', { url: B });
    // Wait for the API itself to say the two nodes converged.
    await eventually(async () => {
      const [da, db] = [await ok(A, 'GET', '/digest'), await ok(B, 'GET', '/digest')];
      assert.equal(da.total, db.total);
    }, 30000);
    await page.goto(A + '/ui?poll_ms=500#/nodes');
    await waitView(page, 'nodes');
    const health = await ok(A, 'GET', '/health');
    const digest = await ok(A, 'GET', '/digest');
    const me = await fields(page.locator('#this-node'));
    assert.equal(me.node_id, health.node_id);
    assert.equal(me.digest, digest.total);
    assert.equal(me.tasks, String(digest.tasks));
    const peer = page.locator(`tr[data-peer="${B}"]`);
    await eventually(async () => {
      const replication = await ok(A, 'GET', '/replication');
      const p = replication.peers.find((x) => x.url === B);
      assert.ok(p, 'B in /replication');
      const shown = await fields(peer);
      assert.equal(shown.push_lag_entries, String(p.push_lag_entries));
      assert.equal(shown.up, p.up ? 'up' : 'down');
      assert.equal(await peer.locator('[data-field="digest"]').getAttribute('data-equal'), 'true');
      assert.match(shown.digest, new RegExp(digest.total));
    }, 20000);
    await shot(page, 'nodes');
  });

  await check('with --client-token the page asks for the token, then works', async () => {
    const cIds = await fill(C, args.token);
    assert.equal((await call(C, 'GET', '/queues')).status, 401);
    const tokenPage = await context.newPage(); // its own sessionStorage
    watch(tokenPage);
    await tokenPage.goto(C + '/ui?poll_ms=500');
    await tokenPage.waitForSelector('#token-form:not([hidden])', { timeout: WAIT_MS });
    await shot(tokenPage, 'token-asked');
    await tokenPage.fill('#token-input', 'wrong-token');
    await tokenPage.click('#token-form button[type="submit"]');
    await tokenPage.waitForSelector('#token-form:not([hidden])', { timeout: WAIT_MS });
    await eventually(async () => assert.match(await tokenPage.textContent('#token-message'), /refused/));
    await tokenPage.fill('#token-input', args.token);
    await tokenPage.click('#token-form button[type="submit"]');
    await waitView(tokenPage, 'queues');
    assert.ok(await tokenPage.isHidden('#token-form'));
    assert.ok(await tokenPage.isVisible('#token-shown'));
    const stats = await ok(C, 'GET', '/queue/emails/stats', undefined, args.token);
    await eventually(async () => {
      const shown = await fields(tokenPage.locator('tr[data-queue="emails"]'));
      assert.deepEqual(pick(shown, STAT_KEYS), countsOf(stats));
    });
    const id = cIds.pending[1];
    await tokenPage.goto(C + `/ui?poll_ms=500#/task/emails/${id}`);
    await waitView(tokenPage, 'task');
    await tokenPage.click('button[data-action="cancel"]');
    await eventually(async () => assert.equal((await fields(tokenPage.locator('#task'))).state, 'cancelled'));
    assert.equal((await ok(C, 'GET', `/queue/emails/${id}`, undefined, args.token)).state, 'cancelled');
    await shot(tokenPage, 'token-used');
    await tokenPage.close();
  });

  await check('no request left the nodes and no page logged an error', async () => {
    assert.deepEqual(strayRequests, []);
    assert.deepEqual(consoleErrors, []);
  });

  await context.close();
}

main()
  .catch((e) => {
    results.push({ name: 'setup', ok: false });
    console.log(`FAIL setup: ${e.stack || e}`);
  })
  .finally(() => {
    const failed = results.filter((r) => !r.ok).length;
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });

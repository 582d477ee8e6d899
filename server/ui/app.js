// The Pigtail dashboard: plain JS over the HTTP API (docs/http_api.md).
// Views are chosen by the URL's hash (#/queues, #/queue/NAME,
// #/task/NAME/ID, #/nodes) and redrawn on every poll; a view's HTML is
// replaced only when it changed, so buttons stay put between polls.
//
// To add what the API does not offer yet: a task or queue action is one
// entry in TASK_ACTIONS or QUEUE_ACTIONS; listing tasks by state with
// server-side paging is listTasks(); a task's history is loadHistory().
'use strict';

const POLL_MS = Number(new URLSearchParams(location.search).get('poll_ms')) || 2000;
const PAGE_SIZE = 20;
const TOKEN_KEY = 'pigtail-client-token';
const STATES = ['pending', 'working', 'done', 'dead', 'cancelled'];

// ---- HTTP ----------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

// Calls the API; resolves to the parsed JSON body (or text). A 401 asks for
// the client token, unless `peer` (endpoints that may want the peer token
// instead) and a token is already set.
async function api(method, path, { peer = false } = {}) {
  const headers = {};
  const sent = token();
  if (sent) headers.Authorization = 'Bearer ' + sent;
  const response = await fetch(path, { method, headers });
  const text = await response.text();
  let body = text;
  if ((response.headers.get('Content-Type') || '').startsWith('application/json')) {
    body = text ? JSON.parse(text) : null;
  }
  // A refusal of a token replaced since the request was sent (a poll in
  // flight while one was entered) says nothing of the new one.
  if (response.status === 401 && !(peer && sent) && sent === token()) {
    askToken(sent ? 'The token was refused; enter the client token again.' : null);
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : response.statusText;
    throw new HttpError(response.status, `${method} ${path}: ${response.status} ${message}`);
  }
  return body;
}

const enc = encodeURIComponent;

// ---- what the API offers --------------------------------------------------

// Actions on one task: shown when `when(task)` holds; `run` calls the API.
const TASK_ACTIONS = [
  {
    name: 'cancel',
    label: 'Cancel',
    when: (task) => task.state === 'pending' || task.state === 'working',
    run: (queue, id) => api('POST', `/queue/${enc(queue)}/${enc(id)}/cancel`),
  },
  // retry (of a dead task) goes here once the API offers it.
];

// Actions on a queue, like TASK_ACTIONS (pause/resume and purge go here).
const QUEUE_ACTIONS = [];

// The tasks of `queue` in `state` ('' for all listed), page `page` (0-based):
// {tasks: [{id, task_name, state}], more: bool, listed: [states]}. The API
// lists pending and working tasks only, all at once: paging is done here.
async function listTasks(queue, state, page) {
  const all = await api('GET', `/queue/${enc(queue)}`);
  const tasks = Object.entries(all)
    .map(([id, t]) => ({ id, task_name: t.task_name, state: t.state }))
    .filter((t) => !state || t.state === state)
    .sort((a, b) => a.id.localeCompare(b.id));
  const start = page * PAGE_SIZE;
  return {
    tasks: tasks.slice(start, start + PAGE_SIZE),
    more: tasks.length > start + PAGE_SIZE,
    total: tasks.length,
    listed: ['pending', 'working'],
  };
}

// A task's history, or null while the API does not offer it.
async function loadHistory(/* queue, id */) {
  return null;
}

// ---- rates from successive polls ------------------------------------------

const lastStats = new Map(); // queue -> {at, stats}
const rates = new Map(); // queue -> {added, done} per second

function tasksSeen(stats) {
  return STATES.reduce((sum, s) => sum + stats[s], 0);
}

function noteStats(queue, stats) {
  const now = performance.now();
  const last = lastStats.get(queue);
  if (last && now - last.at >= 500) {
    const seconds = (now - last.at) / 1000;
    rates.set(queue, {
      added: Math.max(0, tasksSeen(stats) - tasksSeen(last.stats)) / seconds,
      done: Math.max(0, stats.done - last.stats.done) / seconds,
    });
  }
  if (!last || now - last.at >= 500) lastStats.set(queue, { at: now, stats });
}

function rateText(queue, which) {
  const r = rates.get(queue);
  return r ? r[which].toFixed(1) : '–';
}

// ---- HTML -------------------------------------------------------------------

function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function actionButtons(actions, item, args) {
  return actions
    .filter((a) => a.when(item))
    .map((a) => `<button type="button" data-action="${esc(a.name)}" ${args}>${esc(a.label)}</button>`)
    .join(' ');
}

function countsRow(stats) {
  return STATES.concat('claimable')
    .map((s) => `<td class="num" data-field="${s}">${stats[s]}</td>`)
    .join('');
}

// ---- views ------------------------------------------------------------------

const pageState = { state: '', page: 0 }; // the task list's filter and page

async function viewQueues() {
  const { queues } = await api('GET', '/queues');
  const rows = await Promise.all(queues.map(async (q) => {
    const stats = await api('GET', `/queue/${enc(q.name)}/stats`);
    noteStats(q.name, stats);
    return `<tr data-queue="${esc(q.name)}">
      <td><a href="#/queue/${esc(enc(q.name))}">${esc(q.name)}</a></td>
      ${countsRow(stats)}
      <td class="num" data-field="added_rate">${rateText(q.name, 'added')}</td>
      <td class="num" data-field="done_rate">${rateText(q.name, 'done')}</td>
      <td class="num">${q.timeout_ms}</td>
      <td class="num">${esc(q.max_attempts ?? '∞')}</td>
    </tr>`;
  }));
  return `<h1>Queues</h1>
    <table id="queues">
      <thead><tr><th>queue</th>${STATES.map((s) => `<th>${s}</th>`).join('')}<th>claimable</th>
        <th>added/s</th><th>done/s</th><th>lease ms</th><th>max attempts</th></tr></thead>
      <tbody>${rows.join('') || '<tr><td colspan="12" class="muted">no queues</td></tr>'}</tbody>
    </table>`;
}

async function viewQueue(name) {
  const [stats, list] = await Promise.all([
    api('GET', `/queue/${enc(name)}/stats`),
    listTasks(name, pageState.state, pageState.page),
  ]);
  noteStats(name, stats);
  const filters = [''].concat(list.listed).map((s) =>
    `<button type="button" data-filter="${s}" class="${s === pageState.state ? 'on' : ''}">${s || 'all listed'}</button>`
  ).join(' ');
  const rows = list.tasks.map((t) => `<tr data-task="${esc(t.id)}">
      <td><a href="#/task/${esc(enc(name))}/${esc(t.id)}"><code>${esc(t.id)}</code></a></td>
      <td>${esc(t.task_name)}</td>
      <td data-field="state"><span class="state ${esc(t.state)}">${esc(t.state)}</span></td>
      <td>${actionButtons(TASK_ACTIONS, t, `data-queue="${esc(name)}" data-id="${esc(t.id)}"`)}</td>
    </tr>`).join('');
  const unlisted = STATES.filter((s) => !list.listed.includes(s));
  return `<h1>Queue <span id="queue-name">${esc(name)}</span></h1>
    <table id="stats"><thead><tr>${STATES.map((s) => `<th>${s}</th>`).join('')}
      <th>claimable</th><th>added/s</th><th>done/s</th></tr></thead>
      <tbody><tr>${countsRow(stats)}
        <td class="num" data-field="added_rate">${rateText(name, 'added')}</td>
        <td class="num" data-field="done_rate">${rateText(name, 'done')}</td></tr></tbody></table>
    <p>${actionButtons(QUEUE_ACTIONS, stats, `data-queue="${esc(name)}"`)}</p>
    <form id="find-task"><label>Task id <input name="task" size="38"></label>
      <button type="submit">Open</button></form>
    <h2>Tasks</h2>
    <p class="filters">${filters}
      <span class="muted">(the API lists ${list.listed.join(' and ')} tasks; ${unlisted.join(', ')}
      are counted above and open by id)</span></p>
    <table id="tasks">
      <thead><tr><th>id</th><th>task name</th><th>state</th><th></th></tr></thead>
      <tbody>${rows || '<tr><td colspan="4" class="muted">no tasks</td></tr>'}</tbody>
    </table>
    <p class="pager">
      <button type="button" data-page="-1" ${pageState.page === 0 ? 'disabled' : ''}>‹ previous</button>
      page <span id="page">${pageState.page + 1}</span> of ${Math.max(1, Math.ceil(list.total / PAGE_SIZE))}
      (<span id="listed-count">${list.total}</span> tasks)
      <button type="button" data-page="1" ${list.more ? '' : 'disabled'}>next ›</button>
    </p>`;
}

async function viewTask(queue, id) {
  const [task, history] = await Promise.all([
    api('GET', `/queue/${enc(queue)}/${enc(id)}`),
    loadHistory(queue, id),
  ]);
  const fields = ['task_name', 'state', 'worker', 'lease', 'priority', 'error']
    .filter((f) => f in task)
    .map((f) => `<tr><th>${f}</th><td data-field="${f}">${
      f === 'state' ? `<span class="state ${esc(task.state)}">${esc(task.state)}</span>` : esc(task[f] ?? '–')
    }</td></tr>`).join('');
  const historyHtml = history === null
    ? '<p class="muted">This node\'s API does not offer task history yet.</p>'
    : `<ol>${history.map((h) => `<li>${esc(JSON.stringify(h))}</li>`).join('')}</ol>`;
  return `<h1>Task <code id="task-id">${esc(id)}</code></h1>
    <p>in queue <a href="#/queue/${esc(enc(queue))}">${esc(queue)}</a></p>
    <table id="task">${fields}
      <tr><th>info</th><td><pre>${esc(JSON.stringify(task.info, null, 2))}</pre></td></tr></table>
    <p>${actionButtons(TASK_ACTIONS, task, `data-queue="${esc(queue)}" data-id="${esc(id)}"`)}</p>
    <h2>History</h2>${historyHtml}`;
}

// A peer's digest as its replicator last read it (GET /replication), marked
// equal or not to this node's. Both move while entries are in flight.
function digestCell(own, peer) {
  if (!peer.digest) {
    return '<td data-field="digest" class="muted">not read yet (a Potboiler node, or no access)</td>';
  }
  const equal = peer.digest === own.total;
  const age = peer.digest_age_ms === undefined ? '' : ` (${(peer.digest_age_ms / 1000).toFixed(1)} s ago)`;
  return `<td data-field="digest" data-equal="${equal}" class="${equal ? 'equal' : 'differs'}">
    <code>${esc(peer.digest)}</code> ${equal ? '= equal' : '≠ differs'}${esc(age)}</td>`;
}

async function viewNodes() {
  const [health, digest] = await Promise.all([api('GET', '/health'), api('GET', '/digest')]);
  let replication = null;
  let replicationError = '';
  try {
    replication = await api('GET', '/replication', { peer: true });
  } catch (e) {
    replicationError = e.status === 401
      ? 'GET /replication needs the peer token (pigtaild --peer-token).'
      : e.message;
  }
  const peers = replication ? replication.peers : [];
  const rows = peers.map((p) => {
    const age = p.last_contact_age_ms < 0 ? 'never' : `${(p.last_contact_age_ms / 1000).toFixed(1)} s`;
    return `<tr data-peer="${esc(p.url)}">
      <td>${esc(p.url)}</td><td><code>${esc(p.node_id || '–')}</code></td>
      <td data-field="up" class="${p.up ? 'equal' : 'differs'}">${p.up ? 'up' : 'down'}</td>
      <td class="num" data-field="push_lag_entries">${p.push_lag_entries}</td>
      <td class="num" data-field="last_pull_missing">${p.last_pull_missing}</td>
      <td class="num">${p.pushed}</td><td class="num">${p.pulled}</td>
      <td class="num">${p.failures}</td><td>${age}</td>
      ${digestCell(digest, p)}
      <td class="error">${esc(p.last_error || '')}</td>
    </tr>`;
  }).join('');
  const queueDigests = Object.entries(digest.queues)
    .map(([q, d]) => `<tr><td>${esc(q)}</td><td><code>${esc(d)}</code></td></tr>`).join('');
  return `<h1>Nodes</h1>
    <h2>This node</h2>
    <table id="this-node">
      <tr><th>node id</th><td><code data-field="node_id">${esc(health.node_id)}</code></td></tr>
      <tr><th>status</th><td data-field="status">${esc(health.status)}</td></tr>
      <tr><th>log / state</th><td>${esc(health.log)} / ${esc(health.state)}</td></tr>
      <tr><th>events appended</th><td data-field="events_appended">${health.events_appended}</td></tr>
      <tr><th>tasks</th><td data-field="tasks">${digest.tasks}</td></tr>
      <tr><th>digest</th><td><code data-field="digest">${esc(digest.total)}</code></td></tr>
    </table>
    <details><summary>Digest per queue</summary><table id="queue-digests">${queueDigests}</table></details>
    <h2>Peers</h2>
    ${replicationError ? `<p class="error" id="replication-error">${esc(replicationError)}</p>` : ''}
    <table id="peers">
      <thead><tr><th>url</th><th>node id</th><th>up</th><th>push lag</th><th>pull missing</th>
        <th>pushed</th><th>pulled</th><th>failures</th><th>last contact</th><th>digest</th>
        <th>last error</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="11" class="muted">no peers</td></tr>'}</tbody>
    </table>`;
}

// ---- routing, polling, events -------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'queue': return { name: 'queue', queue: parts[1], render: () => viewQueue(parts[1]) };
    case 'task':
      return { name: 'task', queue: parts[1], render: () => viewTask(parts[1], parts[2]) };
    case 'nodes': return { name: 'nodes', render: viewNodes };
    default: return { name: 'queues', render: viewQueues };
  }
}

let drawing = null;
let shownHtml = '';
let actionError = ''; // the last failed action's message, until the view changes

// Draws the current view; the one in progress is reused, not doubled.
function draw() {
  if (!drawing) drawing = drawOnce().finally(() => { drawing = null; });
  return drawing;
}

async function drawOnce() {
  const r = route();
  const view = document.getElementById('view');
  const error = document.getElementById('error');
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('on', a.dataset.nav === r.name || (r.name !== 'nodes' && a.dataset.nav === 'queues'));
  }
  showTokenStatus();
  try {
    const html = (actionError ? `<p class="error" id="action-error">${esc(actionError)}</p>` : '') +
      (await r.render());
    if (shownHtml !== html) replaceView(view, html);
    error.hidden = true;
    document.body.dataset.view = r.name;
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    document.body.dataset.view = 'error';
  }
  loadNodeName();
}

// Replaces the view's HTML, keeping what was typed into its inputs.
function replaceView(view, html) {
  const typed = [...view.querySelectorAll('input[name]')].map((i) => [i.name, i.value]);
  const focused = view.contains(document.activeElement) ? document.activeElement.name : '';
  view.innerHTML = html;
  shownHtml = html;
  for (const [name, value] of typed) {
    const input = view.querySelector(`input[name="${name}"]`);
    if (input) input.value = value;
  }
  if (focused) view.querySelector(`input[name="${focused}"]`)?.focus();
}

async function loadNodeName() {
  const el = document.getElementById('node');
  if (el.textContent) return;
  try {
    const health = await api('GET', '/health');
    el.textContent = 'node ' + health.node_id;
  } catch (e) {
    // Shown again on the next draw.
  }
}

function askToken(message) {
  const form = document.getElementById('token-form');
  if (message) document.getElementById('token-message').textContent = message;
  form.hidden = false;
}

function showTokenStatus() {
  const el = document.getElementById('token-status');
  const t = token();
  el.innerHTML = t
    ? `client token <code id="token-shown">${esc(t.slice(0, 2) + '…' + t.slice(-2))}</code>
       <button type="button" id="forget-token">forget</button>`
    : '';
}

document.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.target;
  if (form.id === 'token-form') {
    sessionStorage.setItem(TOKEN_KEY, document.getElementById('token-input').value.trim());
    document.getElementById('token-input').value = '';
    form.hidden = true;
    draw();
  } else if (form.id === 'find-task') {
    const id = form.elements.task.value.trim();
    if (id) location.hash = `#/task/${enc(route().queue)}/${enc(id)}`;
  }
});

document.addEventListener('click', async (event) => {
  const button = event.target.closest('button');
  if (!button || button.type === 'submit') return;
  const d = button.dataset;
  if (button.id === 'forget-token') {
    sessionStorage.removeItem(TOKEN_KEY);
    return draw();
  }
  if (d.filter !== undefined) {
    Object.assign(pageState, { state: d.filter, page: 0 });
    return draw();
  }
  if (d.page) {
    pageState.page = Math.max(0, pageState.page + Number(d.page));
    return draw();
  }
  if (d.action) {
    const action = (d.id ? TASK_ACTIONS : QUEUE_ACTIONS).find((a) => a.name === d.action);
    button.disabled = true;
    try {
      await action.run(d.queue, d.id);
      actionError = '';
    } catch (e) {
      actionError = e.message;
    }
    await drawing;
    return draw();
  }
});

window.addEventListener('hashchange', () => {
  Object.assign(pageState, { state: '', page: 0 });
  actionError = '';
  draw();
});

document.getElementById('poll-seconds').textContent = String(POLL_MS / 1000);
draw();
setInterval(draw, POLL_MS);

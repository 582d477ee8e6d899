// Renders a run of benchmarks/peers/runner.mjs as markdown: the medians
// table with a "Pigtail ÷ best peer" row per Pigtail backend, the
// environment, and every round's figures.
//
//   node report.mjs results/latest.json     re-render a saved run on stdout

const COLUMNS = [
  { key: 'single', title: 'single/s', higherIsBetter: true },
  { key: 'bulk', title: 'bulk/s', higherIsBetter: true },
  { key: 'processed', title: 'processed/s', higherIsBetter: true },
  { key: 'p50_ms', title: 'add→started p50', higherIsBetter: false },
  { key: 'p99_ms', title: 'p99', higherIsBetter: false },
];

const isPigtail = (id) => id.startsWith('pigtail-');

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function formatValue(key, x) {
  if (x === null || x === undefined) return '–';
  if (key.endsWith('_ms')) return `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`;
  return Math.round(x).toLocaleString('en-US');
}

const ratio = (x) => (x === null ? '–' : x.toFixed(2));

// One row per system: medians over the rounds that produced each figure,
// or why none did.
export function summarize(systems, results) {
  return systems.map((s) => {
    const runs = results.filter((r) => r.id === s.id);
    const row = { id: s.id, label: s.label, version: '', rounds: runs.length, ok: 0, errors: [] };
    for (const r of runs) {
      if (r.version && !row.version) row.version = r.version;
      if (r.error) row.errors.push(r.error);
      else row.ok++;
    }
    for (const c of COLUMNS) row[c.key] = median(runs.map((r) => r[c.key]));
    return row;
  });
}

function bestPeer(rows, c) {
  let best = null;
  for (const row of rows) {
    if (isPigtail(row.id) || row[c.key] === null) continue;
    if (!best || (c.higherIsBetter ? row[c.key] > best[c.key] : row[c.key] < best[c.key])) best = row;
  }
  return best;
}

const WORK_PHASES = [
  { key: 'single', title: 'single' },
  { key: 'bulk', title: 'bulk' },
  { key: 'processed', title: 'processed' },
];
const BOUNDS = [
  { key: 'log_bound', title: 'log appends back to back' },
  { key: 'sequencer_bound', title: 'sequencer never idle' },
  { key: 'cpu_bound', title: 'every core busy' },
];

// x with `digits` decimals and thousands separators; '–' for null.
function formatFixed(x, digits = 0) {
  if (x === null) return '–';
  const fraction = { maximumFractionDigits: digits, minimumFractionDigits: digits };
  return x.toLocaleString('en-US', fraction);
}

// For each Pigtail system whose rounds reported it: what the node did in
// each throughput phase, and the rates that bound it (the "node:" and
// "bounds:" lines of pigtail-load, server/node_work.h), medians over the
// rounds. "rate ÷" is each round's rate over its bound.
function renderWork(systems, results) {
  const out = [];
  for (const s of systems.filter((x) => isPigtail(x.id))) {
    const runs = results.filter((r) => r.id === s.id && r.work);
    if (runs.length === 0) continue;
    if (out.length === 0) {
      out.push(
        "## Where Pigtail's time went",
        '',
        "From the node's GET /metrics before and after each phase (pigtail-load's `node:` and " +
          '`bounds:` lines). A bound is the rate the phase would reach if that one resource were ' +
          'the only limit, at the cost per item measured in the phase; the nearest one holds it.',
        '',
      );
    }
    out.push(`${s.label}:`, '');
    const titles = [
      'phase',
      'rate/s',
      'requests per append',
      'append µs',
      'sequencer busy',
      'CPU µs per item, node + client',
      'cores busy',
      ...BOUNDS.map((b) => `${b.title}/s (rate ÷)`),
    ];
    out.push(`| ${titles.join(' | ')} |`);
    out.push(`| --- | ${Array(titles.length - 1).fill('---:').join(' | ')} |`);
    for (const phase of WORK_PHASES) {
      const runsWith = runs.filter((r) => r.work[phase.key]);
      if (runsWith.length === 0) continue;
      const m = (field) => median(runsWith.map((r) => r.work[phase.key][field]));
      const rateOver = (field) =>
        median(runsWith.map((r) => {
          const bound = r.work[phase.key][field];
          return bound ? r[phase.key] / bound : null;
        }));
      const busy = m('busy_pct');
      const cpuNode = m('cpu_node_us');
      const cpuClient = m('cpu_client_us');
      const cells = [
        formatFixed(median(runsWith.map((r) => r[phase.key]))),
        formatFixed(m('requests_per_batch'), 2),
        formatFixed(m('append_us')),
        busy === null ? '–' : `${formatFixed(busy)}%`,
        cpuNode === null ? '–' : `${formatFixed(cpuNode, 1)} + ${formatFixed(cpuClient, 1)}`,
        formatFixed(m('cores_busy'), 2),
        ...BOUNDS.map((b) => {
          const bound = m(b.key);
          const share = rateOver(b.key);
          if (bound === null) return '–';
          return `${formatFixed(bound)} (${share === null ? '–' : share.toFixed(2)})`;
        }),
      ];
      out.push(`| ${phase.title} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out;
}

export function renderReport(run) {
  const { env, systems, results, options } = run;
  const rows = summarize(systems, results);
  const out = [];
  out.push('# Pigtail side by side with peer job queues', '');
  out.push(
    `${options.rounds} round(s), systems alternating, ${options.jobs.toLocaleString('en-US')} jobs ` +
      `per add workload, ${options.producers} producers, ${options.consumers} consumers, ` +
      `batches of ${options.batch}, ${options.latencyJobs} latency jobs; medians over the rounds. ` +
      'Every acknowledged write is durable (benchmarks/peers/README.md says how, and what each ' +
      'column measures).',
    '',
    ...(env.syncDelayUs > 0
      ? [
          `Every system's fdatasync and fsync took ${env.syncDelayUs.toLocaleString('en-US')} µs ` +
            'longer than this disk\'s (a slower disk: benchmarks/slow_sync.cc, preloaded).',
          '',
        ]
      : []),
    '```sh',
    run.command,
    '```',
    '',
  );
  out.push(`| system | version | ${COLUMNS.map((c) => c.title).join(' | ')} |`);
  out.push(`| --- | --- | ${COLUMNS.map(() => '---:').join(' | ')} |`);
  for (const row of rows) {
    if (row.ok === 0 && row.errors.length > 0 && COLUMNS.every((c) => row[c.key] === null)) {
      const cells = [row.errors[0], ...COLUMNS.slice(1).map(() => '–')];
      out.push(`| ${row.label} | ${row.version} | ${cells.join(' | ')} |`);
      continue;
    }
    const cells = COLUMNS.map((c) => formatValue(c.key, row[c.key]));
    const note = row.errors.length ? ` (${row.errors.length} of ${row.rounds} rounds: ${row.errors[0]})` : '';
    out.push(`| ${row.label}${note} | ${row.version} | ${cells.join(' | ')} |`);
  }
  const best = COLUMNS.map((c) => bestPeer(rows, c));
  for (const row of rows.filter((r) => isPigtail(r.id))) {
    const cells = COLUMNS.map((c, i) =>
      ratio(row[c.key] !== null && best[i] ? row[c.key] / best[i][c.key] : null),
    );
    out.push(`| **${row.label} ÷ best peer** | | ${cells.join(' | ')} |`);
  }
  out.push('');
  const bestOf = new Map(); // best peer's label -> its columns
  COLUMNS.forEach((c, i) => {
    const label = best[i] ? best[i].label : '–';
    bestOf.set(label, [...(bestOf.get(label) || []), c.title]);
  });
  out.push(
    'Best peer: ' +
      [...bestOf].map(([label, titles]) => `${titles.join(', ')}: ${label}`).join('; ') +
      '. For the throughput columns a ratio above 1 means Pigtail is faster; for the latency ' +
      'columns a ratio below 1 means Pigtail is faster.',
    '',
  );
  out.push(...renderWork(systems, results));
  out.push('## Environment', '');
  out.push(`* date: ${env.date}; commit ${env.commit}`);
  out.push(`* CPU: ${env.cpu}, ${env.cores} cores; kernel ${env.kernel}; Node.js ${env.node}`);
  out.push(
    `* load average (1, 5, 15 min) before: ${env.loadBefore.map((x) => x.toFixed(2)).join(', ')}; ` +
      `after: ${env.loadAfter.map((x) => x.toFixed(2)).join(', ')}`,
  );
  const fs = (f) => (f ? `p50 ${f.p50_us} µs, p90 ${f.p90_us} µs` : 'not measured');
  const over = (f) =>
    f && f.overwrite_p50_us !== undefined
      ? `p50 ${f.overwrite_p50_us} µs, p90 ${f.overwrite_p90_us} µs`
      : 'not measured';
  const delayed = env.syncDelayUs > 0 ? `, with the ${env.syncDelayUs} µs delay` : '';
  out.push(
    `* fdatasync of a 2 kB append (${env.fsyncBefore ? env.fsyncBefore.count : '?'} in a row, ` +
      `in the directory the systems write to${delayed}) before: ${fs(env.fsyncBefore)}; ` +
      `after: ${fs(env.fsyncAfter)}`,
  );
  out.push(
    '* fdatasync of a 2 kB overwrite of zero-filled blocks (as PostgreSQL and Pigtail on ' +
      `RocksDB write their logs; the append grows the file, as Redis's AOF does) before: ` +
      `${over(env.fsyncBefore)}; after: ${over(env.fsyncAfter)}`,
  );
  out.push(`* wall time of the run: ${env.minutes.toFixed(1)} min`, '');
  out.push('## Each round', '');
  out.push(`| round | system | ${COLUMNS.map((c) => c.title).join(' | ')} | note |`);
  out.push(`| ---: | --- | ${COLUMNS.map(() => '---:').join(' | ')} | --- |`);
  for (const r of results) {
    const label = (systems.find((s) => s.id === r.id) || { label: r.id }).label;
    const cells = COLUMNS.map((c) => formatValue(c.key, r[c.key]));
    out.push(`| ${r.round} | ${label} | ${cells.join(' | ')} | ${r.error || ''} |`);
  }
  out.push('');
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { readFileSync } = await import('node:fs');
  if (process.argv.length !== 3) {
    process.stderr.write('usage: node report.mjs RUN.json\n');
    process.exit(2);
  }
  process.stdout.write(renderReport(JSON.parse(readFileSync(process.argv[2], 'utf8'))));
}

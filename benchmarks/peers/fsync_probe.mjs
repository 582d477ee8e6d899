// Measures this disk's durable append: COUNT times, append 2 kB to a file in
// DIR and fdatasync it. Prints one JSON line with the median and p90 in µs.
//
//   node fsync_probe.mjs DIR [COUNT]
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dir = process.argv[2];
const count = Number(process.argv[3] || 400);
if (!dir || !(count > 0)) {
  process.stderr.write('usage: node fsync_probe.mjs DIR [COUNT]\n');
  process.exit(2);
}
const path = join(dir, `fsync-probe-${process.pid}`);
const fd = openSync(path, 'a');
const block = Buffer.alloc(2048, 'x');
const us = [];
try {
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    writeSync(fd, block);
    fdatasyncSync(fd);
    us.push((performance.now() - start) * 1000);
  }
} finally {
  closeSync(fd);
  rmSync(path, { force: true });
}
us.sort((a, b) => a - b);
const at = (p) => Math.round(us[Math.floor(p * (us.length - 1))]);
process.stdout.write(JSON.stringify({ count, p50_us: at(0.5), p90_us: at(0.9) }) + '\n');

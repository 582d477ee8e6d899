// Measures this disk's durable write, two ways, COUNT times each in DIR:
//   * append: append 2 kB to a file and fdatasync it (the file grows, so
//     the file system also commits its new size), as Redis's AOF does;
//   * overwrite: write 2 kB over blocks of a file filled with zeros and
//     synced beforehand, and fdatasync it (nothing but the data changes),
//     as PostgreSQL's WAL segments and Pigtail's RocksDB log are written.
// Prints one JSON line with the median and p90 of each in µs.
//
//   node fsync_probe.mjs DIR [COUNT]
import { closeSync, fdatasyncSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dir = process.argv[2];
const count = Number(process.argv[3] || 400);
if (!dir || !(count > 0)) {
  process.stderr.write('usage: node fsync_probe.mjs DIR [COUNT]\n');
  process.exit(2);
}
const block = Buffer.alloc(2048, 'x');

// µs of each of `count` writes of `block` at the positions `position(i)`
// gives (null: at the end), each followed by fdatasync.
function probe(fd, position) {
  const us = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    writeSync(fd, block, 0, block.length, position(i));
    fdatasyncSync(fd);
    us.push((performance.now() - start) * 1000);
  }
  us.sort((a, b) => a - b);
  const at = (p) => Math.round(us[Math.floor(p * (us.length - 1))]);
  return { p50: at(0.5), p90: at(0.9) };
}

function withFile(name, flags, body) {
  const path = join(dir, `fsync-probe-${process.pid}-${name}`);
  const fd = openSync(path, flags);
  try {
    return body(fd);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

const append = withFile('append', 'a', (fd) => probe(fd, () => null));
const overwrite = withFile('overwrite', 'w', (fd) => {
  writeSync(fd, Buffer.alloc(block.length * count));
  fsyncSync(fd);
  return probe(fd, (i) => i * block.length);
});
process.stdout.write(
  JSON.stringify({
    count,
    p50_us: append.p50,
    p90_us: append.p90,
    overwrite_p50_us: overwrite.p50,
    overwrite_p90_us: overwrite.p90,
  }) + '\n',
);

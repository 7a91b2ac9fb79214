// dgen analyze: exact answers on hand-computable inputs, agreement with an independent computation on
// generated data, FastCDC properties, the CLI.
import t from 'tap';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { analyze, Analyzer, createGenerator, FastCdc, DEFAULT_CDC } from '../lib/index.js';
import { dedupRatio, lcg, near } from './fixtures/helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'dgen-analyze-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const KiB = 1024;
const sizes = [4096, 8192, 16384, 32768, 65536, 131072];

t.test('N copies of one random 4 KiB chunk', async (t) => {
  const chunk = randomBytes(4096);
  const file = join(dir, 'copies.bin');
  await writeFile(file, Buffer.concat(Array.from({ length: 256 }, () => chunk)));
  const r = await analyze([file], { perChunk: false });
  t.equal(r.bytes, 1024 * KiB);
  for (const s of sizes) t.equal(r.dedup[String(s)], (1024 * KiB) / s, `${s}: every chunk is the same`);
  t.same(r.zeroChunks, { 4096: 0, 8192: 0, 16384: 0, 32768: 0, 65536: 0, 131072: 0, cdc: 0 });
});

t.test('all zeros', async (t) => {
  const file = join(dir, 'zeros.bin');
  await writeFile(file, Buffer.alloc(1024 * KiB));
  const r = await analyze([file]);
  for (const s of sizes) {
    t.equal(r.dedup[String(s)], (1024 * KiB) / s);
    t.equal(r.zeroChunks[String(s)], (1024 * KiB) / s, `${s}: all chunks zero`);
  }
  t.ok(r.compression['zstd-1']!.whole > 1000, 'zeros compress enormously');
});

t.test('random bytes: no dedup, no compression', async (t) => {
  const file = join(dir, 'random.bin');
  await writeFile(file, randomBytes(2048 * KiB));
  const r = await analyze([file]);
  for (const key of Object.keys(r.dedup)) t.equal(r.dedup[key], 1, `${key}: dedup 1`);
  for (const [codec, c] of Object.entries(r.compression)) {
    t.ok(c.whole <= 1.0 && c.whole > 0.99, `${codec} whole ${c.whole.toFixed(4)}`);
    t.ok(c.perChunk['4096']! <= 1.0, `${codec} per 4 KiB ${c.perChunk['4096']!.toFixed(4)}`);
  }
});

t.test('half random, half zeros', async (t) => {
  const file = join(dir, 'half.bin');
  await writeFile(file, Buffer.concat([randomBytes(1024 * KiB), Buffer.alloc(1024 * KiB)]));
  const r = await analyze([file], { perChunk: false });
  for (const s of sizes) {
    const n = (2048 * KiB) / s;
    t.equal(r.dedup[String(s)], n / (n / 2 + 1), `${s}: ${n} chunks, ${n / 2 + 1} distinct`);
    t.equal(r.zeroChunks[String(s)], n / 2);
  }
});

t.test('agrees with an independent computation on generated data, within and across inputs', async (t) => {
  const sub = join(dir, 'gen');
  await mkdir(join(sub, 'nested'), { recursive: true });
  const objs = [0, 1, 2].map((objectId) =>
    createGenerator({
      size: 3 * 1024 * KiB + 1000,
      dedupRatio: 3,
      compressRatio: 2,
      dedupUnit: 16 * KiB,
      seed: 4,
      objectId,
    }).generateSync(),
  );
  await writeFile(join(sub, 'a.bin'), objs[0]!);
  await writeFile(join(sub, 'nested', 'b.bin'), objs[1]!);
  await writeFile(join(sub, 'c.bin'), objs[2]!);
  // The same object twice: across-input dedup doubles.
  await writeFile(join(sub, 'nested', 'b-copy.bin'), objs[1]!);
  const r = await analyze([sub]);
  t.equal(r.inputs, 4);
  t.equal(r.bytes, 4 * objs[0]!.length);
  const all = [objs[0]!, objs[1]!, objs[1]!, objs[2]!];
  for (const s of sizes)
    t.ok(
      near(r.dedup[String(s)]!, dedupRatio(all, s), 1e-12),
      `${s}: ${r.dedup[String(s)]!.toFixed(4)} = independent ${dedupRatio(all, s).toFixed(4)}`,
    );
  t.ok(near(r.dedup['16384']!, 4, 0.02), 'four inputs holding three objects of K = n/3 unique units each: 4n / n');
  for (const [codec, c] of Object.entries(r.compression)) {
    t.ok(near(c.perChunk['4096']!, 2, 0.1), `${codec} per unique 4 KiB chunk: ${c.perChunk['4096']!.toFixed(3)}`);
  }
  t.equal(r.zeroChunks['4096'], 0, 'no all-zero 4 KiB chunk in generated data');
});

t.test('FastCDC: cuts do not depend on how the stream is split; CDC finds shifted duplicates', async (t) => {
  const data = randomBytes(8 * 1024 * KiB);
  const whole = new FastCdc().push(data);
  const rand = lcg(3);
  const split = new FastCdc();
  const cuts: number[] = [];
  for (let at = 0; at < data.length; ) {
    const n = Math.min(data.length - at, 1 + rand(100_000));
    for (const c of split.push(data.subarray(at, at + n))) cuts.push(at + c);
    at += n;
  }
  t.same(cuts, whole, 'same cut points');
  const lengths = whole.map((c, i) => c - (i ? whole[i - 1]! : 0));
  t.ok(
    lengths.every((l) => l >= DEFAULT_CDC.min && l <= DEFAULT_CDC.max),
    'every chunk within min..max',
  );
  const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  t.ok(mean > DEFAULT_CDC.avg * 0.8 && mean < DEFAULT_CDC.avg * 1.5, `mean chunk ${mean.toFixed(0)} B near the 8 KiB target`);
  // A copy shifted by 100 bytes: fixed chunks see nothing, CDC sees almost everything.
  const a = new Analyzer({ perChunk: false, chunkSizes: [4096] });
  for (const input of [data, Buffer.concat([randomBytes(100), data])]) {
    a.beginInput();
    await a.update(input);
    await a.endInput();
  }
  const r = a.report();
  t.ok(r.dedup['4096']! < 1.01, `fixed 4 KiB: ${r.dedup['4096']!.toFixed(3)}`);
  t.ok(r.dedup.cdc! > 1.95, `cdc: ${r.dedup.cdc!.toFixed(3)}`);
  t.throws(() => new FastCdc({ min: 100, avg: 3000, max: 9000 }), { code: 'ERR_DGEN_INVALID_OPTION' });
});

t.test('dgen analyze on the command line', async (t) => {
  const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
  const file = join(dir, 'copies.bin');
  const json = spawnSync(
    process.execPath,
    [bin, 'analyze', file, '--json', '--chunk-sizes', '4KiB,64KiB', '--cdc', '1KiB,4KiB,16KiB'],
    { encoding: 'utf8' },
  );
  t.equal(json.status, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  t.same(Object.keys(r.dedup), ['4096', '65536', 'cdc']);
  t.same(Object.keys(r.compression), ['zstd-1'], 'by default zstd-1 only (--full: every codec)');
  t.same(Object.keys(r.compression['zstd-1'].perChunk), ['4096', '65536', 'cdc']);
  t.equal(r.dedup['4096'], 256);
  t.same(r.cdc, { min: 1024, avg: 4096, max: 16384, chunks: r.cdc.chunks });
  const table = spawnSync(process.execPath, [bin, 'analyze', file], { encoding: 'utf8' });
  t.equal(table.status, 0);
  t.match(table.stdout, /dedup\s+256\.000\s+128\.000/);
  t.match(table.stdout, /zstd-1/);
  const bad = spawnSync(process.execPath, [bin, 'analyze', file, '--chunk-sizes', '4KiB,lots'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--chunk-sizes/);
  const missing = spawnSync(process.execPath, [bin, 'analyze', join(dir, 'nope')], { encoding: 'utf8' });
  t.equal(missing.status, 1);
  t.match(missing.stderr, /ENOENT/);
});

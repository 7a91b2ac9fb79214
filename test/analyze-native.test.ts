// The native analyzer (cpp/analyze.h) against the JavaScript reference (lib/analyze/reference-analyzer.ts,
// the implementation before it) on the fixtures of test/analyze.test.ts; its FastCDC against the
// TypeScript one on random splits; results that do not depend on how the input is split (across the
// 16 MiB batches too); SHA-256 fingerprints; --sample estimates whose intervals hold the full answer.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Analyzer, createGenerator, FastCdc, DEFAULT_CDC, type AnalyzeOptions, type AnalyzeReport } from '../lib/index.js';
import { ReferenceAnalyzer } from '../lib/analyze/reference-analyzer.js';
import { defaultCodecs } from '../lib/analyze/codecs.js';
import { binding } from '../lib/native.js';
import { lcg, near } from './fixtures/helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'dgen-analyze-native-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const KiB = 1024;
const MiB = 1024 * KiB;

/** Splits `data` into random pieces of 1 to `max` bytes. */
function split(data: Buffer, seed: number, max: number): Buffer[] {
  const rand = lcg(seed);
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const n = Math.min(data.length - at, 1 + rand(max));
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function run(
  a: { beginInput(): void; update(b: Buffer): Promise<void>; endInput(): Promise<void>; report(): AnalyzeReport },
  inputs: Buffer[][],
): Promise<AnalyzeReport> {
  for (const pieces of inputs) {
    a.beginInput();
    for (const p of pieces) await a.update(p);
    await a.endInput();
  }
  return a.report();
}

function generated(size: number, dedupRatio: number, compressRatio: number, objectId = 0, seed = 4): Buffer {
  return createGenerator({ size, dedupRatio, compressRatio, dedupUnit: 16 * KiB, seed, objectId }).generateSync();
}

t.test('native FastCDC cuts equal the TypeScript reference on random splits', async (t) => {
  const data = Buffer.concat([randomBytes(3 * MiB), Buffer.alloc(300 * KiB), generated(2 * MiB, 1, 4), randomBytes(12345)]);
  for (const params of [
    DEFAULT_CDC,
    { min: 64, avg: 256, max: 1024 },
    { min: 1024, avg: 4096, max: 16384 },
    { min: 4096, avg: 4096, max: 4096 },
    { min: 100, avg: 128, max: 100000 },
  ]) {
    const reference = new FastCdc(params);
    const cuts = reference.push(data);
    const pending = reference.end();
    for (const [seed, max] of [
      [1, 100],
      [2, 70_000],
      [3, 1_000_000],
    ] as const) {
      const native = binding.fastCdcCuts(params, split(data, seed, max));
      t.same(native.cuts, cuts, `${params.min}/${params.avg}/${params.max}, pieces up to ${max} B: ${cuts.length} cuts`);
      t.equal(native.pending, pending);
    }
  }
});

/** The fixtures of test/analyze.test.ts, as inputs of one analysis each. */
function fixtures(): [string, Buffer[]][] {
  const chunk = randomBytes(4096);
  const objs = [0, 1, 2].map((id) => generated(3 * MiB + 1000, 3, 2, id));
  return [
    ['copies of one 4 KiB chunk', [Buffer.concat(Array.from({ length: 256 }, () => chunk))]],
    ['zeros', [Buffer.alloc(MiB)]],
    ['random', [randomBytes(2 * MiB)]],
    ['half random, half zeros', [Buffer.concat([randomBytes(MiB), Buffer.alloc(MiB)])]],
    ['generated, four inputs holding three objects', [objs[0]!, objs[1]!, objs[1]!, objs[2]!]],
    ['empty input and a short one', [Buffer.alloc(0), randomBytes(1000)]],
  ];
}

/** Input bytes / compressed bytes of a command-line compressor over each input on its own. */
async function cliRatio(command: string[], inputs: Buffer[]): Promise<number> {
  let bytes = 0;
  let compressed = 0;
  for (const [i, input] of inputs.entries()) {
    const file = join(dir, `input-${i}.bin`);
    await writeFile(file, input);
    const r = spawnSync(command[0]!, [...command.slice(1), '-c', file], { maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${command.join(' ')} failed: ${r.stderr}`);
    bytes += input.length;
    compressed += r.stdout.length;
  }
  return bytes / compressed;
}

const CLIS: Record<string, string[]> = {
  'zstd-1': ['zstd', '-1', '-q'],
  'zstd-3': ['zstd', '-3', '-q'],
  'gzip-6': ['gzip', '-6'],
  lz4: ['lz4', '-1', '-q'],
};

t.test('native results (full) equal the JavaScript reference on the fixtures; whole streams agree with the CLIs', async (t) => {
  const options: AnalyzeOptions = { chunkSizes: [4096, 16384, 131072, 1000] };
  for (const [name, inputs] of fixtures()) {
    const reference = await run(
      new ReferenceAnalyzer(options),
      inputs.map((b) => [b]),
    );
    const native = await run(
      new Analyzer({ ...options, full: true }),
      inputs.map((b, i) => split(b, i + 1, 300_000)),
    );
    t.equal(native.bytes, reference.bytes, `${name}: bytes`);
    t.equal(native.inputs, reference.inputs, `${name}: inputs`);
    t.same(native.dedup, reference.dedup, `${name}: dedup ${JSON.stringify(native.dedup)}`);
    t.same(native.uniqueBytes, reference.uniqueBytes, `${name}: unique bytes`);
    t.same(native.zeroChunks, reference.zeroChunks, `${name}: zero chunks`);
    t.same(native.cdc, reference.cdc, `${name}: cdc chunks`);
    if (native.bytes < 64 * KiB) continue; // compression of a few bytes is all frame overhead
    // Where a codec shrinks data over 20x, the ratio is frame and block overhead; both must see that much.
    const compare = (what: string, actual: number, expected: number, tolerance: number) => {
      if (expected > 20) t.ok(actual > 20, `${name}: ${what} ${actual.toFixed(1)} vs ${expected.toFixed(1)}, both over 20`);
      else t.ok(near(actual, expected, tolerance), `${name}: ${what} ${actual.toFixed(4)} vs ${expected.toFixed(4)}`);
    };
    for (const [codec, c] of Object.entries(reference.compression)) {
      const n = native.compression[codec]!;
      // Per chunk: zstd is the same library at the same level; lz4: liblz4 vs lz4_flex; gzip-6: libdeflate
      // vs zlib. Whole streams: 4 MiB segments with history (lz4: independent 4 MiB frames) vs the CLI.
      const tolerance = codec.startsWith('zstd') ? 0.01 : codec === 'lz4' ? 0.03 : 0.05;
      for (const key of Object.keys(c.perChunk)) compare(`${codec} per ${key}`, n.perChunk[key]!, c.perChunk[key]!, tolerance);
      compare(`${codec} whole (${CLIS[codec]!.join(' ')})`, n.whole, await cliRatio(CLIS[codec]!, inputs), 0.03);
    }
  }
});

t.test('native results do not depend on how the input is split, within and across batches', async (t) => {
  const data = Buffer.concat([generated(20 * MiB, 2, 3, 0, 9), randomBytes(777), generated(15 * MiB, 2, 3, 1, 9)]);
  const options: AnalyzeOptions = { chunkSizes: [4096, 1000, 131072], perChunk: false };
  const whole = await run(new Analyzer(options), [[data]]);
  for (const [seed, max] of [
    [5, 3 * MiB],
    [6, 20 * MiB],
    [7, 200 * KiB],
  ] as const) {
    t.same(await run(new Analyzer(options), [split(data, seed, max)]), whole, `pieces up to ${max} B`);
  }
  const small = data.subarray(0, 6 * MiB + 5);
  const perChunk = await run(new Analyzer({ chunkSizes: [4096, 65536], full: true }), [[small]]);
  t.same(
    await run(new Analyzer({ chunkSizes: [4096, 65536], full: true }), [split(small, 8, 50_000)]),
    perChunk,
    'with per-chunk compression',
  );
  // Sampled to the budget (20 MiB of distinct 4 KiB chunks): the same sample whatever the order of arrival.
  const budgeted = await run(new Analyzer({ chunkSizes: [4096] }), [[data]]);
  t.ok(budgeted.sample!.perChunkRate!['4096']! < 1, 'per chunk sampled');
  t.same(await run(new Analyzer({ chunkSizes: [4096] }), [split(data, 9, 2 * MiB)]), budgeted, 'per-chunk sample on a budget');
});

t.test('updateFrom (reads straight into the batch buffers) gives what update() gives, short reads included', async (t) => {
  const data = Buffer.concat([generated(20 * MiB, 2, 3, 0, 11), randomBytes(333), generated(14 * MiB, 2, 3, 1, 11)]);
  const second = generated(3 * MiB + 17, 2, 2, 2, 11);
  /** A reader over `bytes` that returns at most `max` bytes per call (random counts: short reads). */
  const reader = (bytes: Buffer, seed: number, max: number) => {
    const rand = lcg(seed);
    let at = 0;
    return async (buffer: Buffer, offset: number, length: number) => {
      const n = Math.min(length, bytes.length - at, 1 + rand(max));
      bytes.copy(buffer, offset, at, at + n);
      at += n;
      return n;
    };
  };
  for (const options of [{}, { chunkSizes: [4096, 1000], perChunk: false }, { codecs: defaultCodecs() }] as AnalyzeOptions[]) {
    const name = JSON.stringify(options).slice(0, 40);
    // The reference analyzer is slow: a shorter input for it.
    const first = options.codecs ? data.subarray(0, 3 * MiB + 5) : data;
    const expected = await run(new Analyzer(options), [[first], [second]]);
    const a = new Analyzer(options);
    let reads = 0;
    a.beginInput();
    // Bytes appended with update() come first, then the reads.
    await a.update(first.subarray(0, 1000));
    await a.updateFrom(reader(first.subarray(1000), 3, 5 * MiB), () => reads++);
    await a.endInput();
    a.beginInput();
    await a.updateFrom(reader(second, 4, 100 * KiB));
    await a.endInput();
    t.same(a.report(), expected, `${name}: the same report`);
    t.equal(a.bytes, first.length + second.length, `${name}: bytes counted`);
    t.ok(reads > 2, `${name}: onRead called per read`);
  }
  const a = new Analyzer({ perChunk: false });
  a.beginInput();
  await t.rejects(
    a.updateFrom(async () => {
      throw new Error('read failed');
    }),
    { message: 'read failed' },
    'a read error reaches the caller',
  );
});

t.test('SHA-256 fingerprints: the same dedup, twice the index', async (t) => {
  const inputs = [generated(4 * MiB, 3, 2, 0), generated(4 * MiB, 3, 2, 1)];
  const xxh = await run(
    new Analyzer({ perChunk: false }),
    inputs.map((b) => [b]),
  );
  const sha = await run(
    new Analyzer({ perChunk: false, hash: 'sha256' }),
    inputs.map((b) => [b]),
  );
  t.same(sha.dedup, xxh.dedup);
  t.equal(xxh.index!.hash, 'xxh3-128');
  t.equal(sha.index!.hash, 'sha-256');
  t.ok(sha.index!.bytes > xxh.index!.bytes * 1.9, `index ${sha.index!.bytes} B vs ${xxh.index!.bytes} B`);
  t.throws(() => new Analyzer({ hash: 'md5' as 'xxh3' }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'hash' });
  t.throws(() => new Analyzer({ sample: 0 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'sample' });
  t.throws(() => new Analyzer({ sample: 1.5 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'sample' });
  t.throws(() => new Analyzer({ sample: 0.1, codecs: defaultCodecs() }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'codecs',
  });
});

t.test('--sample: the intervals hold the full answer on data of known ratios', async (t) => {
  // Each interval is a 95 % one: about 1 in 20 may miss. The data and the sampling are deterministic,
  // so the outcome is too; asserted: at least 85 % of the intervals hold the full answer (a wrong
  // variance fails this), and no estimate is off by both more than 2 % (issue 13's bar) and more than
  // twice its interval's half-width (a biased estimator fails this).
  let checks = 0;
  let held = 0;
  for (const [d, c] of [
    [2, 2],
    [4, 3],
  ] as const) {
    const data = generated(64 * MiB, d, c, 0, 11);
    const options: AnalyzeOptions = { chunkSizes: [4096, 16384], full: true };
    const full = await run(new Analyzer(options), [[data]]);
    t.ok(near(full.dedup['16384']!, d, 0.02), `d = ${d}: full dedup at the 16 KiB unit ${full.dedup['16384']!.toFixed(3)}`);
    for (const rate of [0.05, 0.2, 0.5]) {
      const s = await run(new Analyzer({ ...options, sample: rate }), [[data]]);
      t.equal(s.sample!.rate, rate);
      t.same(s.zeroChunks, full.zeroChunks, 'zero chunks stay exact');
      const check = (what: string, estimate: number, interval: [number, number] | null, truth: number) => {
        const label = `d = ${d}, rate ${rate}, ${what}: ${estimate.toFixed(4)} [${interval?.[0].toFixed(4)}, ${interval?.[1].toFixed(4)}], full ${truth.toFixed(4)}`;
        if (!t.ok(interval, label)) return;
        const [low, high] = interval!;
        checks++;
        if (low <= truth && truth <= high) held++;
        t.ok(
          near(estimate, truth, 0.02) || Math.abs(truth - estimate) <= 2 * Math.max(high - estimate, estimate - low),
          `${label}: within 2 % or two half-widths`,
        );
      };
      for (const key of ['4096', '16384', 'cdc']) {
        check(`dedup ${key}`, s.dedup[key]!, s.sample!.dedup[key]!, full.dedup[key]!);
        for (const codec of ['zstd-1', 'gzip-6', 'lz4']) {
          check(
            `${codec} per ${key}`,
            s.compression[codec]!.perChunk[key]!,
            s.sample!.compression[codec]!.perChunk[key]!,
            full.compression[codec]!.perChunk[key]!,
          );
        }
      }
      // 16 segments of 4 MiB: whole-stream intervals need a few of them.
      if (rate >= 0.2)
        for (const codec of ['zstd-1', 'zstd-3'])
          check(
            `${codec} whole`,
            s.compression[codec]!.whole,
            s.sample!.compression[codec]!.whole,
            full.compression[codec]!.whole,
          );
    }
  }
  t.ok(held >= 0.85 * checks, `${held} of ${checks} intervals hold the full answer`);
});

t.test(
  '--sample on an input too small for any 4 MiB segment in the sample: the whole-stream ratio is unknown, not 1',
  async (t) => {
    // One 2 MiB input of c = 2 at 1 %: its one segment is in the sample only if its hash falls under 1 %.
    const r = await run(new Analyzer({ sample: 0.01, full: true }), [[generated(2 * MiB, 1, 2, 7)]]);
    for (const [codec, c] of Object.entries(r.compression)) {
      t.ok(Number.isNaN(c.whole) || c.whole > 1.5, `${codec} whole ${c.whole}: NaN (not estimated) or near the data's 2`);
      if (Number.isNaN(c.whole)) t.equal(JSON.parse(JSON.stringify(c)).whole, null, `${codec}: JSON null`);
      for (const [key, v] of Object.entries(c.perChunk)) t.ok(Number.isNaN(v) || v > 1.5, `${codec} per ${key}: ${v}`);
    }
  },
);

// The default measurements of the native analyzer (lib/analyze/options.ts): equal to the JavaScript
// reference where both measure the same thing; per-chunk compression on its budget, whose intervals hold
// the full answer; perChunk false (hashing only); unknown option keys and mistyped options.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, Analyzer, createGenerator, type AnalyzeOptions, type AnalyzeReport } from '../lib/index.js';
import { ReferenceAnalyzer } from '../lib/analyze/reference-analyzer.js';
import { PER_CHUNK_BUDGET } from '../lib/analyze/analyzer.js';
import { defaultCodecs } from '../lib/analyze/codecs.js';
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

t.test('default measurements equal the reference where both measure: dedup exactly, zstd-1 whole and per chunk', async (t) => {
  // The fixtures' distinct chunks fit the per-chunk budget: every one is compressed, so per chunk is exact too.
  const options: AnalyzeOptions = { chunkSizes: [4096, 16384, 131072, 1000] };
  for (const [name, inputs] of fixtures()) {
    const reference = await run(
      new ReferenceAnalyzer(options),
      inputs.map((b) => [b]),
    );
    const native = await run(
      new Analyzer(options),
      inputs.map((b, i) => split(b, i + 1, 300_000)),
    );
    t.same(native.dedup, reference.dedup, `${name}: dedup`);
    t.same(native.uniqueBytes, reference.uniqueBytes, `${name}: unique bytes`);
    t.same(native.zeroChunks, reference.zeroChunks, `${name}: zero chunks`);
    t.same(native.cdc, reference.cdc, `${name}: cdc chunks`);
    t.same(Object.keys(native.compression), ['zstd-1'], `${name}: zstd-1 only`);
    // Only chunkings whose distinct chunks exceed the budget are sampled; their dedup stays exact.
    for (const [key, rate] of Object.entries(native.sample?.perChunkRate ?? {})) {
      t.ok(
        rate === 1 || native.uniqueBytes[key]! > PER_CHUNK_BUDGET,
        `${name}: ${key} per-chunk rate ${rate}, ${native.uniqueBytes[key]} distinct bytes`,
      );
    }
    if (native.bytes < 64 * KiB) continue;
    const n = native.compression['zstd-1']!,
      c = reference.compression['zstd-1']!;
    for (const key of Object.keys(c.perChunk)) {
      const [a, e] = [n.perChunk[key]!, c.perChunk[key]!];
      t.ok(e > 20 ? a > 20 : near(a, e, 0.01), `${name}: zstd-1 per ${key} ${a.toFixed(4)} vs ${e.toFixed(4)}`);
    }
    t.ok(
      c.whole > 20 ? n.whole > 20 : near(n.whole, c.whole, 0.03),
      `${name}: zstd-1 whole ${n.whole.toFixed(4)} vs ${c.whole.toFixed(4)}`,
    );
  }
});

t.test('perChunk false: hashing only (no compression); with full, whole streams by every codec', async (t) => {
  const inputs = [[generated(5 * MiB, 2, 3, 0)]];
  const options: AnalyzeOptions = { chunkSizes: [4096, 65536] };
  const hashing = await run(new Analyzer({ ...options, perChunk: false }), inputs);
  const full = await run(new Analyzer({ ...options, full: true }), inputs);
  t.same(hashing.compression, {}, 'no compression measured');
  t.notOk(hashing.sample);
  t.same(hashing.dedup, full.dedup, 'the same dedup');
  const wholeOnly = await run(new Analyzer({ ...options, perChunk: false, full: true }), inputs);
  t.same(Object.keys(wholeOnly.compression), ['zstd-1', 'zstd-3', 'gzip-6', 'lz4']);
  for (const [codec, c] of Object.entries(wholeOnly.compression)) {
    t.equal(c.whole, full.compression[codec]!.whole, `${codec}: the same whole-stream ratio as full`);
    t.same(c.perChunk, {}, `${codec}: no per-chunk ratios`);
  }
});

t.test('unknown option keys and mistyped options are rejected before anything is read', async (t) => {
  t.throws(() => new Analyzer({ chunksize: [4096] } as AnalyzeOptions), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'chunksize',
    message: /did you mean chunkSizes\?/,
  });
  t.throws(() => new Analyzer({ perChunk: 'no' } as unknown as AnalyzeOptions), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'perChunk',
  });
  t.throws(() => new Analyzer({ full: 1 } as unknown as AnalyzeOptions), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'full',
  });
  t.throws(() => new Analyzer({ sample: '1%' } as unknown as AnalyzeOptions), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'sample',
  });
  t.throws(() => new Analyzer({ chunkSizes: [4096, 1.5] }), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'chunkSizes',
  });
  t.throws(() => new Analyzer({ chunkSizes: 4096 } as unknown as AnalyzeOptions), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'chunkSizes',
  });
  t.throws(() => new Analyzer({ full: true, codecs: defaultCodecs() }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'codecs' });
  const file = join(dir, 'keys.bin');
  await writeFile(file, randomBytes(1000));
  await t.rejects(analyze([file], { perchunk: false } as AnalyzeOptions), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'perchunk',
    message: /analyze options .*did you mean perChunk\?/,
  });
  await t.rejects(analyze([file], { onProgress: 5 } as unknown as AnalyzeOptions), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'onProgress',
  });
  // Connection and listing options are analyze()'s too.
  t.equal((await analyze([file], { skipDgenFiles: true, region: 'us-east-1', perChunk: false })).bytes, 1000);
});

t.test('per-chunk compression on a budget: the intervals hold the full answer; rates are powers of 1/2', async (t) => {
  // Distinct bytes beyond PER_CHUNK_BUDGET (4 MiB) per chunking: the per-chunk ratio is estimated from a
  // sample by fingerprint. The full answer is every distinct chunk compressed (full). Deterministic data
  // and sampling; asserted as in the --sample test below.
  let checks = 0;
  let held = 0;
  for (const [d, c, size] of [
    [2, 2, 16 * MiB],
    [3, 4, 24 * MiB],
  ] as const) {
    const data = generated(size, d, c, 0, 12);
    const options: AnalyzeOptions = { chunkSizes: [4096, 16384] };
    const full = await run(new Analyzer({ ...options, full: true }), [[data]]);
    for (const extra of [{}, { sample: 0.5 }] as AnalyzeOptions[]) {
      const s = await run(new Analyzer({ ...options, ...extra }), [split(data, 3, 5 * MiB)]);
      const label = `d = ${d}, c = ${c}, ${size / MiB} MiB${extra.sample ? ', sample 0.5' : ''}`;
      if (!extra.sample) {
        t.same(s.dedup, full.dedup, `${label}: dedup exact`);
        t.same(
          s.sample!.dedup['4096'],
          [full.dedup['4096'], full.dedup['4096']],
          `${label}: an exact ratio's interval is [v, v]`,
        );
        t.equal(s.compression['zstd-1']!.whole, full.compression['zstd-1']!.whole, `${label}: zstd-1 whole exact`);
      }
      for (const key of ['4096', '16384', 'cdc']) {
        const rate = s.sample!.perChunkRate![key]!;
        t.ok(rate < 1 && Number.isInteger(Math.log2(rate)), `${label}, ${key}: per-chunk rate ${rate}`);
        const estimate = s.compression['zstd-1']!.perChunk[key]!;
        const truth = full.compression['zstd-1']!.perChunk[key]!;
        const interval = s.sample!.compression['zstd-1']!.perChunk[key]!;
        if (!t.ok(interval, `${label}, ${key}: an interval`)) continue;
        const [low, high] = interval!;
        checks++;
        if (low <= truth && truth <= high) held++;
        t.ok(
          near(estimate, truth, 0.02),
          `${label}, ${key}: ${estimate.toFixed(4)} [${low.toFixed(4)}, ${high.toFixed(4)}], full ${truth.toFixed(4)}, within 2 %`,
        );
      }
    }
  }
  t.ok(held >= 0.85 * checks, `${held} of ${checks} intervals hold the full answer`);
});

// The accuracy matrix: requested vs measured dedup and compression, for our generator and (where the
// fio command is installed) fio's data at the same settings, both measured by the same Analyzer as
// `dgen analyze`. Writes the table into README.md between the accuracy markers.
//
//   npm run accuracy            (about 10 minutes on 2 cores; -- --quick for a 3 x 3 subset)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, Analyzer, createGenerator, DataSource, type AnalyzeReport } from '../lib/index.js';

const quick = process.argv.includes('--quick');
const DEDUP = quick ? [1, 2, 10] : [1, 1.5, 2, 3, 5, 10];
const COMPRESS = quick ? [1, 3, 10] : [1, 1.5, 2, 3, 5, 10];
const UNITS = [4096, 65536];
const MiB = 1024 * 1024;
const hasFio = spawnSync('sh', ['-c', 'command -v fio']).status === 0;

/** Object size: a period (size / d) of 16 MiB at least, so compressor windows (<= 2 MiB) rarely hold two
 * copies of a unit, and at least 32 MiB. */
function objectSize(d: number): number {
  return Math.max(32 * MiB, Math.ceil((16 * MiB * d) / MiB) * MiB);
}

function options(unit: number) {
  return { chunkSizes: unit === 4096 ? [4096] : [4096, 16384, 65536], cdc: false as const };
}

async function measureOurs(d: number, c: number, unit: number): Promise<{ report: AnalyzeReport; realized: number }> {
  const size = objectSize(d);
  const g = createGenerator({ size, dedupRatio: d, compressRatio: c, dedupUnit: unit, seed: 2026 });
  const analyzer = new Analyzer(options(unit));
  analyzer.beginInput();
  for await (const chunk of new DataSource({ size, dedupRatio: d, compressRatio: c, dedupUnit: unit, seed: 2026 })) await analyzer.update(chunk as Buffer);
  await analyzer.endInput();
  return { report: analyzer.report(), realized: g.realizedDedupRatio };
}

async function measureFio(d: number, c: number, unit: number, dir: string): Promise<AnalyzeReport> {
  const file = join(dir, 'fio.bin');
  execFileSync('fio', [
    '--name=dgen-accuracy',
    `--filename=${file}`,
    '--rw=write',
    `--bs=${unit}`,
    `--size=${objectSize(d)}`,
    '--ioengine=psync',
    '--refill_buffers',
    `--dedupe_percentage=${Math.round(100 * (1 - 1 / d))}`,
    `--buffer_compress_percentage=${Math.round(100 * (1 - 1 / c))}`,
    '--minimal',
  ]);
  const report = await analyze([file], options(unit));
  await rm(file, { force: true });
  return report;
}

const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
const err = (measured: number, wanted: number) => Math.abs(measured - wanted) / wanted;

const dir = await mkdtemp(join(tmpdir(), 'dgen-accuracy-'));
const lines: string[] = [];
const worst = { ours: { dedup: 0, whole: 0, perChunk: 0 }, fio: { dedup: 0, whole: 0, perChunk: 0 } };
const codecs = ['zstd-1', 'zstd-3', 'gzip-6', 'lz4'];
lines.push(
  `| d | c | U | realized d | dedup at 4 KiB | dedup at U | ${codecs.map((k) => `${k} whole`).join(' | ')} | ${codecs.map((k) => `${k} per 4 KiB`).join(' | ')} | zero 4 KiB chunks |`,
  `| ${Array(7 + 2 * codecs.length).fill('---').join(' | ')} |`,
);
try {
  for (const unit of UNITS) {
    for (const d of DEDUP) {
      for (const c of COMPRESS) {
        const ours = await measureOurs(d, c, unit);
        const fio = hasFio ? await measureFio(d, c, unit, dir) : undefined;
        const pair = (a: number | undefined, b: number | undefined) => (fio ? `${f(a)} / ${f(b)}` : f(a));
        const key = String(unit);
        const fioRealized = 1 / (1 - Math.round(100 * (1 - 1 / d)) / 100);
        for (const [who, r, realized] of [['ours', ours.report, ours.realized], ['fio', fio, fioRealized]] as const) {
          if (!r) continue;
          const w = worst[who];
          w.dedup = Math.max(w.dedup, err(r.dedup['4096']!, realized), err(r.dedup[key]!, realized));
          if (c <= 10) for (const k of codecs) w.whole = Math.max(w.whole, err(r.compression[k]!.whole, c));
          for (const k of codecs) w.perChunk = Math.max(w.perChunk, err(r.compression[k]!.perChunk['4096']!, c));
        }
        lines.push(
          `| ${d} | ${c} | ${unit / 1024} KiB | ${f(ours.realized)} | ${pair(ours.report.dedup['4096'], fio?.dedup['4096'])} | ${pair(ours.report.dedup[key], fio?.dedup[key])} | ` +
            codecs.map((k) => pair(ours.report.compression[k]!.whole, fio?.compression[k]!.whole)).join(' | ') +
            ' | ' +
            codecs.map((k) => pair(ours.report.compression[k]!.perChunk['4096'], fio?.compression[k]!.perChunk['4096'])).join(' | ') +
            ` | ${fio ? `${ours.report.zeroChunks['4096']} / ${fio.zeroChunks['4096']}` : ours.report.zeroChunks['4096']} |`,
        );
        process.stderr.write(`${lines.at(-1)}\n`);
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const summary = [
  `Worst relative error over the matrix${hasFio ? ' (ours / fio)' : ''}: fixed-chunk dedup at 4 KiB and at U vs the realized ratio ` +
    `${pct(worst.ours.dedup)}${hasFio ? ` / ${pct(worst.fio.dedup)}` : ''}; whole-stream compression vs c ${pct(worst.ours.whole)}` +
    `${hasFio ? ` / ${pct(worst.fio.whole)}` : ''}; per unique 4 KiB chunk vs c ${pct(worst.ours.perChunk)}${hasFio ? ` / ${pct(worst.fio.perChunk)}` : ''}.`,
];
const section = [
  '<!-- accuracy:start (generated by `npm run accuracy`; do not edit by hand) -->',
  `Generated ${new Date().toISOString().slice(0, 10)} on Node ${process.version}${hasFio ? `, side by side with ${execFileSync('fio', ['--version']).toString().trim()} (cells: ours / fio; fio's realized dedup is 1 / (1 - dedupe_percentage / 100))` : ''}.`,
  `Objects of max(32 MiB, 16 MiB x d); per-chunk figures compress each unique chunk alone after dedup (gzip-6 as raw deflate, lz4 as a block).`,
  '',
  ...summary,
  '',
  ...lines,
  '<!-- accuracy:end -->',
].join('\n');
const readme = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'README.md');
const text = await readFile(readme, 'utf8');
const start = text.indexOf('<!-- accuracy:start');
const end = text.indexOf('<!-- accuracy:end -->');
if (quick) process.stdout.write(section + '\n');
else if (start >= 0 && end > start) {
  await writeFile(readme, text.slice(0, start) + section + text.slice(end + '<!-- accuracy:end -->'.length));
  process.stderr.write('README.md updated\n');
} else process.stdout.write(section + '\n');

// A unet3d-like NPZ data set (DLIO's unet3d: 1 sample of 146,600,628 bytes per file) written to a
// directory by putFormatObjects (what `dgen put --format npz` runs), against a raw putObjects (what
// `dgen put` runs) of the same number of files of the same size, interleaved in the same run (raw, npz,
// raw, npz, ...), each in a fresh child process for its peak RSS; outputs deleted after each child.
// Both are native to a directory: raw objects through put-local.ts, NPZ files through
// lib/formats/put-local-format.ts (headers as literal segments, the array generated and CRC'd by the pool).
//   node --import tsx benchmarks/formats.ts                       (10 GiB per case, 3 rounds)
//   npm run bench -- --only formats                          (the same, from benchmarks/run.ts)
//   DGEN_BENCH_FORMATS_GIB=2 DGEN_BENCH_FORMATS_ROUNDS=3 node --import tsx benchmarks/formats.ts
// DGEN_BENCH_FORMATS_DIR picks the parent directory of the outputs (default: the OS temp directory).
// Each output is then read back by `verifyObjects` (what `dgen verify` runs) in a fresh child before it is
// deleted: raw objects on the pool (lib/local-verifier.ts), NPZ files on the pool against their segments
// (literal bytes compared, the array regenerated and compared, the ZIP CRC-32 fields checked): format
// verify against raw verify of the same number of bytes, in the same rounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORD = 146_600_628;
const GiB = 1024 ** 3;

interface Row {
  bytes: number;
  seconds: number;
  maxRssMiB: number;
}

async function child(mode: string, dir: string, count: number): Promise<void> {
  const { putFormatObjects, putObjects, createNpzFile, verifyObjects } = await import('../lib/index.js');
  if (mode === 'verify') {
    const t0 = performance.now();
    const report = await verifyObjects({ target: dir });
    const seconds = (performance.now() - t0) / 1000;
    if (report.ok !== report.objects || report.objects !== count) throw new Error(`verify: ${report.ok} of ${report.objects} ok`);
    process.stdout.write(JSON.stringify({ bytes: report.bytes, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
    return;
  }
  const formatOptions = { samples: 1, recordLength: RECORD };
  const size = createNpzFile({ ...formatOptions, seed: 1 }).size;
  const t0 = performance.now();
  if (mode === 'npz')
    await putFormatObjects(dir, { format: 'npz', count, seed: 1, compressRatio: 2, formatOptions, concurrency: 4 });
  else await putObjects({ target: dir, count, size, seed: 1, compressRatio: 2, concurrency: 4 });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ bytes: size * count, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

const range = (xs: number[], digits: number) => {
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo}-${hi}`;
};

/** The benchmark (also `npm run bench -- --only formats`); prints a Markdown table on stdout. */
export async function benchFormats(): Promise<void> {
  const total = Number(process.env.DGEN_BENCH_FORMATS_GIB ?? 10) * GiB;
  const rounds = Number(process.env.DGEN_BENCH_FORMATS_ROUNDS ?? 3);
  const parent = process.env.DGEN_BENCH_FORMATS_DIR ?? tmpdir();
  const count = Math.max(1, Math.round(total / RECORD));
  const rows: Record<'raw' | 'npz' | 'verifyRaw' | 'verifyNpz', Row[]> = { raw: [], npz: [], verifyRaw: [], verifyNpz: [] };
  const run = (args: string[]): Row => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', ...args], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`${args[0]} child failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Row;
  };
  const loads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['raw', 'npz'] as const) {
      const dir = mkdtempSync(join(parent, `dgen-bench-${mode}-`));
      try {
        rows[mode].push(run([mode, dir, String(count)]));
        loads.push(loadavg()[0]!);
        console.error(`round ${round + 1} ${mode}: ${JSON.stringify(rows[mode].at(-1))}`);
        const verify = mode === 'raw' ? 'verifyRaw' : 'verifyNpz';
        rows[verify].push(run(['verify', dir, String(count)]));
        loads.push(loadavg()[0]!);
        console.error(`round ${round + 1} verify ${mode}: ${JSON.stringify(rows[verify].at(-1))}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const gbs = (r: Row) => r.bytes / r.seconds / 1e9;
  const ratios = rows.npz.map((n, i) => gbs(n) / gbs(rows.raw[i]!));
  console.log(
    `| ${count} files of ${(rows.raw[0]!.bytes / count / 2 ** 20).toFixed(1)} MiB (${(rows.raw[0]!.bytes / GiB).toFixed(1)} GiB), compress 2, concurrency 4 | GB/s | seconds | peak RSS MiB |`,
  );
  console.log('|---|---|---|---|');
  for (const [mode, label] of [
    ['raw', 'raw `dgen put` (putObjects)'],
    ['npz', 'NPZ, `--format npz` (putFormatObjects)'],
    ['verifyRaw', 'raw `dgen verify` of the raw put (verifyObjects)'],
    ['verifyNpz', 'NPZ `dgen verify` of the NPZ put (verifyObjects, against segments)'],
  ] as const) {
    const rs = rows[mode];
    console.log(
      `| ${label} | ${range(rs.map(gbs), 2)} | ${range(
        rs.map((r) => r.seconds),
        1,
      )} | ${range(
        rs.map((r) => r.maxRssMiB),
        0,
      )} |`,
    );
  }
  const verifyRatios = rows.verifyNpz.map((n, i) => gbs(n) / gbs(rows.verifyRaw[i]!));
  console.log(`\nNPZ verify / raw verify throughput per round: ${verifyRatios.map((r) => r.toFixed(2)).join(', ')}`);
  console.log(
    `\nNPZ / raw throughput per round: ${ratios.map((r) => r.toFixed(2)).join(', ')} (${rounds} interleaved rounds; 1-min load average ${range(loads, 1)}, ${cpus().length} cores)`,
  );
}

if (process.argv[2] === 'child') await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
else if (process.argv[1] === fileURLToPath(import.meta.url)) await benchFormats();

// A unet3d-like NPZ data set (DLIO's unet3d: 1 sample of 146,600,628 bytes per file) written to a
// directory by putFormatObjects, against a raw `putObjects` of the same number of files of the same size
// in the same run; each in a fresh child process for its peak RSS.
//   node --import tsx benchmarks/formats.ts            (10 GiB each)
//   DGEN_BENCH_FORMATS_GIB=2 node --import tsx benchmarks/formats.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORD = 146_600_628;
const GiB = 1024 ** 3;

async function child(mode: string, dir: string, count: number): Promise<void> {
  const { putFormatObjects, putObjects, createNpzFile } = await import('../lib/index.js');
  const formatOptions = { samples: 1, recordLength: RECORD };
  const size = createNpzFile({ ...formatOptions, seed: 1 }).size;
  const t0 = performance.now();
  if (mode === 'npz') await putFormatObjects(dir, { format: 'npz', count, seed: 1, compressRatio: 2, formatOptions, concurrency: 4 });
  else await putObjects({ target: dir, count, size, seed: 1, compressRatio: 2 });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ bytes: size * count, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

async function main(): Promise<void> {
  const total = Number(process.env.DGEN_BENCH_FORMATS_GIB ?? 10) * GiB;
  const count = Math.max(1, Math.round(total / RECORD));
  const rows: Record<string, { bytes: number; seconds: number; maxRssMiB: number }> = {};
  for (const mode of ['raw', 'npz']) {
    const dir = mkdtempSync(join(tmpdir(), `dgen-bench-${mode}-`));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', mode, dir, String(count)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
      rows[mode] = JSON.parse(r.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`| data set (${count} files of ~${(RECORD / 2 ** 20).toFixed(1)} MiB, c=2) | GB/s | seconds | peak RSS MiB |`);
  console.log('|---|---|---|---|');
  for (const [mode, r] of Object.entries(rows)) {
    console.log(`| ${mode === 'raw' ? 'raw dgen put (putObjects)' : 'NPZ (putFormatObjects, concurrency 4)'} | ${(r.bytes / r.seconds / 1e9).toFixed(2)} | ${r.seconds.toFixed(1)} | ${r.maxRssMiB.toFixed(0)} |`);
  }
  console.log(`NPZ / raw throughput: ${(rows.raw!.seconds / rows.npz!.seconds).toFixed(2)}x`);
}

if (process.argv[2] === 'child') await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
else await main();

// Bulk put of a data set many times larger than the run's buffer bound, to a local directory and to
// s3rver, at concurrency 1, 4 and 16: throughput, peak RSS above the start, and the ratio against fio
// writing the same bytes to the same directory in the same run (where fio is installed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putObjects } from '../lib/index.js';
import { startS3rver } from '../test/fixtures/servers.js';
import { GB, row, timed } from './table.js';

const MiB = 1024 * 1024;

async function measured(run: () => Promise<unknown>): Promise<{ seconds: number; peakRssMiB: number }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const seconds = await timed(run);
    return { seconds, peakRssMiB: (peak - base) / MiB };
  } finally {
    clearInterval(sampler);
  }
}

function fioSeconds(dir: string, bytes: number, files: number): number | undefined {
  if (spawnSync('sh', ['-c', 'command -v fio']).status !== 0) return undefined;
  const out = execFileSync('fio', [
    '--name=dgen-bench',
    `--directory=${dir}`,
    '--rw=write',
    '--bs=4M',
    `--size=${bytes}`,
    `--nrfiles=${files}`,
    '--ioengine=psync',
    '--refill_buffers',
    '--end_fsync=0',
    '--output-format=json',
  ]).toString();
  const job = JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
  return job.write.runtime / 1000;
}

export async function benchBulkPut(): Promise<void> {
  const section = 'bulk put (data set >> buffer bound)';
  const dir = await mkdtemp(join(tmpdir(), 'dgen-bench-put-'));
  try {
    const bytes = 2 * 1024 * MiB;
    const fio = fioSeconds(dir, bytes, 32);
    await rm(dir, { recursive: true, force: true });
    for (const concurrency of [1, 4, 16]) {
      const target = join(dir, `c${concurrency}`);
      const { seconds, peakRssMiB } = await measured(() =>
        putObjects({ target, count: 32, size: '64MiB', concurrency, compressRatio: 2, seed: 1 }),
      );
      const note = `peak RSS +${peakRssMiB.toFixed(0)} MiB`;
      if (fio !== undefined)
        row(
          section,
          `put 2 GiB (32 x 64 MiB) to a directory, concurrency ${concurrency}`,
          bytes / seconds / GB,
          'fio psync write, same bytes and directory',
          bytes / fio / GB,
          note,
        );
      else
        row(
          section,
          `put 2 GiB (32 x 64 MiB) to a directory, concurrency ${concurrency}`,
          bytes / seconds / GB,
          'itself (fio not installed)',
          bytes / seconds / GB,
          note,
        );
      await rm(target, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const s3 = await startS3rver(['bench']);
  try {
    const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    const bytes = 512 * MiB;
    let single = 0;
    for (const concurrency of [1, 4, 16]) {
      const { seconds, peakRssMiB } = await measured(() =>
        putObjects({
          target: `s3://bench/c${concurrency}`,
          count: 32,
          size: '16MiB',
          concurrency,
          seed: 1,
          endpoint: s3.endpoint,
          credentials,
          partSize: 8 * MiB,
        }),
      );
      if (concurrency === 1) single = bytes / seconds / GB;
      row(
        section,
        `put 512 MiB (32 x 16 MiB) to s3rver, concurrency ${concurrency}`,
        bytes / seconds / GB,
        'the same at concurrency 1',
        single,
        `peak RSS +${peakRssMiB.toFixed(0)} MiB`,
      );
    }
  } finally {
    await s3.stop();
  }
}

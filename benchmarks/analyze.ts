// dgen analyze against the command-line tools on the same file, in one run (issue 13's targets): the
// default measurements >= 0.5x `zstd -1 -T0`, --no-per-chunk (hashing only) >= 1.0x `sha256sum`, --sample 1%
// >= 10x the full analysis (--full). The file holds dgen data with dedup ratio 2 and compression ratio 2
// (16 KiB dedup unit), on a tmpfs (/dev/shm) so that reading costs every row the same. analyze() runs in
// this process (reading included); the CLIs run as children. 3 rounds, the baselines interleaved with our
// rows; each row gives the range of the per-round ratios (the machine is shared) and the event-loop delay
// p99 while analyze ran (every row). --full is slow (about 15 compression passes): it runs once, on a 64 MiB prefix.
// DGEN_BENCH_ANALYZE_MIB sets the size (default 256).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { analyze, createGenerator } from '../lib/index.js';
import { GB, row, timed } from './table.js';

const MIB = 1024 * 1024;

async function writeData(path: string, size: number): Promise<void> {
  // The generator's own writer: the workers generate and write, nothing passes through JavaScript.
  const fh = await open(path, 'w');
  try {
    await createGenerator({ size, dedupRatio: 2, compressRatio: 2, dedupUnit: 16 * 1024, seed: 7 }).writeToFd(fh.fd, {
      offset: 0,
      length: size,
    });
  } finally {
    await fh.close();
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

/** Starts measuring the event-loop delay; the returned function stops and gives its p99 in ms. */
function delay(): () => string {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return () => {
    h.disable();
    return (h.percentile(99) / 1e6).toFixed(1);
  };
}

export async function benchAnalyze(): Promise<void> {
  const section = 'dgen analyze against the CLIs (same file, d = 2, c = 2)';
  const size = Number(process.env.DGEN_BENCH_ANALYZE_MIB ?? 256) * MIB;
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dgen-bench-analyze-'));
  try {
    const file = join(dir, 'data.bin');
    await writeData(file, size);
    const ratios: Record<string, number[]> = { default: [], 'no-per-chunk': [], sample: [] };
    const speeds: Record<string, number[]> = { default: [], 'no-per-chunk': [], sample: [] };
    const p99: Record<string, number> = { default: 0, 'no-per-chunk': 0, sample: 0 };
    const ours = async (name: string, options: Parameters<typeof analyze>[1]) => {
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      let report: Awaited<ReturnType<typeof analyze>> | undefined;
      const seconds = await timed(async () => (report = await analyze([file], options)));
      h.disable();
      p99[name] = Math.max(p99[name]!, h.percentile(99) / 1e6);
      speeds[name]!.push(size / seconds / GB);
      return { seconds, report: report! };
    };
    let report: Awaited<ReturnType<typeof analyze>> | undefined;
    let sampled: Awaited<ReturnType<typeof analyze>> | undefined;
    for (let round = 0; round < 3; round++) {
      const zstd = await timed(() => run('zstd', ['-1', '-T0', '-q', '-c', file]));
      const d = await ours('default', {});
      report = d.report;
      const zstd2 = await timed(() => run('zstd', ['-1', '-T0', '-q', '-c', file]));
      ratios.default!.push((zstd + zstd2) / 2 / d.seconds);
      const sha = await timed(() => run('sha256sum', [file]));
      const h = await ours('no-per-chunk', { perChunk: false });
      const sha2 = await timed(() => run('sha256sum', [file]));
      ratios['no-per-chunk']!.push((sha + sha2) / 2 / h.seconds);
      const s = await ours('sample', { sample: 0.01 });
      sampled = s.report;
      ratios.sample!.push(d.seconds / s.seconds);
    }
    const range = (v: number[]) => `${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)}x`;
    const best = (v: number[]) => Math.max(...v);
    row(
      section,
      'analyze, default measurements',
      best(speeds.default!),
      'zstd -1 -T0',
      best(speeds.default!) / best(ratios.default!),
      `${range(ratios.default!)} over 3 rounds, target >= 0.5x; event-loop p99 ${p99.default!.toFixed(1)} ms; chunk index ${(report!.index!.bytes / MIB).toFixed(1)} MiB`,
    );
    row(
      section,
      'analyze --no-per-chunk (hashing only)',
      best(speeds['no-per-chunk']!),
      'sha256sum',
      best(speeds['no-per-chunk']!) / best(ratios['no-per-chunk']!),
      `${range(ratios['no-per-chunk']!)}, target >= 1.0x; p99 ${p99['no-per-chunk']!.toFixed(1)} ms`,
    );
    const d = report!,
      s = sampled!;
    // The gap to the full answer over the estimates that have an interval.
    const gaps: number[] = [];
    const gapOf = (estimate: number, full: number, interval: unknown) => interval && gaps.push(Math.abs(estimate / full - 1));
    gapOf(s.dedup['4096']!, d.dedup['4096']!, s.sample!.dedup['4096']);
    gapOf(s.dedup.cdc!, d.dedup.cdc!, s.sample!.dedup.cdc);
    gapOf(s.compression['zstd-1']!.whole, d.compression['zstd-1']!.whole, s.sample!.compression['zstd-1']!.whole);
    gapOf(
      s.compression['zstd-1']!.perChunk['4096']!,
      d.compression['zstd-1']!.perChunk['4096']!,
      s.sample!.compression['zstd-1']!.perChunk['4096'],
    );
    const gap = Math.max(0, ...gaps);
    row(
      section,
      'analyze --sample 0.01',
      best(speeds.sample!),
      'analyze, default',
      best(speeds.default!),
      `${range(ratios.sample!)}; largest gap to the default's answer ${(gap * 100).toFixed(2)} % over ${gaps.length} estimates with an interval; p99 ${p99.sample!.toFixed(1)} ms`,
    );
    // --full and the JavaScript reference on a prefix (they take minutes on the whole file).
    const prefix = join(dir, 'prefix.bin');
    const fh = await open(file, 'r');
    const head = Buffer.alloc(Math.min(size, 64 * MIB));
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    await writeFile(prefix, head);
    const zstdPrefix = await timed(() => run('zstd', ['-1', '-T0', '-q', '-c', prefix]));
    const fullDelay = delay();
    const full = await timed(() => analyze([prefix], { full: true }));
    row(
      section,
      'analyze --full (64 MiB prefix)',
      head.length / full / GB,
      'zstd -1 -T0',
      head.length / zstdPrefix / GB,
      `p99 ${fullDelay()} ms`,
    );
    const { defaultCodecs } = await import('../lib/index.js');
    const small = prefix + '.32';
    await writeFile(small, head.subarray(0, 32 * MIB));
    const referenceDelay = delay();
    const seconds = await timed(() => analyze([small], { codecs: defaultCodecs() }));
    row(
      section,
      'JavaScript reference analyzer (32 MiB prefix)',
      (32 * MIB) / seconds / GB,
      'zstd -1 -T0',
      head.length / zstdPrefix / GB,
      `p99 ${referenceDelay()} ms (the reference runs its codecs on the main thread: no p99 target)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

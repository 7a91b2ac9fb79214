// dgen analyze against the command-line tools on the same file, in one run (issue 13's targets): the
// default measurements >= 0.5x `zstd -1 -T0`, --no-per-chunk >= 1.0x `sha256sum`, --sample 1% >= 10x the
// full analysis. The file holds dgen data with dedup ratio 2 and compression ratio 2 (16 KiB dedup unit),
// on a tmpfs (/dev/shm) so that reading costs every row the same. analyze() runs in this process (reading
// included); the CLIs run as children. Each case runs 2 rounds, alternating, keeping the best rate (the
// machine is shared). The JavaScript reference analyzer (the implementation before the native one) runs
// once on a 32 MiB prefix, for the record. DGEN_BENCH_ANALYZE_MIB sets the size (default 256).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, createGenerator } from '../lib/index.js';
import { GB, row, timed } from './table.js';

const MIB = 1024 * 1024;

async function writeData(path: string, size: number): Promise<void> {
  // The generator's own writer: the workers generate and write, nothing passes through JavaScript.
  const fh = await open(path, 'w');
  try {
    await createGenerator({ size, dedupRatio: 2, compressRatio: 2, dedupUnit: 16 * 1024, seed: 7 }).writeToFd(fh.fd, { offset: 0, length: size });
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

export async function benchAnalyze(): Promise<void> {
  const section = 'dgen analyze against the CLIs (same file, d = 2, c = 2)';
  const size = Number(process.env.DGEN_BENCH_ANALYZE_MIB ?? 256) * MIB;
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'dgen-bench-analyze-'));
  try {
    const file = join(dir, 'data.bin');
    await writeData(file, size);
    const best: Record<string, number> = {};
    const keep = (name: string, seconds: number) => (best[name] = Math.max(best[name] ?? 0, size / seconds / GB));
    let report: Awaited<ReturnType<typeof analyze>> | undefined;
    let sampled: Awaited<ReturnType<typeof analyze>> | undefined;
    for (let round = 0; round < 2; round++) {
      keep('zstd -1 -T0', await timed(() => run('zstd', ['-1', '-T0', '-q', '-c', file])));
      keep('sha256sum', await timed(() => run('sha256sum', [file])));
      keep('default', await timed(async () => (report = await analyze([file]))));
      keep('no-per-chunk', await timed(() => analyze([file], { perChunk: false })));
      keep('sample', await timed(async () => (sampled = await analyze([file], { sample: 0.01 }))));
    }
    row(section, 'analyze, default measurements', best.default!, 'zstd -1 -T0', best['zstd -1 -T0']!, `target >= 0.5x; chunk index ${(report!.index!.bytes / MIB).toFixed(1)} MiB`);
    row(section, 'analyze --no-per-chunk', best['no-per-chunk']!, 'sha256sum', best.sha256sum!, 'target >= 1.0x');
    const d = report!, s = sampled!;
    // The gap to the full answer over the estimates that have an interval (a whole-stream one needs a few
    // sampled 4 MiB segments: about 100 / RATE of them in the input).
    const gaps: number[] = [];
    const gapOf = (estimate: number, full: number, interval: unknown) => interval && gaps.push(Math.abs(estimate / full - 1));
    gapOf(s.dedup['4096']!, d.dedup['4096']!, s.sample!.dedup['4096']);
    gapOf(s.dedup.cdc!, d.dedup.cdc!, s.sample!.dedup.cdc);
    gapOf(s.compression['zstd-1']!.whole, d.compression['zstd-1']!.whole, s.sample!.compression['zstd-1']!.whole);
    gapOf(s.compression['zstd-1']!.perChunk['4096']!, d.compression['zstd-1']!.perChunk['4096']!, s.sample!.compression['zstd-1']!.perChunk['4096']);
    const gap = Math.max(0, ...gaps);
    row(section, 'analyze --sample 0.01', best.sample!, 'analyze, default', best.default!, `target >= 10x; largest gap to the full answer ${(gap * 100).toFixed(2)} % over ${gaps.length} estimates with an interval`);
    // The reference on a prefix (it takes minutes on the whole file).
    const prefix = join(dir, 'prefix.bin');
    const fh = await open(file, 'r');
    const head = Buffer.alloc(Math.min(size, 32 * MIB));
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    await writeFile(prefix, head);
    const { defaultCodecs } = await import('../lib/index.js');
    const seconds = await timed(() => analyze([prefix], { codecs: defaultCodecs() }));
    row(section, 'JavaScript reference analyzer (32 MiB prefix)', head.length / seconds / GB, 'zstd -1 -T0', best['zstd -1 -T0']!);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

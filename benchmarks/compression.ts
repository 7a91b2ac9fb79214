// Compression on write against the command-line tools on the same bytes, in one run: DataSource c=2 ->
// createCompressor -> null (generation included) beside `zstd -T0` and pigz reading those bytes from a
// tmpfs file. Issue 13's targets: zstd levels 1 and 3 >= 0.9x `zstd -T0` at the same level; gzip level 1
// >= 2x `pigz -1`; gzip level 6 >= 1.0x `pigz -6`; event-loop delay p99 under 10 ms in every row.
// DGEN_BENCH_COMPRESSION_MIB sets the size (default 512 MiB for zstd, a quarter of it for gzip).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { createCompressor, createGenerator, DataSource } from '../lib/index.js';
import { GB, row, timed } from './table.js';

const MIB = 1024 * 1024;
const SEED = 1;
const C = 2;

function hasTool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Writes `size` bytes of the benchmark's data to `path` (the CLIs' input: the same bytes DataSource gives). */
async function writeData(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const generator = createGenerator({ size, compressRatio: C, seed: SEED });
    const chunk = Buffer.allocUnsafe(16 * MIB);
    for (let at = 0; at < size; at += chunk.length) {
      const n = Math.min(chunk.length, size - at);
      generator.fillSync(chunk.subarray(0, n), at);
      await fh.write(chunk, 0, n);
    }
  } finally {
    await fh.close();
  }
}

/** Seconds a CLI takes to compress `input` to /dev/null, and the compressed size (counted from its stdout). */
async function cli(command: string, args: string[], input: string): Promise<{ seconds: number; bytes: number }> {
  let bytes = 0;
  const seconds = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(command, [...args, '-c', input], { stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.on('data', (b: Buffer) => (bytes += b.length));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
      }),
  );
  return { seconds, bytes };
}

export async function benchCompression(): Promise<void> {
  const section = 'compression on write against the CLIs (same bytes, c = 2)';
  const zstdBytes = Number(process.env.DGEN_BENCH_COMPRESSION_MIB ?? 512) * MIB;
  const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'dgen-bench-compression-'));
  try {
    const input = join(dir, 'data.bin');
    await writeData(input, zstdBytes);
    const gzipInput = join(dir, 'data-quarter.bin');
    await writeData(gzipInput, zstdBytes / 4);
    const cases: { spec: string; tool: string; args: string[]; target: number }[] = [
      { spec: 'zstd:1', tool: 'zstd', args: ['-q', '-1', '-T0'], target: 0.9 },
      { spec: 'zstd:3', tool: 'zstd', args: ['-q', '-3', '-T0'], target: 0.9 },
      { spec: 'gzip:1', tool: 'pigz', args: ['-1'], target: 2 },
      { spec: 'gzip:6', tool: 'pigz', args: ['-6'], target: 1 },
    ];
    for (const { spec, tool, args, target } of cases) {
      const size = spec.startsWith('gzip') ? zstdBytes / 4 : zstdBytes;
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      const compressor = createCompressor(spec);
      const s = await timed(() =>
        pipeline(new DataSource({ size, compressRatio: C, seed: SEED }), compressor, new Writable({ write: (_c, _e, cb) => cb() })),
      );
      h.disable();
      const note = `ratio ${compressor.ratio.toFixed(3)}, event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms; target >= ${target}x`;
      if (!hasTool(tool)) {
        row(section, `DataSource -> ${spec} (${compressor.implementation}) -> null`, size / s / GB, `${tool} not installed`, NaN, note);
        continue;
      }
      const c = await cli(tool, args, spec.startsWith('gzip') ? gzipInput : input);
      row(
        section,
        `DataSource -> ${spec} (${compressor.implementation}) -> null`,
        size / s / GB,
        `${tool} ${args.filter((a) => a !== '-q').join(' ')} tmpfs file -> null, ratio ${(size / c.bytes).toFixed(3)}`,
        size / c.seconds / GB,
        note,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

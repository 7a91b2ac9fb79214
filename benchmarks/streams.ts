// Streams as fast as their consumers (issue 17): each consumer fed by our source and by a zero-cost source
// of the same 4 MiB chunks (16 preallocated blocks pushed in turn: 64 MiB, so its bytes come from memory,
// not cache), the ratio printed against it, and the one-block (cache-resident) figure beside it as the
// ceiling. The null consumers are compared with writeToFd into /dev/null on the same threads.
// Every row runs in a fresh process (streams-child.ts) on a clean page cache (previous output deleted,
// `sync`); each figure is the best of DGEN_BENCH_ROUNDS rounds (default 3) of DGEN_BENCH_STREAM_GIB GiB
// (default 1). Event-loop delay p99 and peak RSS growth are given for our source.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { row } from './table.js';

interface Run {
  gbps: number;
  p99ms: number;
  peakRssMiB: number;
}

const child = fileURLToPath(new URL('./streams-child.ts', import.meta.url));
const out = join(process.env.DGEN_BENCH_DIR ?? tmpdir(), 'dgen-bench-streams.out');
const bytes = Math.round(Number(process.env.DGEN_BENCH_STREAM_GIB ?? 1) * 1024 ** 3);
const rounds = Number(process.env.DGEN_BENCH_ROUNDS ?? 3);

function once(source: string, consumer: string): Run {
  rmSync(out, { force: true });
  execFileSync('sync');
  const text = execFileSync(process.execPath, ['--import', 'tsx', child, source, consumer, String(bytes), out], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString();
  rmSync(out, { force: true });
  return JSON.parse(text.trim().split('\n').pop()!) as Run;
}

/** Best throughput of `rounds` runs, with the p99 and RSS of that run. Rows of a comparison alternate
 * within a round, so a noisy stretch of the machine hits both sides. */
function best(pairs: [string, string][]): Run[] {
  const results: Run[][] = pairs.map(() => []);
  for (let r = 0; r < rounds; r++) pairs.forEach(([s, c], i) => results[i]!.push(once(s, c)));
  return results.map((runs) => runs.reduce((a, b) => (b.gbps > a.gbps ? b : a)));
}

const note = (r: Run, ceiling?: Run) =>
  `p99 ${r.p99ms.toFixed(1)} ms, peak RSS +${Math.round(r.peakRssMiB)} MiB` +
  (ceiling ? `; one-block ceiling ${ceiling.gbps.toFixed(2)} GB/s` : '');

export async function benchStreams(): Promise<void> {
  const section = `streams, ${bytes / 1024 ** 3} GiB per run, 4 MiB chunks, best of ${rounds}`;
  const consumers: [string, string, string, string, string][] = [
    ['fs.createWriteStream', 'fs', 'ours', 'zero16', 'zero1'],
    ['FileSink (CRC-32C)', 'filesink', 'ours', 'zero16', 'zero1'],
    ['DirectFileSink', 'direct', 'ours', 'zero16', 'zero1'],
    ['fetch PUT to node:http, createWebStream body', 'fetch', 'web-ours', 'web-zero16', 'web-zero1'],
    ["the same with redirect: 'error', window: null", 'fetch-notee', 'web-ours', 'web-zero16', 'web-zero1'],
    ["fetch PUT, DataSource body, redirect: 'error', window: null", 'fetch-notee', 'ours', 'zero16', 'zero1'],
  ];
  for (const [label, consumer, ours, zero, ceiling] of consumers) {
    const [a, b, c] = best([
      [ours, consumer],
      [zero, consumer],
      [ceiling, consumer],
    ]);
    row(section, `${label}: our source`, a!.gbps, 'zero-cost 16-block source', b!.gbps, note(a!, c));
  }
  const [fd, nul, toWeb, web] = best([
    ['fd', 'devnull'],
    ['ours', 'null'],
    ['web-toweb', 'reader'],
    ['web-ours', 'reader'],
  ]);
  row(section, 'DataSource into a no-op Writable', nul!.gbps, 'writeToFd into /dev/null', fd!.gbps, note(nul!));
  row(section, 'Readable.toWeb(DataSource), default reader', toWeb!.gbps, 'writeToFd into /dev/null', fd!.gbps, note(toWeb!));
  row(section, 'createWebStream, default reader', web!.gbps, 'writeToFd into /dev/null', fd!.gbps, note(web!));
}

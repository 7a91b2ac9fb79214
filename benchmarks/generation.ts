// Generation speed against baselines measured in the same run: memset (Buffer.fill) and
// crypto.randomFillSync on one thread, the all-core rate against one thread, `dgen cat` into /dev/null
// against a one-thread Buffer.fill writer, fio's refill_buffers (null engine) where fio is installed, and
// the Readable source into a null Writable (throughput, event-loop delay, peak RSS).
import { randomFillSync } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableKernels, configureWorkers, createGenerator, createWebStream, workerInfo } from '../lib/index.js';
import { binding } from '../lib/native.js';
import { GB, rate, row, timed } from './table.js';

const MiB = 1024 * 1024;
const SIZE = 1024 ** 4; // offsets wander over 1 TiB so fills touch fresh units

/** fillSync at wandering offsets into a reused buffer of `chunk` bytes. */
function fillRate(g: ReturnType<typeof createGenerator>, chunk: number, buf: Buffer): number {
  const slots = Math.floor(SIZE / chunk);
  const stride = Math.floor(slots / 7919);
  const view = buf.subarray(0, chunk);
  return rate(chunk, (i) => g.fillSync(view, ((i * stride) % slots) * chunk));
}

export async function benchGeneration(): Promise<void> {
  const one = 'generation, one thread, reused buffer';
  // 64-byte aligned, as the library's own buffers are; memset and the generator write the same memory.
  const big = binding.allocAligned(16 * MiB, 64).fill(0);
  const memset = rate(4 * MiB, (i) => big.subarray(0, 4 * MiB).fill(i & 0xff));
  const random = rate(4 * MiB, () => randomFillSync(big.subarray(0, 4 * MiB)));
  let best1 = 0;
  for (const kernel of availableKernels()) {
    for (const c of [1, 3]) {
      const g = createGenerator({ size: SIZE, compressRatio: c, seed: 1, kernel, threads: 1 });
      const r4m = fillRate(g, 4 * MiB, big);
      if (c === 1) best1 = Math.max(best1, r4m);
      row(one, `fillSync ${kernel} c=${c} 4 MiB`, r4m, 'Buffer.fill 4 MiB', memset);
      row(one, `fillSync ${kernel} c=${c} 4 MiB`, r4m, 'crypto.randomFillSync 4 MiB', random);
      for (const [chunk, label] of [
        [4096, '4 KiB'],
        [65536, '64 KiB'],
      ] as const) {
        row(one, `fillSync ${kernel} c=${c} ${label}`, fillRate(g, chunk, big), `the same at 4 MiB`, r4m);
      }
    }
  }

  const all = `generation, all cores (${workerInfo().threads} workers)`;
  const auto = createGenerator({ size: SIZE, seed: 1 }).kernel;
  const single = fillRate(createGenerator({ size: SIZE, seed: 1, threads: 1 }), 16 * MiB, big);
  for (const c of [1, 3]) {
    const g = createGenerator({ size: SIZE, compressRatio: c, seed: 1 });
    row(all, `fillSync ${auto} c=${c} 16 MiB, all workers`, fillRate(g, 16 * MiB, big), `one thread, c=1, 16 MiB`, single);
  }

  // Sustained: each worker fills its own reused 4 MiB buffer and writes it to /dev/null (writeToFd), so
  // no fill waits for another; all workers against one.
  const devNull = openSync('/dev/null', 'w');
  const sustained = async (threads?: number) => {
    configureWorkers(threads ? { threads } : {});
    const g = createGenerator({ size: SIZE, seed: 1 });
    let best = 0;
    for (let round = 0; round < 3; round++)
      best = Math.max(best, (8 * 1024 ** 3) / (await timed(() => g.writeToFd(devNull, { length: 8 * 1024 ** 3 }))) / GB);
    return best;
  };
  const oneWorker = await sustained(1);
  const allWorkers = await sustained();
  closeSync(devNull);
  row(all, 'writeToFd(/dev/null) 8 GiB, all workers', allWorkers, 'the same on one worker', oneWorker);

  // dgen cat into /dev/null against a one-thread writer refilling one reused 4 MiB buffer with Buffer.fill:
  // both started the same way (no shell), stdout on /dev/null, process start included, best of 3.
  const bytes = 8 * 1024 ** 3;
  const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
  const writer = `const fs=require('fs');const b=Buffer.alloc(4<<20);for(let i=0;i<${bytes / (4 * MiB)};i++){b.fill(i&255);fs.writeSync(1,b)}`;
  const nullOut = openSync('/dev/null', 'w');
  const bestOf3 = async (args: string[]) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++)
      best = Math.min(
        best,
        await timed(async () => execFileSync(process.execPath, args, { stdio: ['ignore', nullOut, 'inherit'] })),
      );
    return best;
  };
  const fillWriter = await bestOf3(['-e', writer]);
  const cat = await bestOf3([bin, 'cat', '--size', String(bytes), '--seed', '1']);
  closeSync(nullOut);
  row(
    all,
    'dgen cat --size 8GiB > /dev/null',
    bytes / cat / GB,
    'one-thread Buffer.fill writer to /dev/null',
    bytes / fillWriter / GB,
    'process start included',
  );

  // fio's refill_buffers on the null engine, one job (random data like c = 1).
  if (spawnSync('sh', ['-c', 'command -v fio']).status === 0) {
    const out = execFileSync('fio', [
      '--name=dgen-bench',
      '--ioengine=null',
      '--rw=write',
      '--bs=4M',
      '--size=8G',
      '--refill_buffers',
      '--output-format=json',
    ]).toString();
    const job = JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
    const fio = (job.write.io_bytes ?? job.write.io_kbytes * 1024) / (job.write.runtime / 1000) / GB;
    row(one, `fillSync best kernel c=1 4 MiB (per core)`, best1, 'fio refill_buffers, one job, null engine', fio);
  }

  const streamSection = 'Streams (4 MiB chunks)';
  const raw = fillRate(createGenerator({ size: SIZE, seed: 1 }), 4 * MiB, big);
  const child = fileURLToPath(new URL('./stream-child.ts', import.meta.url));
  for (const c of [1, 3]) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, String(c), '16']).toString();
    const r = JSON.parse(out.trim().split('\n').pop()!) as { gbps: number; p99ms: number; peakRssMiB: number };
    row(
      streamSection,
      `DataSource -> null Writable, c=${c}, 16 GiB (fresh process)`,
      r.gbps,
      `fillSync ${auto} 4 MiB, all workers`,
      raw,
      `event-loop delay p99 ${r.p99ms.toFixed(1)} ms, peak RSS +${r.peakRssMiB.toFixed(0)} MiB`,
    );
  }
  // Caller-owned memory: BYOB reads into one reused 4 MiB buffer.
  const byobBytes = 8 * 1024 ** 3;
  const reader = createWebStream({ size: byobBytes, seed: 2 }).getReader({ mode: 'byob' });
  let buffer = new ArrayBuffer(4 * MiB);
  const byob = await timed(async () => {
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (done) break;
      buffer = value.buffer;
    }
  });
  row(
    streamSection,
    'Web stream, BYOB reads into one reused 4 MiB buffer, 8 GiB',
    byobBytes / byob / GB,
    `fillSync ${auto} 4 MiB, all workers`,
    raw,
  );
}

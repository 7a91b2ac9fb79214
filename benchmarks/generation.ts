// Generation speed: fills into reused buffers against memset (Buffer.fill) and crypto.randomFillSync,
// and the Readable source into a null Writable against the raw fill rate.
import { randomFillSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { availableKernels, createGenerator, DataSource } from '../lib/index.js';
import { GB, rate, row, timed } from './table.js';

const MiB4 = 4 * 1024 * 1024;
const SIZE = 1024 ** 4; // offsets wander over 1 TiB so fills touch fresh units

export async function benchGeneration(): Promise<void> {
  const section = 'generation (one thread, reused buffer)';
  const big = Buffer.alloc(MiB4);
  const memset = rate(MiB4, (i) => big.fill(i & 0xff));
  const random = rate(MiB4, () => randomFillSync(big));
  for (const kernel of availableKernels()) {
    for (const c of [1, 3]) {
      const g = createGenerator({ size: SIZE, compressRatio: c, seed: 1, kernel });
      for (const [chunk, label] of [[4096, '4 KiB'], [65536, '64 KiB'], [MiB4, '4 MiB']] as const) {
        const buf = big.subarray(0, chunk);
        const slots = Math.floor(SIZE / chunk);
        const stride = Math.floor(slots / 7919);
        const gbps = rate(chunk, (i) => g.fillSync(buf, ((i * stride) % slots) * chunk));
        row(section, `fillSync ${kernel} c=${c} ${label}`, gbps, 'Buffer.fill 4 MiB', memset);
        if (chunk === MiB4) row(section, `fillSync ${kernel} c=${c} ${label}`, gbps, 'crypto.randomFillSync 4 MiB', random);
      }
    }
  }

  const streamSection = 'Readable source';
  const g = createGenerator({ size: SIZE, seed: 1 });
  const raw = rate(MiB4, (i) => g.fillSync(big, (i % 1000) * MiB4));
  for (const c of [1, 3]) {
    const bytes = 8 * 1024 ** 3;
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const s = await timed(() =>
      pipeline(new DataSource({ size: bytes, compressRatio: c, seed: 2 }), new Writable({ write: (_c, _e, cb) => cb() })),
    );
    h.disable();
    row(streamSection, `DataSource -> null Writable, c=${c}, 8 GiB`, bytes / s / GB, `fillSync ${g.kernel} 4 MiB`, raw, `event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms`);
  }
}

// One Readable-source run in a fresh process (heap state left by other benchmarks skews stream timings):
// prints { gbps, p99ms, peakRssMiB } as JSON. Usage: stream-child.ts <compressRatio> <GiB>
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DataSource } from '../lib/index.js';

const c = Number(process.argv[2] ?? 1);
const size = Number(process.argv[3] ?? 16) * 1024 ** 3;
const h = monitorEventLoopDelay({ resolution: 1 });
const base = process.memoryUsage().rss;
let peak = base;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
h.enable();
const start = process.hrtime.bigint();
await pipeline(new DataSource({ size, compressRatio: c, seed: 2 }), new Writable({ write: (_c, _e, cb) => cb() }));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
h.disable();
clearInterval(sampler);
process.stdout.write(
  JSON.stringify({ gbps: size / seconds / 1e9, p99ms: h.percentile(99) / 1e6, peakRssMiB: (peak - base) / 1024 ** 2 }) + '\n',
);

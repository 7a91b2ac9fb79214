#!/usr/bin/env node
// npm run bench [-- --json]: generation speed against baselines measured in the same run.
// Every line gives GB/s and the ratio to its baseline, so numbers compare across machines and loads.
import { randomFillSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { availableKernels, createGenerator, DataSource } from '../dist/index.js';

const json = process.argv.includes('--json');
const GB = 1e9;

/** Runs fn(i) until at least `seconds` have passed and `bytes` each call; returns GB/s (best of 3 rounds). */
function rate(bytesPerCall, fn, seconds = 0.4) {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (let k = 0; k < 16; k++) fn(calls++);
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < seconds / 3);
    best = Math.max(best, (calls * bytesPerCall) / elapsed / GB);
  }
  return best;
}

const rows = [];
function row(name, gbps, baselineName, baseline) {
  rows.push({ name, gbps: +gbps.toFixed(3), baseline: baselineName, baselineGbps: +baseline.toFixed(3), ratio: +(gbps / baseline).toFixed(3) });
}

const MiB4 = 4 * 1024 * 1024;
const big = Buffer.alloc(MiB4);
const memset = rate(MiB4, (i) => big.fill(i & 0xff));
const random = rate(MiB4, () => randomFillSync(big));
const size = 1024 ** 4; // offsets wander over 1 TiB so fills touch fresh units

for (const kernel of availableKernels()) {
  for (const c of [1, 3]) {
    const g = createGenerator({ size, compressRatio: c, seed: 1, kernel });
    for (const chunk of [4096, 65536, MiB4]) {
      const buf = big.subarray(0, chunk);
      const stride = Math.floor(size / chunk / 7919);
      const gbps = rate(chunk, (i) => g.fillSync(buf, ((i * stride) % Math.floor(size / chunk)) * chunk));
      const label = chunk === 4096 ? '4 KiB' : chunk === 65536 ? '64 KiB' : '4 MiB';
      row(`fillSync ${kernel} c=${c} ${label} (reused buffer)`, gbps, 'Buffer.fill 4 MiB', memset);
      if (chunk === MiB4) row(`fillSync ${kernel} c=${c} 4 MiB`, gbps, 'crypto.randomFillSync 4 MiB', random);
    }
  }
}

// Readable source into a null Writable, with event-loop delay.
async function streamRate(c) {
  const bytes = 8 * 1024 ** 3;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const start = process.hrtime.bigint();
  await pipeline(new DataSource({ size: bytes, compressRatio: c, seed: 2 }), new Writable({ write: (_c, _e, cb) => cb() }));
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  h.disable();
  return { gbps: bytes / s / GB, p99ms: h.percentile(99) / 1e6 };
}
const autoKernel = createGenerator({ size: 1 }).kernel;
const g4 = createGenerator({ size, seed: 1 });
const rawFill = rate(MiB4, (i) => g4.fillSync(big, (i % 1000) * MiB4));
for (const c of [1, 3]) {
  const { gbps, p99ms } = await streamRate(c);
  row(`DataSource -> null Writable, c=${c}, 8 GiB, 4 MiB chunks (event-loop delay p99 ${p99ms.toFixed(1)} ms)`, gbps, `fillSync ${autoKernel} c=1 4 MiB, one thread`, rawFill);
}

if (json) {
  process.stdout.write(JSON.stringify({ node: process.version, kernels: availableKernels(), rows }, null, 2) + '\n');
} else {
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`dgen-stream benchmarks, Node ${process.version}, kernels: ${availableKernels().join(', ')}`);
  console.log(`${'what'.padEnd(w)}  GB/s    ratio  baseline (GB/s)`);
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${r.gbps.toFixed(2).padStart(6)}  ${r.ratio.toFixed(2).padStart(5)}x  ${r.baseline} (${r.baselineGbps.toFixed(2)})`);
}

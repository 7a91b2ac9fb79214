// The source through each compressor into a null sink: throughput and how long the event loop is blocked.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createCompressor, DataSource, zstdImplementation } from '../lib/index.js';
import { GB, row, timed } from './table.js';

export async function benchCompression(): Promise<void> {
  const section = `compression (zstd from ${zstdImplementation})`;
  const bytes = 1024 ** 3;
  const plain = await timed(() => pipeline(new DataSource({ size: bytes, compressRatio: 2, seed: 1 }), new Writable({ write: (_c, _e, cb) => cb() })));
  for (const spec of ['zstd:1', 'zstd:3', 'gzip:1', 'gzip:6']) {
    const size = spec.startsWith('gzip') ? bytes / 4 : bytes;
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const compressor = createCompressor(spec);
    const s = await timed(() => pipeline(new DataSource({ size, compressRatio: 2, seed: 1 }), compressor, new Writable({ write: (_c, _e, cb) => cb() })));
    h.disable();
    row(
      section,
      `DataSource c=2 -> ${spec} (${compressor.implementation}) -> null`,
      size / s / GB,
      'DataSource c=2 -> null',
      bytes / plain / GB,
      `ratio ${compressor.ratio.toFixed(2)}, event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms (4 MiB chunks)`,
    );
  }
}

// Dead pool chunks go back at young-generation collections, which V8 starts once the young ArrayBuffers
// hold 32 MiB, on every Node the suite runs on (Node 24's V8 waits for 128 MiB unless the pool lowers its
// flag for its own allocation: lib/young-collection.ts); and the process's young-generation settings are
// the same afterwards (a worker started after the chunks gets the young generation one started before did).
import t from 'tap';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bufferPoolStats, DataSource } from '../lib/index.js';

const MiB = 1024 * 1024;

/** The young generation's limit of a worker started now, in MB. */
function workerYoungGeneration(): Promise<number | undefined> {
  const worker = new Worker(
    "require('node:worker_threads').parentPort.postMessage(require('node:worker_threads').resourceLimits.maxYoungGenerationSizeMb)",
    { eval: true },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', (mb: number) => worker.terminate().then(() => resolve(mb), reject));
    worker.once('error', reject);
  });
}

t.test('dead chunks go back at young collections every few dozen MiB, and young-generation settings stay', async (t) => {
  const before = await workerYoungGeneration();
  let scavenges = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if ((e.detail as { kind?: number } | undefined)?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  });
  observer.observe({ entryTypes: ['gc'] });
  const size = 256 * MiB;
  let most = 0;
  await pipeline(
    new DataSource({ size, dedupRatio: 2, compressRatio: 2, seed: 3n }),
    new Writable({ write: (_c, _e, cb) => ((most = Math.max(most, bufferPoolStats().outstandingBytes)), cb()) }),
  );
  await new Promise((r) => setTimeout(r, 50)); // the observer's last entries
  observer.disconnect();
  // Measured: 8-11 young collections (one per 32 MiB of chunks) on Node 20, 22 and 24; 1 on Node 24 before
  // lib/young-collection.ts (one per 128 MiB), its dead chunks returned by 3 full collections instead.
  t.ok(scavenges >= 4, `${scavenges} young collections for ${size / MiB} MiB of chunks (at most ${most / MiB} MiB outstanding)`);
  t.equal(await workerYoungGeneration(), before, `a worker started afterwards gets the same young generation (${before} MB)`);
});

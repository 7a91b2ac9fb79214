// The native worker pool, topology and placement plans, and recycled chunk memory.
import t from 'tap';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  bufferPoolStats,
  configureWorkers,
  createGenerator,
  DataSource,
  planWorkers,
  topology,
  workerInfo,
} from '../lib/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test("this machine's topology and the pool placed on it", async (t) => {
  const topo = topology();
  t.ok(topo.cores.length >= 1);
  t.ok(['hwloc', 'sysfs', 'fallback'].includes(topo.source), `topology from ${topo.source}`);
  const info = workerInfo();
  t.comment(`pool: ${info.threads} workers, hwloc ${info.hwloc}, bound ${info.bound.join(',')}`);
  t.equal(info.threads, info.workers.length);
  t.ok(info.bound.every(Boolean), 'every worker is bound to its core');
  t.same(info.workers.map((w) => w.pu).sort(), topo.cores.map((c) => c.pus[0]).sort(), 'one worker per core by default');
});

t.test('placement plans on synthetic multi-node topologies', async (t) => {
  const synthetic = 'package:2 numa:2 core:4 pu:2'; // 4 nodes, 16 cores, 32 PUs
  const topo = topology({ synthetic });
  t.equal(topo.numaNodes, 4);
  t.equal(topo.cores.length, 16);
  t.same(topo.cores[5], { package: 0, node: 1, pus: [10, 11] });
  const auto = planWorkers({ synthetic });
  t.equal(auto.length, 16, 'one worker per physical core');
  t.same(
    auto.slice(0, 5).map((w) => w.node),
    [0, 1, 2, 3, 0],
    'round-robin over the NUMA nodes',
  );
  t.equal(new Set(auto.map((w) => w.pu)).size, 16, 'distinct cores');
  t.ok(
    auto.every((w) => w.pu % 2 === 0),
    'first PU of each core',
  );
  const two = planWorkers({ synthetic, numa: { nodes: [1, 3] }, threads: 6 });
  t.same(
    two.map((w) => w.node),
    [1, 3, 1, 3, 1, 3],
    'only the asked-for nodes',
  );
  t.ok(
    two.every((w) => topo.cores.find((c) => c.pus.includes(w.pu))!.node === w.node),
    'each worker on a core of its node',
  );
  const over = planWorkers({ synthetic: 'numa:1 core:2 pu:2', threads: 4 });
  t.same(
    over.map((w) => w.pu),
    [0, 2, 1, 3],
    'more workers than cores: second PUs after the first ones',
  );
  t.same(
    planWorkers({ synthetic, numa: 'off', threads: 3 }),
    [
      { pu: -1, node: -1 },
      { pu: -1, node: -1 },
      { pu: -1, node: -1 },
    ],
    'off: unbound',
  );
  t.throws(() => planWorkers({ synthetic, numa: { nodes: [7] } }), { code: 'ERR_DGEN_INVALID_OPTION' });
  t.throws(() => planWorkers({ numa: 'sometimes' as never }), { code: 'ERR_DGEN_INVALID_OPTION', name: 'TypeError' });
  t.throws(() => topology({ synthetic: 'galaxy:3' }), { code: 'ERR_DGEN_INVALID_OPTION' });
  t.throws(() => configureWorkers({ threads: 0 }), { code: 'ERR_DGEN_INVALID_OPTION' });
});

t.test('thread counts and NUMA modes give identical bytes', async (t) => {
  const shape = { size: 24 * 1024 * 1024 + 777, seed: 9n, dedupRatio: 2, compressRatio: 3 };
  const reference = sha(createGenerator({ ...shape, threads: 1 }).generateSync());
  t.teardown(() => configureWorkers());
  for (const numa of ['auto', 'off', { nodes: [0] }] as const) {
    configureWorkers({ threads: 4, numa });
    t.equal(workerInfo().threads, 4);
    for (const threads of [1, 2, 3, 4]) {
      const g = createGenerator({ ...shape, threads });
      t.equal(sha(g.generateSync()), reference, `numa ${JSON.stringify(numa)}, ${threads} threads, sync`);
      t.equal(sha(await g.generate()), reference, `numa ${JSON.stringify(numa)}, ${threads} threads, async`);
    }
  }
});

t.test('recycled chunks are never handed out while still referenced', async (t) => {
  const held: { chunk: Buffer; digest: string }[] = [];
  const before = bufferPoolStats();
  for (let round = 0; round < 4; round++) {
    let i = 0;
    await pipeline(
      new DataSource({ size: 256 * 1024 * 1024, chunkSize: 1024 * 1024, seed: BigInt(round), recycle: true, queueDepth: 2 }),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          if (i++ % 16 === 0) held.push({ chunk, digest: sha(chunk) }); // keep some, drop the rest
          cb();
        },
      }),
    );
    gc(); // dropped chunks go back to the pool; held ones must not
  }
  const stats = bufferPoolStats();
  t.ok(stats.reuses > before.reuses, `memory was recycled (${stats.reuses - before.reuses} reuses)`);
  t.ok(
    held.every((h) => sha(h.chunk) === h.digest),
    `${held.length} held chunks kept their bytes while others were recycled`,
  );
});

t.test('no leaks: chunk memory returns to baseline after many streams', async (t) => {
  gc();
  await new Promise((r) => setImmediate(r));
  const base = bufferPoolStats();
  for (let i = 0; i < 50; i++) {
    await pipeline(
      new DataSource({ size: 8 * 1024 * 1024 + i, chunkSize: 512 * 1024, seed: i, recycle: true }),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
  }
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const after = bufferPoolStats();
  t.ok(
    after.outstandingBytes <= base.outstandingBytes,
    `outstanding chunk memory ${after.outstandingBytes} <= ${base.outstandingBytes} at the start`,
  );
  t.equal(after.freeBytes, 0, 'free blocks are released once no stream is open');
});

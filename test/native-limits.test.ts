// Limits both sides check are defined once (cpp/limits.h, exported as `binding.limits` and read by
// lib/limits.ts); copies TypeScript still spells out are pinned here. SplitMix64 has one TypeScript copy
// (lib/splitmix64.ts), pinned to the addon's mixer and to published outputs.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { binding } from '../lib/native.js';
import * as limits from '../lib/limits.js';
import { MAX_CHUNK_SIZE, MAX_DEDUP_UNIT, SECTOR } from '../lib/params.js';
import { SYNC_FILL_LIMIT } from '../lib/generator.js';
import { HUGE_CHUNK_MIN } from '../lib/source.js';
import { configureWorkers, createGenerator, planWorkers } from '../lib/index.js';
import { GOLDEN_GAMMA, MASK64, mix64, splitmix64 } from '../lib/splitmix64.js';

const L = binding.limits;

t.test('the addon exports its limits, frozen, and lib/limits.ts reads them', async (t) => {
  t.ok(Object.isFrozen(L));
  t.same(
    { ...L },
    {
      sector: 512,
      maxChunkBytes: 256 * 2 ** 20,
      maxDedupUnit: 2 ** 30,
      maxThreads: 1024,
      directAlignment: 4096,
      hugeChunkMin: 2 * 2 ** 20,
      parallelFillMin: 2 ** 20,
      minPieceBytes: 256 * 2 ** 10,
    },
    'the documented values',
  );
  t.equal(limits.SECTOR, L.sector);
  t.equal(limits.MAX_CHUNK_SIZE, L.maxChunkBytes);
  t.equal(limits.MAX_DEDUP_UNIT, L.maxDedupUnit);
  t.equal(limits.MAX_THREADS, L.maxThreads);
  t.equal(limits.DIRECT_ALIGNMENT, L.directAlignment);
  t.equal(limits.HUGE_CHUNK_MIN, L.hugeChunkMin);
  t.equal(limits.SYNC_FILL_LIMIT, L.minPieceBytes);
});

t.test("constants other modules still spell out equal the addon's", async (t) => {
  t.equal(SECTOR, L.sector, 'params.ts SECTOR');
  t.equal(MAX_CHUNK_SIZE, L.maxChunkBytes, 'params.ts MAX_CHUNK_SIZE');
  t.equal(MAX_DEDUP_UNIT, L.maxDedupUnit, 'params.ts MAX_DEDUP_UNIT');
  t.equal(
    SYNC_FILL_LIMIT,
    L.minPieceBytes,
    "generator.ts SYNC_FILL_LIMIT: no async fill smaller than a worker's smallest piece goes to the pool",
  );
  t.equal(HUGE_CHUNK_MIN, L.hugeChunkMin, 'source.ts HUGE_CHUNK_MIN');
});

t.test('the largest chunk: the TypeScript API and the addon draw the line at the same size', async (t) => {
  const g = createGenerator({ size: 4096, seed: 1n });
  const fd = openSync('/dev/null', 'w');
  t.teardown(() => closeSync(fd));
  t.equal(await g.writeToFd(fd, { chunkSize: MAX_CHUNK_SIZE }), 4096, 'TypeScript accepts the largest chunk');
  await t.rejects(
    async () => g.writeToFd(fd, { chunkSize: MAX_CHUNK_SIZE + SECTOR }),
    { code: 'ERR_DGEN_INVALID_CHUNK_SIZE' },
    'and rejects one sector more',
  );
  const native = new binding.Generator({
    seed: 1n,
    objectId: 0n,
    size: 4096,
    unitBytes: 4096,
    dedupRatio: 1,
    compressRatio: 1,
    kernel: 'auto',
  });
  t.same(await native.writeToFd(fd, 0, 4096, L.maxChunkBytes), { bytesWritten: 4096, errno: 0 }, 'the addon accepts it');
  t.throws(() => native.writeToFd(fd, 0, 4096, L.maxChunkBytes + L.sector), RangeError, 'the addon rejects one sector more');
  const common = { seed: 1n, unitBytes: 4096, dedupRatio: 1, compressRatio: 1, kernel: 'auto' };
  t.throws(() => binding.verifyFiles(common, [], { chunkBytes: L.maxChunkBytes + L.sector }), RangeError, 'verifyFiles too');
  t.throws(
    () => binding.writeFiles(common, [], { chunkBytes: L.maxChunkBytes + L.directAlignment, direct: true, fsync: false }),
    RangeError,
    'writeFiles too',
  );
});

t.test('the largest dedup unit and thread count: both sides reject one more', async (t) => {
  t.throws(() => createGenerator({ size: 4096, dedupUnit: MAX_DEDUP_UNIT + SECTOR }), { code: 'ERR_DGEN_INVALID_DEDUP_UNIT' });
  const options = { seed: 1n, objectId: 0n, size: 4096, dedupRatio: 1, compressRatio: 1, kernel: 'auto' };
  t.ok(new binding.Generator({ ...options, unitBytes: L.maxDedupUnit }), 'the addon accepts the largest dedup unit');
  t.throws(
    () => new binding.Generator({ ...options, unitBytes: L.maxDedupUnit + L.sector }),
    RangeError,
    'and rejects a larger one',
  );
  t.equal(new binding.Generator({ ...options, unitBytes: 4096, threads: L.maxThreads }).threads, L.maxThreads);
  t.throws(() => new binding.Generator({ ...options, unitBytes: 4096, threads: L.maxThreads + 1 }), RangeError);
  t.throws(() => createGenerator({ size: 4096, threads: L.maxThreads + 1 }), { code: 'ERR_DGEN_INVALID_OPTION' });
  t.throws(() => configureWorkers({ threads: L.maxThreads + 1 }), { code: 'ERR_DGEN_INVALID_OPTION' });
  t.equal(planWorkers({ synthetic: 'numa:1 core:2 pu:1', threads: L.maxThreads }).length, L.maxThreads);
  t.throws(() => binding.planWorkers({ synthetic: 'numa:1 core:2 pu:1', threads: L.maxThreads + 1 }), RangeError);
});

t.test("SplitMix64: the published outputs, and the addon's mixer", async (t) => {
  // Rosetta Code, "Pseudo-random numbers/Splitmix64" (https://rosettacode.org/wiki/Pseudo-random_numbers/Splitmix64):
  // the first five outputs of splitmix64.c's next() from seed 1234567.
  const published = [
    6457827717110365317n,
    3203168211198807973n,
    9817491932198370423n,
    4593380528125082431n,
    16408922859458223821n,
  ];
  t.same(splitmix64(1234567n, 5), published, 'lib/splitmix64.ts');
  t.same(
    published.map((_, i) => binding.mix64((1234567n + BigInt(i + 1) * GOLDEN_GAMMA) & MASK64)),
    published,
    'cpp/mix.h through the addon',
  );
  const inputs = [
    0n,
    1n,
    MASK64,
    GOLDEN_GAMMA,
    1n << 63n,
    ...Array.from({ length: 200 }, () => randomBytes(8).readBigUInt64LE()),
  ];
  for (const z of inputs) {
    if (mix64(z) !== binding.mix64(z)) t.fail(`mix64(${z}): ${mix64(z)} in TypeScript, ${binding.mix64(z)} in the addon`);
  }
  t.pass(`mix64 agrees on ${inputs.length} inputs`);
  t.throws(() => binding.mix64(1 as never), TypeError);
});

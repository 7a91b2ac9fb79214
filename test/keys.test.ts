// Seeds and object identities are mixed by a real hash: nearby seeds and objects share no data (unlike
// generators that add to a seed, where seed s+1 is seed s shifted by one block).
import t from 'tap';
import { createGenerator } from '../lib/index.js';
import { chunkHashes } from './fixtures/helpers.js';

const size = 8 * 1024 * 1024;

function shared(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const h of a) if (b.has(h)) n++;
  return n;
}

t.test('adjacent seeds, distant seeds and different objects share no 4 KiB chunk', async (t) => {
  for (const shape of [{}, { compressRatio: 4 }, { dedupRatio: 2, compressRatio: 2 }]) {
    const make = (seed: bigint, objectId: number) =>
      chunkHashes(createGenerator({ size, seed, objectId, ...shape }).generateSync(), 4096);
    const base = make(1000n, 0);
    const cases: [string, Set<string>][] = [
      ['seed s+1', make(1001n, 0)],
      ['seed s-1', make(999n, 0)],
      ['seed s xor 2^63', make(1000n ^ (1n << 63n), 0)],
      ['object 1', make(1000n, 1)],
      ['object 2', make(1000n, 2)],
      ['seed s+1, object 1', make(1001n, 1)],
    ];
    for (const [name, other] of cases) t.equal(shared(base, other), 0, `${name} vs seed s object 0, ${JSON.stringify(shape)}`);
  }
});

t.test('objects of a bulk put are all distinct from each other', async (t) => {
  const all = new Set<string>();
  let total = 0;
  for (let id = 0; id < 16; id++) {
    const h = chunkHashes(createGenerator({ size: 1024 * 1024, seed: 7, objectId: id }).generateSync(), 4096);
    total += h.size;
    for (const x of h) all.add(x);
  }
  t.equal(all.size, total, '16 objects x 256 chunks, all distinct');
});

t.test('64-bit seeds: values above 2^53 work and differ', async (t) => {
  const a = createGenerator({ size: 4096, seed: (1n << 64n) - 1n }).generateSync();
  const b = createGenerator({ size: 4096, seed: (1n << 64n) - 2n }).generateSync();
  const c = createGenerator({ size: 4096, seed: '18446744073709551615' }).generateSync();
  t.notOk(a.equals(b));
  t.ok(a.equals(c), 'decimal string and bigint give the same seed');
});

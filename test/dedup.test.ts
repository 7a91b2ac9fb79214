// Dedup ratio measured the way a fixed-chunk dedup engine sees it: hash aligned chunks, count distinct.
import t from 'tap';
import { createGenerator } from '../lib/index.js';
import { dedupRatio, near } from './fixtures/helpers.js';

t.test('measured dedup ratio is within 1% of the realized n/K', async (t) => {
  for (const dedupUnit of [4096, 65536]) {
    const size = dedupUnit === 4096 ? 32 * 1024 * 1024 : 128 * 1024 * 1024;
    for (const d of [1, 1.5, 2, 3, 5, 10]) {
      const g = createGenerator({ size, dedupRatio: d, dedupUnit, compressRatio: 2, seed: 31 });
      const data = g.generateSync();
      const measured = dedupRatio(data, dedupUnit);
      t.ok(
        near(measured, g.realizedDedupRatio, 0.01),
        `U=${dedupUnit} d=${d}: measured ${measured.toFixed(4)}, realized ${g.realizedDedupRatio.toFixed(4)}`,
      );
      t.ok(near(g.realizedDedupRatio, d, 0.01), `realized ${g.realizedDedupRatio} close to requested ${d} on ${g.units} units`);
      if (dedupUnit === 65536 && d === 3) {
        // Chunks smaller than the unit see the same ratio (each unit copy is copied whole).
        t.ok(near(dedupRatio(data, 4096), g.realizedDedupRatio, 0.01), 'U=64KiB measured at 4 KiB chunks');
        t.ok(near(dedupRatio(data, 16384), g.realizedDedupRatio, 0.01), 'U=64KiB measured at 16 KiB chunks');
      }
    }
  }
});

t.test('dedup 1 has no repeated 512-byte sector at any compression ratio', async (t) => {
  for (const c of [1, 3, 10, 64]) {
    const data = createGenerator({ size: 16 * 1024 * 1024, compressRatio: c, seed: 77 }).generateSync();
    t.equal(dedupRatio(data, 512), 1, `c=${c}: every sector distinct`);
  }
});

t.test('dedup across the objects of a run stays per object', async (t) => {
  const objs = [0, 1, 2, 3].map((objectId) =>
    createGenerator({ size: 4 * 1024 * 1024, dedupRatio: 2, seed: 3, objectId }).generateSync(),
  );
  t.ok(near(dedupRatio(objs, 4096), 2, 0.01), 'four objects with dedup 2 dedup 2 together');
});

t.test('duplicates are scattered: the copies of a unit are not next to each other', async (t) => {
  const g = createGenerator({ size: 64 * 1024 * 1024, dedupRatio: 2, seed: 9 });
  const first = new Map<number, number>();
  let near64k = 0,
    pairs = 0;
  for (let i = 0; i < g.units; i++) {
    const j = g.uniqueUnitOf(i);
    const prev = first.get(j);
    if (prev === undefined) first.set(j, i);
    else {
      pairs++;
      if (i - prev <= 16) near64k++;
    }
  }
  // Uniformly scattered copies land within 64 KiB of each other with probability about 32/16384.
  t.ok(near64k / pairs < 0.01, `${near64k} of ${pairs} copies within 64 KiB of the first`);
});

t.test('copies sit about one period (size / d) apart: a compressor window rarely holds two', async (t) => {
  const size = 256 * 1024 * 1024;
  for (const d of [2, 10]) {
    const g = createGenerator({ size, dedupRatio: d, seed: 10 });
    const last = new Map<number, number>();
    let within = 0,
      dups = 0;
    const window = (2 * 1024 * 1024) / 4096; // zstd -3's 2 MiB, in units
    for (let i = 0; i < g.units; i++) {
      const j = g.uniqueUnitOf(i);
      const prev = last.get(j);
      if (prev !== undefined) {
        dups++;
        if (i - prev <= window) within++;
      }
      last.set(j, i);
    }
    const period = g.uniqueUnits;
    const expected = (window / period) ** 2 / 2;
    t.ok(
      within / dups < Math.max(0.005, 3 * expected),
      `d=${d}: ${((100 * within) / dups).toFixed(3)}% of copies within 2 MiB of the previous one (model ${(100 * expected).toFixed(3)}%)`,
    );
  }
});

t.test('chunks larger than the dedup unit do not repeat', async (t) => {
  const data = createGenerator({ size: 32 * 1024 * 1024, dedupRatio: 4, seed: 12 }).generateSync();
  t.ok(near(dedupRatio(data, 4096), 4, 0.01));
  t.ok(dedupRatio(data, 8192) < 1.01, `8 KiB chunks: ${dedupRatio(data, 8192).toFixed(4)}`);
});

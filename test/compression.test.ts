// Compression ratio measured by real compressors on real output.
import t from 'tap';
import { createGenerator } from '../lib/index.js';
import { deflateCodec, gzipCodec, near, perChunkRatio, wholeRatio, zstdCodec } from './fixtures/helpers.js';

const size = 16 * 1024 * 1024;
const zstd1 = zstdCodec(1);
const zstd3 = zstdCodec(3);

t.test('whole-object gzip and zstd land within 5% of c', async (t) => {
  for (const c of [1.5, 2, 3, 5, 10]) {
    const data = createGenerator({ size, compressRatio: c, seed: 123 }).generateSync();
    for (const codec of [zstd1, zstd3, gzipCodec]) {
      const r = wholeRatio(codec, data);
      t.ok(near(r, c, 0.05), `c=${c} ${codec.name}: ${r.toFixed(3)}`);
    }
  }
});

t.test('each 4 KiB chunk compressed alone lands within 10% of c', async (t) => {
  for (const c of [1.5, 2, 3, 5, 10]) {
    const data = createGenerator({ size: 4 * 1024 * 1024, compressRatio: c, seed: 124 }).generateSync();
    for (const codec of [zstd1, deflateCodec]) {
      for (const chunk of [4096, 65536]) {
        const r = perChunkRatio(codec, data, chunk);
        t.ok(near(r, c, 0.1), `c=${c} ${codec.name} per ${chunk} B chunk: ${r.toFixed(3)}`);
      }
    }
  }
});

t.test('c = 1 does not compress', async (t) => {
  const data = createGenerator({ size, seed: 5 }).generateSync();
  for (const codec of [zstd1, zstd3, gzipCodec]) {
    const r = wholeRatio(codec, data);
    t.ok(r <= 1.01, `${codec.name}: ${r.toFixed(4)}`);
  }
  t.ok(perChunkRatio(zstd1, data, 4096) <= 1.01, 'per 4 KiB chunk');
});

t.test('compression holds with dedup: unique units compress by c, duplicates stay out of the window', async (t) => {
  const data = createGenerator({ size: 64 * 1024 * 1024, dedupRatio: 2, compressRatio: 3, seed: 6 }).generateSync();
  const r = wholeRatio(zstd1, data);
  t.ok(near(r, 3, 0.05), `zstd-1 on a dedup-2 compress-3 object: ${r.toFixed(3)}`);
});

t.test('whole-stream compression stays at c with dedup 10 once a period (size / d) exceeds the window', async (t) => {
  const data = createGenerator({ size: 160 * 1024 * 1024, dedupRatio: 10, compressRatio: 3, seed: 7 }).generateSync();
  for (const codec of [zstd1, zstd3]) {
    const r = wholeRatio(codec, data);
    t.ok(near(r, 3, 0.05), `${codec.name} on a dedup-10 compress-3 160 MiB object: ${r.toFixed(3)}`);
  }
});

t.test('no all-zero sector and no zero tail', async (t) => {
  const data = createGenerator({ size: 4 * 1024 * 1024, compressRatio: 64, seed: 2 }).generateSync();
  let zeroSectors = 0;
  for (let i = 0; i < data.length; i += 512) if (data.subarray(i, i + 512).every((b) => b === 0)) zeroSectors++;
  t.equal(zeroSectors, 0, 'c=64: every sector still holds keystream bytes');
  const c3 = createGenerator({ size: 1024 * 1024, compressRatio: 3, seed: 2 }).generateSync();
  let longest = 0,
    run = 0;
  for (const b of c3) longest = Math.max(longest, (run = b === 0 ? run + 1 : 0));
  t.ok(longest < 512 - 100, `c=3: longest zero run ${longest} bytes, inside one sector`);
});

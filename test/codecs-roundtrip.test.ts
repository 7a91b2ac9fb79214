// The native compressors (zstd from libzstd; gzip from ISA-L, libdeflate or zlib): every level at sizes
// 0, 1, 4095 and several MiB, read back byte-exact by independent readers (the zstd, gunzip and pigz
// command-line tools, node:zlib); written in pieces of varied sizes so blocks are both copied and
// compressed in place.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { createCompressor, createGenerator } from '../lib/index.js';
import { compressionLibrary } from '../lib/compression.js';
import { binding } from '../lib/native.js';
import { hasTool, lcg } from './fixtures/helpers.js';

const SIZES = [0, 1, 4095, 5 * 1024 * 1024 + 7];

/** Compresses `data` with `spec`, written in pieces of pseudo-random sizes up to 3 MiB. */
async function compress(spec: string, data: Buffer, seed: number): Promise<{ out: Buffer; implementation: string }> {
  const next = lcg(seed);
  const compressor = createCompressor(spec);
  const parts: Buffer[] = [];
  await pipeline(
    async function* () {
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, 1 + next(3 * 1024 * 1024));
        yield data.subarray(at, (at += n));
      }
    },
    compressor,
    new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }),
  );
  return { out: Buffer.concat(parts), implementation: compressor.implementation };
}

function run(tool: string, args: string[], input: Buffer): Buffer {
  return execFileSync(tool, args, { input, maxBuffer: 1 << 30 });
}

t.test('zstd, every level: zstd -d and node reads the frames byte-exact', async (t) => {
  t.ok(hasTool('zstd'), 'the zstd command-line tool is installed');
  for (let level = 1; level <= 19; level++) {
    for (const size of SIZES) {
      const data = createGenerator({ size, compressRatio: 3, seed: level }).generateSync();
      const { out, implementation } = await compress(`zstd:${level}`, data, level * 7 + size);
      t.equal(implementation, 'libzstd');
      t.ok(run('zstd', ['-d', '-c'], out).equals(data), `zstd:${level} ${size} B: zstd -d`);
      if (typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function') {
        const z = zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer };
        t.ok(z.zstdDecompressSync(out).equals(data), `zstd:${level} ${size} B: node:zlib`);
      }
    }
  }
});

t.test('gzip, every level: gunzip, pigz -d and node:zlib read the members byte-exact', async (t) => {
  t.ok(hasTool('gzip'), 'gzip is installed');
  const pigz = hasTool('pigz');
  if (!pigz) t.comment('pigz is not installed: its reads are skipped');
  const libraries = binding.codecLibraries.gzip.split(',');
  t.comment(`gzip libraries in this build: ${libraries.join(', ')}`);
  for (let level = 1; level <= 9; level++) {
    for (const size of SIZES) {
      const data = createGenerator({ size, compressRatio: 3, seed: 100 + level }).generateSync();
      const { out, implementation } = await compress(`gzip:${level}`, data, level * 11 + size);
      t.equal(implementation, compressionLibrary({ algorithm: 'gzip', level }));
      t.ok(run('gzip', ['-d', '-c'], out).equals(data), `gzip:${level} (${implementation}) ${size} B: gunzip`);
      if (pigz) t.ok(run('pigz', ['-d', '-c'], out).equals(data), `gzip:${level} ${size} B: pigz -d`);
      t.ok(zlib.gunzipSync(out).equals(data), `gzip:${level} ${size} B: node:zlib`);
    }
  }
  if (libraries.includes('isa-l')) t.equal(compressionLibrary({ algorithm: 'gzip', level: 1 }), 'isa-l', 'ISA-L serves level 1');
  if (libraries.includes('libdeflate'))
    t.equal(compressionLibrary({ algorithm: 'gzip', level: 6 }), 'libdeflate', 'libdeflate serves level 6');
});

t.test('incompressible data (c = 1) round-trips at the fast levels (stored blocks)', async (t) => {
  const data = createGenerator({ size: 3 * 1024 * 1024 + 1, seed: 9 }).generateSync();
  for (const spec of ['zstd:1', 'gzip:1', 'gzip:2', 'gzip:3', 'gzip:6']) {
    const { out } = await compress(spec, data, 5);
    const back = spec.startsWith('zstd') ? run('zstd', ['-d', '-c'], out) : run('gzip', ['-d', '-c'], out);
    t.ok(back.equals(data), `${spec}: ${out.length} B for ${data.length} B`);
    t.ok(out.length < data.length * 1.01, `${spec}: at most 1% larger than its input`);
  }
});

t.test('every gzip library of the build, every level it takes, read by gunzip', async (t) => {
  const data = createGenerator({ size: 2 * 1024 * 1024 + 3, compressRatio: 2, seed: 3 }).generateSync();
  const maxLevel: Record<string, number> = { 'isa-l': 3, libdeflate: 12, zlib: 9 };
  for (const library of binding.codecLibraries.gzip.split(',')) {
    for (let level = 1; level <= maxLevel[library]!; level++) {
      const out = await new Promise<Buffer>((resolve, reject) =>
        binding.compressBlock(library, level, [data.subarray(0, 1000), data.subarray(1000)], (err, o) =>
          err ? reject(err) : resolve(o!),
        ),
      );
      t.ok(run('gzip', ['-d', '-c'], out).equals(data), `${library} level ${level}`);
    }
  }
  t.throws(() => binding.compressBlock('brotli', 1, [data], () => {}), { name: 'RangeError' });
  t.throws(() => binding.compressBlock('zlib', 10, [data], () => {}), { name: 'RangeError' });
});

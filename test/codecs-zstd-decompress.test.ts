// zstd decompression where node:zlib has no zstd (Node < 22.15): libzstd's streaming decoder on the worker
// pool (cpp/codecs.cc ZstdDecoder). Input comes from the zstd command-line tool, an independent writer: sizes
// 0, 1, 4095 and several MiB at several levels, fed in pieces of varied sizes (1 byte to 3 MiB) so frames
// and steps cut anywhere; concatenated frames (and a skippable frame) read as one stream; truncated,
// corrupted and over-large-window input end the stream with ERR_DGEN_CORRUPT_DATA, and nothing stays in
// flight on the pool. Where the runtime's node:zlib has zstd, createDecompressor uses it and the native
// decoder is tested through the binding's own stream class, so these tests run on every runtime.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecompressor, createCompressor, zstdImplementation } from '../lib/compression.js';
import { createGenerator } from '../lib/generator.js';
import { binding } from '../lib/native.js';
import { hasTool, lcg } from './fixtures/helpers.js';

const SIZES = [0, 1, 4095, 5 * 1024 * 1024 + 7];

function zstdCli(args: string[], input: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', ...args], { input, maxBuffer: 1 << 30 });
}

/** Decompresses `data` fed in pseudo-random pieces of 1 byte up to `max` bytes. */
async function decompress(
  data: Buffer,
  seed: number,
  max = 3 * 1024 * 1024,
): Promise<{ out: Buffer; implementation: string; bytesIn: number; bytesReleased: number }> {
  const next = lcg(seed);
  const d = createDecompressor('zstd');
  const parts: Buffer[] = [];
  await pipeline(
    async function* () {
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, 1 + next(max));
        yield data.subarray(at, (at += n));
      }
    },
    d,
    new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }),
  );
  return { out: Buffer.concat(parts), implementation: d.implementation, bytesIn: d.bytesIn, bytesReleased: d.bytesReleased };
}

t.before(() => {
  if (!hasTool('zstd')) throw new Error('the zstd command-line tool is not installed');
});

t.test('zstd CLI output at sizes 0, 1, 4095, several MiB and levels 1, 3, 19 reads back byte-exact', async (t) => {
  t.comment(`zstd from ${zstdImplementation} on Node ${process.version}`);
  if (zstdImplementation !== 'node:zlib') t.equal(zstdImplementation, 'libzstd', 'native decoder where node:zlib lacks zstd');
  for (const level of [1, 3, 19]) {
    for (const size of SIZES) {
      if (level === 19 && size > 4095) continue; // level 19 is slow; its window is exercised by the 8 MiB case below
      const data = createGenerator({ size, compressRatio: 3, seed: level + size }).generateSync();
      const packed = zstdCli([`-${level}`], data);
      const r = await decompress(packed, level * 31 + size, size > 4095 ? 3 << 20 : 7);
      t.ok(r.out.equals(data), `level ${level}, ${size} B`);
      t.equal(r.bytesIn, packed.length, 'bytesIn counts the compressed bytes');
      t.equal(r.bytesReleased, packed.length, 'every input byte is released at the end');
    }
  }
  // A frame whose window (8 MiB, level 19) spans many steps and output buffers.
  const big = createGenerator({ size: 12 * 1024 * 1024, compressRatio: 4, dedupRatio: 2, seed: 9 }).generateSync();
  const r = await decompress(zstdCli(['-19', '-T2'], big), 5, 1 << 20);
  t.ok(r.out.equals(big), '12 MiB at level 19 (8 MiB window)');
});

t.test('concatenated frames (zstd CLI outputs, an empty one, our own blocks) read as one stream', async (t) => {
  const a = createGenerator({ size: 3 * 1024 * 1024 + 1, compressRatio: 2, seed: 1 }).generateSync();
  const b = createGenerator({ size: 4095, compressRatio: 5, seed: 2 }).generateSync();
  // A skippable frame (magic 0x184D2A50, 4-byte length, content) between them: zstd -d skips it.
  const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0]), Buffer.from('hello')]);
  const packed = Buffer.concat([zstdCli(['-1'], a), zstdCli(['-3'], Buffer.alloc(0)), skippable, zstdCli(['-9'], b)]);
  t.ok(
    execFileSync('zstd', ['-d', '-c'], { input: packed, maxBuffer: 1 << 30 }).equals(Buffer.concat([a, b])),
    'zstd -d reads the same input',
  );
  for (const seed of [1, 2, 3]) {
    const r = await decompress(packed, seed, seed === 1 ? 64 * 1024 : 1 << 20);
    t.ok(r.out.equals(Buffer.concat([a, b])), `fed in pieces (seed ${seed})`);
  }
  // The native compressors write one frame per block: a 9 MiB input is several frames.
  const c = createGenerator({ size: 9 * 1024 * 1024, compressRatio: 3, seed: 3 }).generateSync();
  const parts: Buffer[] = [];
  await pipeline([c], createCompressor('zstd:1'), new Writable({ write: (x: Buffer, _e, cb) => (parts.push(x), cb()) }));
  t.ok((await decompress(Buffer.concat(parts), 4)).out.equals(c), 'createCompressor output');
});

t.test('empty input is an empty stream', async (t) => {
  t.equal((await decompress(Buffer.alloc(0), 1)).out.length, 0);
});

/** Decompression of `data` must fail with ERR_DGEN_CORRUPT_DATA. */
async function rejects(t: Tap.Test, data: Buffer, what: string, seed = 1): Promise<void> {
  await t.rejects(decompress(data, seed, 1 << 20), { code: 'ERR_DGEN_CORRUPT_DATA', algorithm: 'zstd' }, what);
  t.equal(binding.codecStats().blocksInFlight, 0, `${what}: no step left on the pool`);
}

t.test('truncated, corrupted and foreign input: ERR_DGEN_CORRUPT_DATA', async (t) => {
  const data = createGenerator({ size: 2 * 1024 * 1024, compressRatio: 3, seed: 7 }).generateSync();
  const packed = zstdCli(['-3'], data);
  await rejects(t, packed.subarray(0, packed.length - 1), 'last byte cut (checksum missing)');
  await rejects(t, packed.subarray(0, packed.length >> 1), 'cut in the middle of a frame');
  await rejects(t, packed.subarray(0, 3), 'cut inside the frame header');
  await rejects(t, Buffer.concat([packed, packed.subarray(0, 100)]), 'a whole frame then a truncated one');
  for (const at of [packed.length >> 2, packed.length >> 1, packed.length - 2]) {
    const bad = Buffer.from(packed);
    bad[at] ^= 0x5a;
    await rejects(t, bad, `byte ${at} of ${packed.length} changed`);
  }
  await rejects(t, Buffer.from('definitely not zstd, nor anything else'), 'not zstd at all');
  // A frame that asks for a 256 MiB window (zstd --long=28): over the 128 MiB limit, as zstd -d says too.
  const long = zstdCli(['--long=28'], createGenerator({ size: 1000, seed: 1 }).generateSync());
  t.throws(
    () => execFileSync('zstd', ['-d', '-c'], { input: long, stdio: ['pipe', 'pipe', 'ignore'] }),
    'zstd -d refuses it too',
  );
  await rejects(t, long, 'window over 128 MiB');
});

t.test('destroyed mid-stream: the step in flight finishes and nothing is left', async (t) => {
  const data = createGenerator({ size: 8 * 1024 * 1024, compressRatio: 2, seed: 3 }).generateSync();
  const packed = zstdCli(['-1'], data);
  const d = createDecompressor('zstd');
  const closed = new Promise((resolve) => d.on('close', resolve));
  d.on('error', () => {});
  d.write(packed);
  d.destroy(new Error('stop'));
  await closed;
  await new Promise((r) => setTimeout(r, 50));
  while (binding.codecStats().blocksInFlight > 0) await new Promise((r) => setTimeout(r, 10));
  t.equal(binding.codecStats().blocksInFlight, 0);
});

// Output memory passes from one compressor to the next only once its consumer has released it: after a
// stream into an fs.WriteStream ends, the next compressor compresses into the buffers the first one used
// (counted at the binding), and output a consumer still holds (it reports nothing released) is never
// written over: both streams' outputs read back byte-exact with the zstd command-line tool afterwards.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { kChunkProgress } from '../lib/chunk-recycling.js';
import { createCompressor } from '../lib/compression.js';
import { DataSource } from '../lib/source.js';
import { createGenerator } from '../lib/generator.js';
import { binding } from '../lib/native.js';
import { hasTool } from './fixtures/helpers.js';

const SIZE = 24 * 1024 * 1024 + 4096;

/** Records the output buffers (their ArrayBuffers) given to compressBlock while `run` runs. */
async function outputsOf(run: () => Promise<void>): Promise<Set<ArrayBufferLike>> {
  const seen = new Set<ArrayBufferLike>();
  const original = binding.compressBlock;
  binding.compressBlock = function (...args: Parameters<typeof original>) {
    if (args[4]) seen.add(args[4].buffer);
    return original.apply(this, args);
  };
  try {
    await run();
  } finally {
    binding.compressBlock = original;
  }
  return seen;
}

/** A consumer that keeps every chunk and says so: it acknowledges them and releases none. */
function keeper(parts: Buffer[]): Writable {
  let bytes = 0;
  const w = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), (bytes += c.length), cb()) });
  return Object.assign(w, { [kChunkProgress]: () => ({ acknowledged: bytes, released: 0 }) });
}

t.test('released output memory goes to the next compressor; held output is never written over', async (t) => {
  t.ok(hasTool('zstd'), 'the zstd command-line tool is installed');
  const dir = await mkdtemp(join(tmpdir(), 'dgen-spare-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const data = (seed: number) => createGenerator({ size: SIZE, compressRatio: 2, seed }).generateSync();

  // 1: into a file; the WriteStream releases what it has written, so its buffers become spare.
  const first = await outputsOf(() =>
    pipeline(
      new DataSource({ size: SIZE, compressRatio: 2, seed: 1 }),
      createCompressor('zstd:1'),
      createWriteStream(join(dir, 'a.zst')),
    ),
  );
  t.ok(first.size > 0, 'the first compressor compressed into reusable output memory');
  // 2: into a consumer that holds everything: it may take the file's spare buffers, and only those.
  const held: Buffer[] = [];
  const second = await outputsOf(() =>
    pipeline(new DataSource({ size: SIZE, compressRatio: 2, seed: 2 }), createCompressor('zstd:1'), keeper(held)),
  );
  t.ok(
    [...second].some((b) => first.has(b)),
    "the second compressor reused the first one's released buffers",
  );
  // 3: another stream; it must not take the buffers the keeper still holds.
  const third = await outputsOf(() =>
    pipeline(
      new DataSource({ size: SIZE, compressRatio: 2, seed: 3 }),
      createCompressor('zstd:1'),
      createWriteStream(join(dir, 'c.zst')),
    ),
  );
  const kept = new Set(held.map((b) => b.buffer));
  t.ok(
    [...second].some((b) => kept.has(b)),
    'the keeper holds output memory of the second compressor',
  );
  t.notOk(
    [...third].some((b) => kept.has(b)),
    'no buffer the keeper holds is handed out again',
  );

  const dec = (b: Buffer) => execFileSync('zstd', ['-dc'], { input: b, maxBuffer: 1 << 30 });
  t.ok(dec(await readFile(join(dir, 'a.zst'))).equals(data(1)), 'first file byte-exact');
  t.ok(dec(Buffer.concat(held)).equals(data(2)), 'held output byte-exact after later streams ran');
  t.ok(dec(await readFile(join(dir, 'c.zst'))).equals(data(3)), 'third file byte-exact');
});

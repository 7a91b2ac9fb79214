// The native compressors as streams: bytesReleased lets a writer reuse its chunk memory; a compressor
// reuses its output memory only once a consumer that reports progress has released it; destroy in the
// middle leaves no block behind; corrupt compressed input fails the decompressor with a typed error.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { createCompressor, createDecompressor, createGenerator } from '../lib/index.js';
import { binding } from '../lib/native.js';
import { kChunkProgress } from '../lib/chunk-recycling.js';

function collect(into: Buffer[]): Writable {
  return new Writable({ write: (c: Buffer, _e, cb) => (into.push(c), cb()) });
}

/** Resolves once `done()` holds, polled every 5 ms. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
}

/** Resolves once no compression job is on the pool's workers. */
const settled = (): Promise<void> => until(() => binding.codecStats().blocksInFlight === 0);

t.test('a writer that reuses its chunk memory once bytesReleased passes it gets the right output', async (t) => {
  // Buffers in rotation, as many as maxHeldBytes asks for and one more; one is overwritten with the next
  // data only after the compressor released it. Chunks of 3 MiB hold whole blocks and parts of blocks.
  const size = 40 * 1024 * 1024 + 5;
  const chunk = 3 * 1024 * 1024;
  const generator = createGenerator({ size, compressRatio: 2, seed: 21 });
  for (const spec of ['gzip:1', 'zstd:1', 'zstd:3']) {
    const compressor = createCompressor(spec);
    const count = Math.ceil(compressor.maxHeldBytes / chunk) + 1;
    const parts: Buffer[] = [];
    const done = pipeline(compressor, collect(parts));
    const buffers = Array.from({ length: count }, () => Buffer.alloc(chunk));
    const ends = buffers.map(() => 0); // where the data last written from each buffer ends in the input
    let sawHeld = false;
    let last = 0;
    compressor.on('release', (n: number) => {
      if (n < last || n > compressor.bytesIn) t.fail(`bytesReleased ${n} after ${last}, bytesIn ${compressor.bytesIn}`);
      last = n;
    });
    for (let at = 0, i = 0; at < size; i++) {
      const k = i % count;
      while (compressor.bytesReleased < ends[k]!) await once(compressor, 'release');
      const n = Math.min(chunk, size - at);
      const buffer = buffers[k]!.subarray(0, n);
      generator.fillSync(buffer, at);
      ends[k] = at += n;
      if (!compressor.write(buffer)) await once(compressor, 'drain');
      if (compressor.bytesReleased < compressor.bytesIn) sawHeld = true;
    }
    compressor.end();
    await done;
    t.equal(compressor.bytesReleased, size, `${spec}: every byte released at the end`);
    t.ok(sawHeld, `${spec}: some chunk was held after its write callback (read in place)`);
    t.ok(compressor.maxHeldBytes > 0, `${spec}: holds up to ${compressor.maxHeldBytes} B`);
    const out = Buffer.concat(parts);
    const back = spec.startsWith('gzip')
      ? zlib.gunzipSync(out)
      : execFileSync('zstd', ['-d', '-c'], { input: out, maxBuffer: 1 << 30 });
    t.ok(
      back.equals(createGenerator({ size, compressRatio: 2, seed: 21 }).generateSync()),
      `${spec}: the output decompresses to the data`,
    );
  }
});

t.test('output memory is reused only after a consumer that reports progress released it', async (t) => {
  // The consumer acknowledges each output at once but reads and releases it only later, on a timer (as a
  // sink whose write finishes asynchronously would): had the compressor compressed the next block into
  // that memory earlier, the copy made at release would not decompress to the data (read by the CLIs).
  const size = 30 * 1024 * 1024 + 7;
  const data = createGenerator({ size, compressRatio: 2, seed: 31 }).generateSync();
  for (const spec of ['zstd:1', 'gzip:1', 'gzip:6']) {
    const copies: Buffer[] = [];
    const memories = new Set<ArrayBufferLike>();
    let outputs = 0;
    let acknowledged = 0;
    let released = 0;
    const consumer = new Writable({
      write: (c: Buffer, _e, cb) => {
        outputs++;
        memories.add(c.buffer);
        acknowledged += c.length;
        setTimeout(() => {
          copies.push(Buffer.from(c));
          released += c.length;
        }, 20);
        cb();
      },
      final: (cb) => void setTimeout(cb, 40),
    });
    (consumer as unknown as Record<symbol, unknown>)[kChunkProgress] = () => ({ acknowledged, released });
    await pipeline(
      async function* () {
        for (let at = 0, i = 0; at < size; at += 4 * 1024 * 1024, i++) {
          // Every third chunk waits until the compressor is idle and the consumer has released all it was
          // given, so that memory is free for the next blocks whatever the machine's load (timers can fire
          // late enough for every output to be out before the first release); between those waits outputs
          // are compressed while earlier ones are still unreleased, where reusing them would show.
          if (i % 3 === 2) {
            await settled();
            await until(() => released >= acknowledged);
          }
          yield data.subarray(at, at + 4 * 1024 * 1024);
        }
      },
      createCompressor(spec),
      consumer,
    );
    t.equal(released, acknowledged, `${spec}: every output released`);
    t.ok(memories.size < outputs, `${spec}: ${outputs} outputs in ${memories.size} buffers (memory reused)`);
    const back = spec.startsWith('gzip')
      ? execFileSync('gunzip', ['-c'], { input: Buffer.concat(copies), maxBuffer: 1 << 30 })
      : execFileSync('zstd', ['-d', '-c'], { input: Buffer.concat(copies), maxBuffer: 1 << 30 });
    t.ok(back.equals(data), `${spec}: what the consumer read at release decompresses to the data`);
  }
});

t.test(
  'piped to an fs.WriteStream, the file decompresses to the data; to a plain Writable, every output is its own memory',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dgen-codecs-stream-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const size = 20 * 1024 * 1024 + 3;
    const data = createGenerator({ size, compressRatio: 2, seed: 32 }).generateSync();
    const source = async function* () {
      for (let at = 0; at < size; at += 1024 * 1024) yield data.subarray(at, at + 1024 * 1024);
    };
    const file = join(dir, 'out.zst');
    await pipeline(source, createCompressor('zstd:1'), createWriteStream(file));
    t.ok(execFileSync('zstd', ['-d', '-c', file], { maxBuffer: 1 << 30 }).equals(data), 'zstd -d reads the file');
    const kept: Buffer[] = [];
    await pipeline(source, createCompressor('zstd:1'), collect(kept));
    t.equal(new Set(kept.map((c) => c.buffer)).size, kept.length, 'no output memory shared with another output');
    t.ok(Buffer.concat(kept).equals(readFileSync(file)), 'same bytes as the file');
  },
);

t.test('destroy in the middle: no output afterwards, every block finishes and lets go of its input', async (t) => {
  await settled();
  for (const spec of ['zstd:3', 'gzip:6', 'gzip:1']) {
    const compressor = createCompressor(spec);
    let after = 0;
    let destroyed = false;
    compressor.on('data', () => destroyed && after++);
    const errors: Error[] = [];
    compressor.on('error', (e) => errors.push(e));
    const data = createGenerator({ size: 24 * 1024 * 1024, compressRatio: 2, seed: 5 }).generateSync();
    compressor.write(data.subarray(0, 16 * 1024 * 1024));
    compressor.write(data.subarray(16 * 1024 * 1024));
    t.ok(binding.codecStats().blocksInFlight > 0, `${spec}: blocks are in flight when the stream is destroyed`);
    compressor.destroy();
    destroyed = true;
    await once(compressor, 'close');
    await settled();
    t.equal(binding.codecStats().blocksInFlight, 0, `${spec}: no block left`);
    t.equal(after, 0, `${spec}: no output after destroy`);
    t.same(errors, [], `${spec}: no error`);
    t.ok(compressor.destroyed);
  }
});

t.test('destroy with an error reports it once', async (t) => {
  const compressor = createCompressor('zstd:1');
  compressor.write(Buffer.alloc(8 * 1024 * 1024, 1));
  const failed = once(compressor, 'error');
  compressor.destroy(new Error('stop'));
  const [err] = await failed;
  t.equal((err as Error).message, 'stop');
  await settled();
});

t.test('corrupt compressed input: ERR_DGEN_CORRUPT_DATA from the decompressor', async (t) => {
  const data = createGenerator({ size: 3 * 1024 * 1024, compressRatio: 2, seed: 8 }).generateSync();
  for (const algorithm of ['zstd', 'gzip'] as const) {
    const parts: Buffer[] = [];
    await pipeline(
      async function* () {
        yield data;
      },
      createCompressor(algorithm),
      collect(parts),
    );
    const good = Buffer.concat(parts);
    const flipped = Buffer.from(good);
    for (let i = Math.floor(good.length / 2); i < good.length / 2 + 64; i++) flipped[i]! ^= 0x5a;
    for (const [what, input] of [
      ['bytes flipped in the middle', flipped],
      ['not compressed at all', Buffer.from('definitely not compressed data, neither zstd nor gzip')],
    ] as const) {
      await t.rejects(
        pipeline(
          async function* () {
            yield input;
          },
          createDecompressor(algorithm),
          collect([]),
        ),
        { code: 'ERR_DGEN_CORRUPT_DATA', algorithm },
        `${algorithm}: ${what}`,
      );
    }
  }
});

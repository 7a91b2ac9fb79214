// DataSource starts the next fill before it pushes the chunk that just became ready (lib/source.ts #pump):
// output byte-identical to one-shot generation for odd sizes, several chunk sizes and queue depths; chunks
// a consumer holds keep their bytes while the stream goes on; generation never runs further ahead than
// highWaterMark + queueDepth x chunkSize.
import t from 'tap';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGenerator, DataSource } from '../lib/index.js';

const MiB = 1024 * 1024;
const shape = { dedupRatio: 2, compressRatio: 3, seed: 41n };
const expected = (size: number) => {
  const b = Buffer.alloc(size);
  createGenerator({ size, ...shape }).fillSync(b, 0);
  return b;
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test('bytes exact for odd sizes, several chunk sizes and queue depths', async (t) => {
  for (const [size, chunkSize] of [
    [9 * MiB + 4097, 2 * MiB],
    [5 * MiB + 511, 512 * 1024],
    [3 * MiB + 1, 4 * MiB],
    [70 * 512 + 3, 512],
  ] as const) {
    for (const queueDepth of [1, 2, 3]) {
      const got: Buffer[] = [];
      await pipeline(
        new DataSource({ size, chunkSize, queueDepth, ...shape }),
        new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) }),
      );
      t.ok(Buffer.concat(got).equals(expected(size)), `size ${size}, chunks of ${chunkSize}, queueDepth ${queueDepth}`);
    }
  }
});

t.test('held chunks keep their bytes, and generation stays within the bound', async (t) => {
  const size = 96 * MiB + 512;
  const chunkSize = 2 * MiB;
  for (const queueDepth of [1, 3]) {
    const source = new DataSource({ size, chunkSize, queueDepth, ...shape });
    const bound = source.readableHighWaterMark + queueDepth * chunkSize;
    const held: { chunk: Buffer; at: number; digest: string }[] = [];
    let consumed = 0;
    let worstAhead = 0;
    await pipeline(
      source,
      new Writable({
        highWaterMark: chunkSize,
        write(chunk: Buffer, _e, cb) {
          if (held.length < 12 && (consumed / chunkSize) % 4 === 0) held.push({ chunk, at: consumed, digest: sha(chunk) });
          consumed += chunk.length;
          worstAhead = Math.max(worstAhead, source.bytesGenerated - consumed);
          setImmediate(cb);
        },
      }),
    );
    const all = expected(size);
    t.ok(
      held.length === 12 &&
        held.every((h) => sha(h.chunk) === h.digest && h.chunk.equals(all.subarray(h.at, h.at + h.chunk.length))),
      `queueDepth ${queueDepth}: ${held.length} held chunks kept the bytes of their offsets`,
    );
    t.ok(worstAhead <= bound, `queueDepth ${queueDepth}: at most ${worstAhead} bytes generated ahead (bound ${bound})`);
  }
});

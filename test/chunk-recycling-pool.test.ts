// Chunks handed to consumers that may keep them (a foreign Writable, a web stream's default reader) come
// from the native chunk pool and go back only when V8 has collected them (lib/source.ts chunkMemory):
// output byte-identical to one-shot generation for odd sizes and several chunk sizes, held chunks never
// overwritten while the pool recycles the dropped ones, and destroy or abort mid-stream leaves the pool
// as it was once the chunks are collected.
import t from 'tap';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bufferPoolStats, createGenerator, createWebStream, DataSource } from '../lib/index.js';
import { collect, gc, settledPoolStats } from './fixtures/pool.js';

const MiB = 1024 * 1024;
const shape = { dedupRatio: 2, compressRatio: 3, seed: 23n };
const expected = (size: number) => {
  const b = Buffer.alloc(size);
  createGenerator({ size, ...shape }).fillSync(b, 0);
  return b;
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sizes = [
  [20 * MiB + 3, 512 * 1024],
  [9 * MiB + 4097, 2 * MiB],
  [13 * MiB + 511, 4 * MiB],
  [1000, 512],
] as const;

t.test('a foreign Writable gets pool chunks: bytes exact for odd sizes and several chunk sizes', async (t) => {
  for (const [size, chunkSize] of sizes) {
    const got: Buffer[] = [];
    await pipeline(
      new DataSource({ size, chunkSize, ...shape }),
      new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) }),
    );
    t.ok(Buffer.concat(got).equals(expected(size)), `size ${size}, chunks of ${chunkSize}`);
  }
});

t.test('a web default reader gets pool chunks: bytes exact for odd sizes and several chunk sizes', async (t) => {
  for (const [size, chunkSize] of sizes) {
    const got: Uint8Array[] = [];
    for await (const c of createWebStream({ size, chunkSize, ...shape }) as unknown as AsyncIterable<Uint8Array>) got.push(c);
    t.ok(Buffer.concat(got).equals(expected(size)), `size ${size}, chunks of ${chunkSize}`);
  }
});

t.test('chunks a foreign Writable holds are never reused while the pool recycles the others', async (t) => {
  const before = bufferPoolStats();
  const held: { chunk: Buffer; digest: string }[] = [];
  const size = 160 * MiB + 512;
  let i = 0;
  await pipeline(
    new DataSource({ size, chunkSize: 2 * MiB, ...shape }),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        if (i++ % 8 === 0) held.push({ chunk, digest: sha(chunk) }); // keep some, drop the rest
        if (i % 16 === 0) gc(); // dropped chunks go back to the pool while the stream goes on
        setImmediate(cb);
      },
    }),
  );
  const after = bufferPoolStats();
  t.ok(after.reuses > before.reuses, `pool memory was reused during the stream (${after.reuses - before.reuses} reuses)`);
  t.ok(held.length >= 10 && held.every((h) => sha(h.chunk) === h.digest), `${held.length} held chunks kept their bytes`);
  const all = expected(size);
  t.ok(
    held.every((h, k) => h.chunk.equals(all.subarray(k * 8 * 2 * MiB, k * 8 * 2 * MiB + h.chunk.length))),
    'and they are the bytes of their offsets',
  );
});

t.test('chunks a web default reader holds are never reused while the pool recycles the others', async (t) => {
  const before = bufferPoolStats();
  const held: { chunk: Uint8Array; digest: string }[] = [];
  const reader = createWebStream({ size: 160 * MiB, chunkSize: 2 * MiB, ...shape }).getReader();
  for (let i = 0; ; i++) {
    const { done, value } = await reader.read();
    if (done) break;
    if (i % 8 === 0) held.push({ chunk: value, digest: sha(value) });
    if (i % 16 === 15) gc();
  }
  const after = bufferPoolStats();
  t.ok(after.reuses > before.reuses, `pool memory was reused during the stream (${after.reuses - before.reuses} reuses)`);
  t.ok(held.length >= 10 && held.every((h) => sha(h.chunk) === h.digest), `${held.length} held chunks kept their bytes`);
});

t.test('destroy, abort and cancel mid-stream: once the chunks are collected the pool is as it was', async (t) => {
  await collect();
  const start = bufferPoolStats();
  t.equal(start.freeBlocks, 0, 'no free blocks while no stream is open');
  // destroy (the sources stay referenced: a destroyed source lets go of its chunks)
  const a = new DataSource({ size: 1024 ** 3, chunkSize: 4 * MiB, ...shape });
  let n = 0;
  await new Promise<void>((resolve) => {
    a.on('close', resolve);
    a.pipe(new Writable({ write: (c: Buffer, _e, cb) => ((n += c.length) >= 24 * MiB && a.destroy(), cb()) }));
  });
  t.ok(a.destroyed);
  // abort
  const ac = new AbortController();
  let m = 0;
  const b = new DataSource({ size: 1024 ** 3, chunkSize: 4 * MiB, signal: ac.signal, ...shape });
  await t.rejects(
    pipeline(b, new Writable({ write: (c: Buffer, _e, cb) => ((m += c.length) >= 24 * MiB && ac.abort(), cb()) })),
    { name: 'AbortError' },
  );
  // cancel a web stream's default reader
  const reader = createWebStream({ size: 1024 ** 3, chunkSize: 4 * MiB, ...shape }).getReader();
  for (let i = 0; i < 6; i++) await reader.read();
  await reader.cancel();
  // and one that fills three chunks ahead
  const ahead = createWebStream({ size: 1024 ** 3, chunkSize: 4 * MiB, queueDepth: 3, ...shape }).getReader();
  for (let i = 0; i < 6; i++) await ahead.read();
  await ahead.cancel();
  // Fills that were running on the pool when the streams stopped hand their blocks back when they finish,
  // which on a busy machine can take a while: wait for it (up to 30 s), collecting as we go.
  // The AbortController (still referenced here) keeps its AbortError, whose stack trace keeps the
  // functions of its frames and their closures: among them the source's fill callback, which once kept its
  // chunk out of the pool (1 block outstanding under tap's coverage, every run; heap snapshot, 2026-12-02).
  const end = await settledPoolStats(start);
  t.ok(b.destroyed);
  t.same(
    { outstandingBlocks: end.outstandingBlocks, freeBlocks: end.freeBlocks },
    { outstandingBlocks: start.outstandingBlocks, freeBlocks: 0 },
    `every pooled chunk went back and was freed (${JSON.stringify(end)})`,
  );
});

t.test('a source destroyed while chunks sit in its Readable buffer lets go of them (it stays referenced)', async (t) => {
  // Node's Readable keeps its buffer after destroy (Node 20, 22 and 24); DataSource drops it on close. Without
  // that, the 2 chunks buffered here stayed out of the pool for as long as the source was referenced.
  await collect();
  const start = bufferPoolStats();
  const source = new DataSource({ size: 64 * MiB, chunkSize: 4 * MiB, ...shape });
  await new Promise<void>((resolve) => {
    const poll = () => (source.readableLength >= 2 * 4 * MiB ? resolve() : setTimeout(poll, 5));
    source.once('readable', poll); // paused: the stream buffers up to highWaterMark (2 chunks) and waits
  });
  t.equal(source.readableLength, 8 * MiB, 'two chunks buffered in the paused source');
  source.destroy();
  await new Promise((r) => source.once('close', r));
  let end = bufferPoolStats();
  for (let i = 0; i < 100 && end.outstandingBlocks !== start.outstandingBlocks; i++) {
    await collect();
    end = bufferPoolStats();
    if (end.outstandingBlocks !== start.outstandingBlocks) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(
    end.outstandingBlocks,
    start.outstandingBlocks,
    `no chunk of the destroyed source is outstanding (${JSON.stringify(end)})`,
  );
  t.ok(source.destroyed, 'while the source is still referenced');
});

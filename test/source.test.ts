// The Node Readable source: exact bytes, backpressure, bounded memory, destroy and AbortSignal, and
// interop with stream.pipeline, for await and Readable.toWeb.
import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as tick } from 'node:timers/promises';
import { bufferPoolStats, createGenerator, DataSource } from '../lib/index.js';

const shape = { dedupRatio: 2, compressRatio: 3, seed: 17n };

t.test('yields exactly size bytes equal to one-shot generation, chunks of chunkSize', async (t) => {
  for (const [size, chunkSize] of [
    [0, 512],
    [1, 512],
    [10 * 1024 * 1024 + 3, 1024 * 1024],
    [5000, 4096],
    [3 * 1024 * 1024, 512 * 1024],
  ] as const) {
    const source = new DataSource({ size, chunkSize, ...shape });
    const chunks: Buffer[] = [];
    // 'data' events see the chunks as pushed (for await ... read() may join buffered ones).
    source.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve, reject) => source.once('end', resolve).once('error', reject));
    const all = Buffer.concat(chunks);
    t.equal(all.length, size, `size ${size}`);
    t.ok(all.equals(createGenerator({ size, ...shape }).generateSync()), `bytes equal one-shot, size ${size}`);
    t.ok(
      chunks.slice(0, -1).every((c) => c.length === chunkSize),
      'every chunk but the last is chunkSize bytes',
    );
  }
});

t.test('for await yields the same bytes', async (t) => {
  const size = 5 * 1024 * 1024 + 9;
  const parts: Buffer[] = [];
  for await (const chunk of new DataSource({ size, chunkSize: 1 << 20, ...shape })) parts.push(chunk as Buffer);
  t.ok(Buffer.concat(parts).equals(createGenerator({ size, ...shape }).generateSync()));
});

t.test('stream.pipeline and Readable.toWeb interop', async (t) => {
  const size = 6 * 1024 * 1024 + 100;
  const expected = createGenerator({ size, ...shape }).generateSync();
  const got: Buffer[] = [];
  await pipeline(
    new DataSource({ size, ...shape, chunkSize: 1 << 20 }),
    new Writable({
      write(chunk, _e, cb) {
        got.push(chunk);
        cb();
      },
    }),
  );
  t.ok(Buffer.concat(got).equals(expected), 'pipeline into a Writable');
  const web = Readable.toWeb(new DataSource({ size, ...shape }));
  const parts: Uint8Array[] = [];
  for await (const part of web as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  t.ok(Buffer.concat(parts).equals(expected), 'Readable.toWeb');
  t.ok(new DataSource({ size: 1 }) instanceof Readable, 'a real stream.Readable');
});

t.test('backpressure keeps memory bounded on a multi-GiB stream', async (t) => {
  const size = 3 * 1024 * 1024 * 1024; // 3 GiB
  const chunkSize = 4 * 1024 * 1024;
  const source = new DataSource({ size, chunkSize, compressRatio: 3, seed: 1 });
  const bound = source.readableHighWaterMark + source.queueDepth * chunkSize;
  let consumed = 0;
  let worstAhead = 0;
  let worstExternal = 0;
  const base = bufferPoolStats().outstandingBytes + bufferPoolStats().freeBytes + process.memoryUsage().arrayBuffers;
  await pipeline(
    source,
    new Writable({
      highWaterMark: chunkSize,
      write(chunk: Buffer, _e, cb) {
        consumed += chunk.length;
        worstAhead = Math.max(worstAhead, source.bytesGenerated - consumed);
        if (consumed % (256 * 1024 * 1024) === 0) {
          const stats = bufferPoolStats();
          worstExternal = Math.max(
            worstExternal,
            stats.outstandingBytes + stats.freeBytes + process.memoryUsage().arrayBuffers - base,
          );
          // A slow consumer now and then: the source must wait, not run ahead.
          setTimeout(cb, 5);
        } else setImmediate(cb);
      },
    }),
  );
  t.equal(consumed, size);
  t.ok(worstAhead <= bound, `generation ran at most ${worstAhead} bytes ahead of the consumer (bound ${bound})`);
  t.ok(
    worstExternal < 256 * 1024 * 1024,
    `chunk memory above baseline stayed at ${(worstExternal / 2 ** 20).toFixed(0)} MiB for a 3 GiB stream`,
  );
});

t.test('destroy() stops generation promptly', async (t) => {
  const source = new DataSource({ size: 1024 ** 4, chunkSize: 1 << 20, seed: 1 });
  let n = 0;
  for await (const chunk of source) {
    n += (chunk as Buffer).length;
    if (n >= 8 << 20) break; // for-await's break destroys the stream
  }
  t.ok(source.destroyed);
  const at = source.bytesGenerated;
  await tick();
  await new Promise((r) => setTimeout(r, 20));
  t.equal(source.bytesGenerated, at, 'no generation after destroy');
  t.ok(
    at <= n + source.readableHighWaterMark + source.queueDepth * (1 << 20),
    'at most a high-water mark and the queue generated beyond what was read',
  );
});

t.test('AbortSignal aborts the stream and the pipeline', async (t) => {
  const ac = new AbortController();
  const source = new DataSource({ size: 1024 ** 4, signal: ac.signal, seed: 1 });
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      n += chunk.length;
      if (n >= 16 << 20) ac.abort();
      cb();
    },
  });
  await t.rejects(pipeline(source, sink), { name: 'AbortError' });
  t.ok(source.destroyed);
  t.ok(source.bytesGenerated < 64 << 20, `stopped after ${source.bytesGenerated} bytes`);
  const already = AbortSignal.abort();
  await t.rejects(pipeline(new DataSource({ size: 100, signal: already }), new Writable({ write: (_c, _e, cb) => cb() })), {
    name: 'AbortError',
  });
});

t.test('invalid chunking is a clear error', async (t) => {
  t.throws(() => new DataSource({ size: 10, chunkSize: 1000 }), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_CHUNK_SIZE',
    parameter: 'chunkSize',
  });
  t.throws(() => new DataSource({ size: 10, chunkSize: 0 }), { code: 'ERR_DGEN_INVALID_CHUNK_SIZE' });
  t.throws(() => new DataSource({ size: 10, highWaterMark: 100 }), {
    code: 'ERR_DGEN_INVALID_CHUNK_SIZE',
    parameter: 'highWaterMark',
  });
  t.throws(() => new DataSource({ size: 10, signal: {} as AbortSignal }), { name: 'TypeError', code: 'ERR_DGEN_INVALID_OPTION' });
  const s = new DataSource({ size: 10, chunkSize: '64KiB' });
  t.equal(s.chunkSize, 65536);
  t.equal(s.readableHighWaterMark, 131072, 'default highWaterMark is two chunks');
  s.destroy();
});

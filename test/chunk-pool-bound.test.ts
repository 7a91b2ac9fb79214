// The chunk pool hides its chunks from V8's external-memory count only within a budget (the open streams'
// highWaterMark + queueDepth x chunkSize, plus a slack: cpp/addon_buffers.cc, "Chunks hidden from V8's
// external-memory count"): a consumer that holds chunks until they are promoted still sees the pool
// bounded, one that keeps every chunk still gets every byte, and the budget and hidden bytes go back to
// their start once the streams close and their chunks are collected.
import t from 'tap';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bufferPoolStats, createWebStream, DataSource } from '../lib/index.js';
import { collect, expectedSha, settledPoolStats } from './fixtures/pool.js';

const MiB = 1024 * 1024;
const shape = { dedupRatio: 2, compressRatio: 3, seed: 71n };

t.test('the budget is the open streams needs plus the slack, and goes back when they close', async (t) => {
  const start = bufferPoolStats();
  const a = new DataSource({ size: 64 * MiB, chunkSize: 2 * MiB, ...shape }); // need 2 x 2 + 1 x 2 MiB
  const b = new DataSource({ size: 64 * MiB, chunkSize: 1 * MiB, highWaterMark: 8 * MiB, queueDepth: 3, ...shape });
  t.equal(bufferPoolStats().budgetBytes, start.budgetBytes + 6 * MiB + 11 * MiB, 'each open stream adds its need');
  a.destroy();
  b.destroy();
  await Promise.all([a, b].map((s) => new Promise((r) => s.once('close', r))));
  t.equal(bufferPoolStats().budgetBytes, start.budgetBytes, 'closed streams take it out again');
});

t.test('a consumer that holds chunks until they are promoted still sees the pool bounded', async (t) => {
  // The consumer keeps the last 8 chunks (32 MiB) and answers each write a timer tick later, so its chunks
  // survive young collections and reach old space, where only a full collection returns them. Without the
  // budget nothing would bring one on and the pool would grow with the stream (here to about 512 MiB).
  // With it, the pool goes over its budget (12 MiB need + the slack), shows V8 the chunks, and V8's own
  // limits (64 MiB of external memory grown since the last full collection, then a collection) bound it:
  // 100-140 MiB outstanding at most in the runs measured. The margin checked is wide (under load and
  // coverage V8's incremental marking finishes later), yet far below what an unbounded pool reaches.
  const size = 512 * MiB;
  const kept: Buffer[] = [];
  let most = 0;
  let over = 0; // writes that found the pool over its budget
  let hiddenWhileOver = 0; // ... with chunks still hidden from V8
  const source = new DataSource({ size, ...shape });
  await pipeline(
    source,
    new Writable({
      highWaterMark: 8 * MiB,
      write(chunk: Buffer, _e, cb) {
        kept.push(chunk);
        if (kept.length > 8) kept.shift();
        const s = bufferPoolStats();
        most = Math.max(most, s.outstandingBytes);
        // Only while the source is open: once it closes (after its last chunk was handed over, while this
        // consumer still works through the ones it buffered) its need leaves the budget, and chunks hidden
        // before stay hidden until their finalizers run.
        if (!source.closed && s.outstandingBytes > s.budgetBytes) {
          over++;
          if (s.hiddenBytes > 0) hiddenWhileOver++;
        }
        setTimeout(cb, 1);
      },
    }),
  );
  t.ok(most < 320 * MiB, `at most ${most / MiB} MiB of chunks outstanding for a 512 MiB stream`);
  // Outstanding bytes grow only at an allocation, and one that finds the pool over its budget shows V8 every
  // hidden chunk and hides nothing: so whenever the pool is over its budget, nothing is hidden.
  t.equal(hiddenWhileOver, 0, `no chunk hidden while the pool was over its budget (${over} writes found it over)`);
  t.ok(kept.length === 8, 'the consumer kept its chunks');
});

t.test('a consumer that keeps every chunk of a 160 MiB stream gets every byte', async (t) => {
  const size = 160 * MiB + 512;
  const want = expectedSha(size, shape);
  const got: Buffer[] = [];
  await pipeline(new DataSource({ size, ...shape }), new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) }));
  const hash = createHash('sha256');
  for (const c of got) hash.update(c);
  t.equal(hash.digest('hex'), want, `DataSource: ${got.length} chunks kept, bytes as fillSync's`);
  got.length = 0;
  const web: Uint8Array[] = [];
  for await (const c of createWebStream({ size, ...shape }) as unknown as AsyncIterable<Uint8Array>) web.push(c);
  const webHash = createHash('sha256');
  for (const c of web) webHash.update(c);
  t.equal(webHash.digest('hex'), want, `createWebStream: ${web.length} chunks kept, bytes as fillSync's`);
});

t.test('after the streams close and their chunks are collected, the pool hides nothing more than at start', async (t) => {
  await collect();
  const start = bufferPoolStats();
  const reader = createWebStream({ size: 256 * MiB, ...shape }).getReader();
  for (let i = 0; i < 12; i++) await reader.read();
  await reader.cancel();
  const source = new DataSource({ size: 256 * MiB, ...shape });
  let n = 0;
  await new Promise<void>((resolve) => {
    source.on('close', resolve);
    source.pipe(new Writable({ write: (c: Buffer, _e, cb) => ((n += c.length) >= 48 * MiB && source.destroy(), cb()) }));
  });
  const end = await settledPoolStats(start);
  t.same(
    { outstandingBlocks: end.outstandingBlocks, freeBlocks: end.freeBlocks, budgetBytes: end.budgetBytes },
    { outstandingBlocks: start.outstandingBlocks, freeBlocks: 0, budgetBytes: start.budgetBytes },
    `every chunk went back and the budget is as it was (${JSON.stringify(end)})`,
  );
  t.ok(end.hiddenBytes <= start.hiddenBytes, 'and no collected chunk is still counted as hidden');
});

// The Web ReadableStream byte source: BYOB reads into the caller's buffer, default reads, abort, and a
// streamed fetch PUT to a node:http server.
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGenerator, createWebStream } from '../lib/index.js';

const shape = { compressRatio: 2, dedupRatio: 1.5, seed: 99n };

t.test("BYOB reads fill the reader's own buffer", async (t) => {
  const size = 1_000_000;
  const expected = createGenerator({ size, ...shape }).generateSync();
  const reader = createWebStream({ size, ...shape }).getReader({ mode: 'byob' });
  let buffer = new ArrayBuffer(65536);
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer, 0, 65536));
    if (done) break;
    t.equal(value.buffer.byteLength, 65536, 'the view is on the (transferred) buffer the reader gave');
    if (
      !Buffer.from(value.buffer, value.byteOffset, value.byteLength).equals(expected.subarray(offset, offset + value.byteLength))
    ) {
      t.fail(`bytes differ at ${offset}`);
    }
    offset += value.byteLength;
    buffer = value.buffer as ArrayBuffer; // the BYOB contract: reuse the transferred buffer
  }
  t.equal(offset, size);
});

t.test('default reader gets chunkSize chunks; 0-byte stream closes at once', async (t) => {
  const size = 300_000;
  const parts: Uint8Array[] = [];
  for await (const p of createWebStream({ size, chunkSize: 65536, ...shape }) as unknown as AsyncIterable<Uint8Array>)
    parts.push(p);
  t.ok(Buffer.concat(parts).equals(createGenerator({ size, ...shape }).generateSync()));
  t.ok(parts.slice(0, -1).every((p) => p.byteLength === 65536));
  const r = await createWebStream({ size: 0 }).getReader().read();
  t.equal(r.done, true);
});

t.test('default reader chunks of pool memory: byte-exact for odd sizes, held chunks intact', async (t) => {
  const MiB = 1024 * 1024;
  for (const [size, chunkSize] of [
    [9 * MiB + 1, 2 * MiB],
    [13 * MiB + 4095, 4 * MiB],
    [2 * MiB, 2 * MiB],
    [3 * MiB + 512, 1 * MiB],
  ] as const) {
    const parts: Uint8Array[] = [];
    // Every chunk is held until the end, then compared: nothing may have written into one since.
    const reader = createWebStream({ size, chunkSize, ...shape }).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    t.ok(
      parts.slice(0, -1).every((p) => p.byteLength === chunkSize),
      `size ${size}: chunks of ${chunkSize}`,
    );
    t.ok(
      Buffer.concat(parts).equals(createGenerator({ size, ...shape }).generateSync()),
      `size ${size}, chunks of ${chunkSize}: bytes exact`,
    );
  }
});

t.test('signal errors the stream', async (t) => {
  const ac = new AbortController();
  const reader = createWebStream({ size: 1024 ** 3, signal: ac.signal }).getReader();
  await reader.read();
  ac.abort(new Error('stop now'));
  await t.rejects(
    async () => {
      for (;;) if ((await reader.read()).done) break;
    },
    { message: 'stop now' },
  );
});

t.test('fetch PUT with the stream as body (duplex: half)', async (t) => {
  const size = 20 * 1024 * 1024 + 5;
  const received: Buffer[] = [];
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => received.push(c));
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/obj`, {
    method: 'PUT',
    body: createWebStream({ size, ...shape }),
    duplex: 'half',
  } as RequestInit);
  t.equal(res.status, 200);
  await res.text();
  const body = Buffer.concat(received);
  t.equal(body.length, size);
  t.ok(body.equals(createGenerator({ size, ...shape }).generateSync()), 'received bytes equal regeneration');
  // Without the body tee (undici keeps a teed copy of a streamed body for redirects otherwise).
  received.length = 0;
  const direct = await fetch(`http://127.0.0.1:${port}/obj`, {
    method: 'PUT',
    body: createWebStream({ size, ...shape, chunkSize: 2 * 1024 * 1024 }),
    duplex: 'half',
    redirect: 'error',
    window: null,
  } as RequestInit);
  t.equal(direct.status, 200);
  await direct.text();
  t.ok(
    Buffer.concat(received).equals(createGenerator({ size, ...shape }).generateSync()),
    'redirect: error, window: null: bytes exact',
  );
});

t.test('signal and queueDepth are checked before anything is created', async (t) => {
  t.throws(() => createWebStream({ size: 10, signal: {} as AbortSignal }), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'signal',
  });
  for (const queueDepth of [0, 65, 1.5, -1]) {
    t.throws(
      () => createWebStream({ size: 10, queueDepth }),
      { name: 'RangeError', code: 'ERR_DGEN_INVALID_OPTION', parameter: 'queueDepth' },
      `queueDepth ${queueDepth}`,
    );
  }
  t.throws(() => createWebStream({ size: 10, queueDepth: '2' as unknown as number }), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'queueDepth',
  });
});

t.test('queueDepth fills ahead: bytes exact, held chunks intact, then a BYOB reader continues in order', async (t) => {
  const MiB = 1024 * 1024;
  for (const [queueDepth, size, chunkSize] of [
    [2, 13 * MiB + 511, 1 * MiB],
    [4, 9 * MiB + 4097, 2 * MiB],
    [3, 5000, 512],
  ] as const) {
    const stream = createWebStream({ size, chunkSize, queueDepth, ...shape });
    const parts: Uint8Array[] = [];
    // Default reads first: these chunks are held to the end, so nothing may write into one meanwhile.
    const reader = stream.getReader();
    for (let i = 0; i < 3; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    t.ok(
      parts.every((p) => p.byteLength === chunkSize),
      `queueDepth ${queueDepth}: default reads are whole chunks`,
    );
    reader.releaseLock();
    // Then BYOB reads of an odd size: chunks filled ahead and queued come first, then the views are filled.
    const byob = stream.getReader({ mode: 'byob' });
    let buffer = new ArrayBuffer(300_001);
    for (;;) {
      const { done, value } = await byob.read(new Uint8Array(buffer));
      if (done) break;
      parts.push(value.slice());
      buffer = value.buffer as ArrayBuffer;
    }
    t.ok(
      Buffer.concat(parts).equals(createGenerator({ size, ...shape }).generateSync()),
      `queueDepth ${queueDepth}, size ${size}, chunks of ${chunkSize}: bytes exact`,
    );
  }
});

// createWebStream as a fetch request body (undici reads it with a default reader, so every chunk is pool
// memory, lib/source.ts chunkMemory): the node:http server receives exactly fillSync's bytes for odd sizes
// and several chunk sizes, with and without undici's body tee, and a request aborted mid-stream (fetch's
// signal or the stream's own) leaves the chunk pool as it was once the chunks are collected.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bufferPoolStats, createGenerator, createWebStream } from '../lib/index.js';
import { collect, settledPoolStats } from './fixtures/pool.js';

const MiB = 1024 * 1024;
const shape = { dedupRatio: 2, compressRatio: 3, seed: 41n };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const expected = (size: number) => {
  const b = Buffer.alloc(size);
  createGenerator({ size, ...shape }).fillSync(b, 0);
  return sha(b);
};
/** `redirect: 'error', window: null`: undici then sends the stream as it is (no tee, nodejs/undici#4058). */
const noTee = { redirect: 'error', window: null } as const;

/** A node:http server answering each PUT with the sha256 and length of its body; `onBytes` sees the count. */
async function startServer(t: Test, onBytes: (n: number) => void = () => undefined) {
  const server = createServer((req, res) => {
    const hash = createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      onBytes((n += c.length));
    });
    req.on('end', () => res.end(JSON.stringify({ n, sha: hash.digest('hex') })));
    req.on('error', () => undefined); // the sender aborted
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/obj`;
}

t.test('fetch PUT body to node:http: bytes exact for odd sizes and several chunk sizes, tee or not', async (t) => {
  const url = await startServer(t);
  const cases = [
    [20 * MiB + 3, 512 * 1024, noTee],
    [9 * MiB + 4097, 2 * MiB, noTee],
    [13 * MiB + 511, 4 * MiB, noTee],
    [1000, 512, noTee],
    [6 * MiB + 1, 1024 * 1024, {}],
  ] as const;
  for (const [size, chunkSize, extra] of cases) {
    const res = await fetch(url, {
      method: 'PUT',
      body: createWebStream({ size, chunkSize, ...shape }),
      duplex: 'half',
      ...extra,
    } as RequestInit);
    const got = (await res.json()) as { n: number; sha: string };
    t.same(got, { n: size, sha: expected(size) }, `size ${size}, chunks of ${chunkSize}${'redirect' in extra ? ', no tee' : ''}`);
  }
});

t.test('a fetch aborted mid-body (its signal, or the stream signal) gives every pooled chunk back', async (t) => {
  await collect();
  const start = bufferPoolStats();
  let abortAt: (() => void) | undefined;
  const url = await startServer(t, (n) => n >= 24 * MiB && abortAt?.());
  // fetch's own signal: undici stops reading and cancels the body stream
  const viaFetch = new AbortController();
  abortAt = () => viaFetch.abort();
  await t.rejects(
    fetch(url, {
      method: 'PUT',
      body: createWebStream({ size: 1024 ** 3, chunkSize: 4 * MiB, ...shape }),
      duplex: 'half',
      signal: viaFetch.signal,
      ...noTee,
    } as RequestInit),
    { name: 'AbortError' },
    "fetch's signal",
  );
  // the stream's signal: the body errors under undici, which fails the request
  const viaStream = new AbortController();
  abortAt = () => viaStream.abort();
  await t.rejects(
    fetch(url, {
      method: 'PUT',
      body: createWebStream({ size: 1024 ** 3, chunkSize: 4 * MiB, queueDepth: 2, signal: viaStream.signal, ...shape }),
      duplex: 'half',
      ...noTee,
    } as RequestInit),
    "the stream's signal",
  );
  abortAt = undefined;
  // Not asserted under V8's precise coverage, where a dropped chunk has stayed reachable (chunk-recycling-pool
  // found and fixed such a reference on the DataSource side; the web side has not been checked under coverage).
  if (process.env._TAPJS_PROCESSINFO_COVERAGE_ === '1' || process.env.NODE_V8_COVERAGE) {
    t.comment('pool accounting after abort not asserted under V8 coverage');
    return;
  }
  // Fills running on the pool when the stream stopped give their blocks back when they finish, and undici
  // lets go of the chunk it was writing when its socket closes: wait (up to 30 s), collecting as we go.
  const end = await settledPoolStats(start);
  t.same(
    { outstandingBlocks: end.outstandingBlocks, freeBlocks: end.freeBlocks },
    { outstandingBlocks: start.outstandingBlocks, freeBlocks: 0 },
    `every pooled chunk went back and was freed (${JSON.stringify(end)})`,
  );
});

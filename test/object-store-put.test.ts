// Object-store puts from reused part buffers (lib/object-store-put.ts, lib/part-buffers.ts) against real
// servers (s3rver and Azurite, child processes on 127.0.0.1): byte-exact objects and CRC-32C for sizes
// around the part size, the checksum each request carries, buffers never refilled while being sent,
// aborts that leave nothing (AbortMultipartUpload seen by a recording proxy), failed parts and servers
// killed mid-upload failing with ERR_DGEN_BACKEND naming the object.
import t from 'tap';
import { createHash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { createGenerator, type DataGenerator } from '../lib/generator.js';
import { Crc32cChecksum, createS3Client, MIN_PART_SIZE, S3Sink } from '../lib/sinks/s3-sink.js';
import { formatCrc32c } from '../lib/sinks/object-writer.js';
import { isTransient } from '../lib/retry.js';
import { PartBufferPool } from '../lib/part-buffers.js';
import { partBuffersFor, putGeneratedObject } from '../lib/object-store-put.js';
import { freePort, startAzurite, startRecordingProxy, startS3rver } from './fixtures/servers.js';

const MiB = 1024 * 1024;
const P = MIN_PART_SIZE; // 5 MiB parts and blocks keep the objects small
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const bucket = 'dgen-put';
const shape = { seed: 1234n, dedupRatio: 2, compressRatio: 2 };
const SIZES = [0, 1, 511, P - 1, P, P + 1, 3 * P + 12345];

/** Aborts 50 ms after the first request was seen (mid-body for a 60 MiB request: the loopback servers
 * take about a second for one). */
function abortOnceSent(requests: unknown[], ac: AbortController): void {
  const timer = setInterval(() => {
    if (requests.length === 0) return;
    clearInterval(timer);
    setTimeout(() => ac.abort(), 50);
  }, 5);
}

/** A request an S3 client sent, seen just before the wire (inside the SDK's retries): the body's CRC-32C
 * when it is handed to the HTTP handler and again once the response is in (a buffer refilled while being
 * sent would change between the two), and the checksum and payload-hash headers. */
interface Seen {
  method: string;
  /** Query parameters, without the SDK's x-id. */
  query: Record<string, unknown>;
  checksum?: string;
  payloadHash?: string;
  bodyBefore?: number;
  bodyAfter?: number;
  length?: number;
}

function watch(client: S3Client): Seen[] {
  const seen: Seen[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as {
        method: string;
        query: Record<string, unknown>;
        headers: Record<string, string>;
        body: unknown;
      };
      const body = Buffer.isBuffer(req.body) ? req.body : undefined;
      const entry: Seen = {
        method: req.method,
        query: Object.fromEntries(Object.entries(req.query).filter(([k]) => k !== 'x-id')),
        checksum: req.headers['x-amz-checksum-crc32c'],
        payloadHash: req.headers['x-amz-content-sha256'],
        ...(body && { bodyBefore: crc32c(body), length: body.length }),
      };
      seen.push(entry);
      try {
        return await next(args);
      } finally {
        if (body) entry.bodyAfter = crc32c(body);
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'dgenBodyWatch' },
  );
  return seen;
}

function gen(size: number, objectId = 0): DataGenerator {
  return createGenerator({ size, ...shape, objectId });
}

t.test('PartBufferPool: lazy allocation, reuse (most recent first), waiters in order, abort, misuse', async (t) => {
  const pool = new PartBufferPool(4096, { maxBuffers: 2 });
  t.same(pool.stats, { allocated: 0, lent: 0, free: 0, waiting: 0, acquisitions: 0 }, 'nothing allocated up front');
  const a = await pool.acquire();
  const b = await pool.acquire();
  t.equal(a.length, 4096);
  t.not(a.buffer, b.buffer, 'two distinct buffers');
  t.equal(pool.stats.allocated, 2);
  const order: string[] = [];
  const first = pool.acquire().then((x) => (order.push('first'), x));
  const ac = new AbortController();
  const aborted = pool.acquire(ac.signal);
  const third = pool.acquire().then((x) => (order.push('third'), x));
  t.equal(pool.stats.waiting, 3, 'beyond maxBuffers callers wait');
  ac.abort(new Error('gave up'));
  await t.rejects(aborted, { message: 'gave up' }, 'an aborted wait rejects with the reason');
  t.equal(pool.stats.waiting, 2, 'and leaves the queue');
  pool.release(a);
  t.equal(await first, a, 'the first waiter gets the buffer released');
  pool.release(b);
  t.equal(await third, b);
  t.same(order, ['first', 'third']);
  t.throws(() => pool.release(a.subarray(0, 10)), { code: 'ERR_DGEN_BUFFER_NOT_LENT' }, 'a slice is not the buffer');
  pool.release(a);
  t.throws(() => pool.release(a), { code: 'ERR_DGEN_BUFFER_NOT_LENT' }, 'released twice');
  pool.release(b);
  t.equal(await pool.acquire(), b, 'the most recently released buffer comes back first');
  t.same(pool.stats, { allocated: 2, lent: 1, free: 1, waiting: 0, acquisitions: 5 });
  await t.rejects(pool.acquire(AbortSignal.abort(new Error('already'))), { message: 'already' });
  pool.trim();
  t.equal(pool.stats.allocated, 1, 'trim drops the free buffers');
  t.throws(() => new PartBufferPool(0), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'bufferSize' });
  t.throws(() => new PartBufferPool(10, { maxBuffers: 0 }), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'maxBuffers' });
});

t.test("Crc32cChecksum (the S3 clients' CRC-32C): the SDK's own digests, faster", async (t) => {
  const ours = new Crc32cChecksum();
  ours.update(Buffer.from('123456789'));
  t.same([...(await ours.digest())], [0xe3, 0x06, 0x92, 0x83], 'the check value of CRC-32C, big-endian');
  const { Crc32c } = (await import('@aws-sdk/checksums/crc')) as unknown as {
    Crc32c: new () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> };
  };
  const data = gen(3 * MiB + 5).generateSync();
  for (const cuts of [[0], [1, 4096, 2 * MiB], [511, 512, 513]]) {
    const sdk = new Crc32c();
    ours.reset();
    let at = 0;
    for (const cut of [...cuts, data.length]) {
      sdk.update(data.subarray(at, Math.max(at, cut)));
      ours.update(data.subarray(at, Math.max(at, cut)));
      at = Math.max(at, cut);
    }
    t.same(
      Buffer.from(await ours.digest()),
      Buffer.from(await sdk.digest()),
      `updates cut at ${cuts.join(', ')}: the same digest as the SDK's`,
    );
  }
});

t.test('bad input throws before any request', async (t) => {
  const g = gen(10);
  const cs = 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=YQ==;BlobEndpoint=http://127.0.0.1:1/a;';
  t.throws(() => putGeneratedObject('/tmp/x.bin', g), { code: 'ERR_DGEN_INVALID_URI' });
  t.throws(() => putGeneratedObject('s3://bucket', g), { code: 'ERR_DGEN_INVALID_URI' });
  t.throws(() => putGeneratedObject({ scheme: 'az', container: 'c', blob: '' }, g), { code: 'ERR_DGEN_INVALID_URI' });
  t.throws(() => putGeneratedObject('s3://b/k', {} as DataGenerator), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'generator',
  });
  t.throws(() => putGeneratedObject('s3://b/k', g, { partSize: MiB }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'partSize',
  });
  t.throws(
    () => putGeneratedObject('s3://b/k', gen(10_000 * P + 1), { partSize: P }),
    { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'partSize' },
    'more than 10,000 parts',
  );
  t.throws(() => putGeneratedObject('s3://b/k', g, { partConcurrency: 0 }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'partConcurrency',
  });
  t.throws(() => putGeneratedObject('s3://b/k', g, { buffers: new PartBufferPool(MiB) }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'buffers',
  });
  t.throws(() => putGeneratedObject('s3://b/k', g, { compression: 'zstd' } as never), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'compression',
  });
  t.throws(() => putGeneratedObject('s3://b/k', g, { signal: {} as AbortSignal }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'signal',
  });
  t.throws(() => putGeneratedObject('az://c/b', g, { connectionString: cs, blockSize: 0 }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'blockSize',
  });
  t.throws(() => putGeneratedObject('az://c/b', gen(50_001), { connectionString: cs, blockSize: 1 }), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'blockSize',
  });
  const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
  delete process.env.AZURE_STORAGE_CONNECTION_STRING;
  t.throws(() => putGeneratedObject('az://c/b', g), { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'connectionString' });
  if (saved !== undefined) process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
  const reason = new Error('stopped before it started');
  await t.rejects(
    putGeneratedObject('s3://b/k', g, { endpoint: 'http://127.0.0.1:1', credentials, signal: AbortSignal.abort(reason) }),
    reason,
    'an aborted signal rejects at once',
  );
});

t.test('S3', async (t) => {
  const server = await startS3rver([bucket]);
  t.teardown(() => server.stop());
  // The SDK's retries stay on (a keep-alive socket the server closes as it is reused is retried), except
  // where a test needs a failure to surface.
  const client = createS3Client({ endpoint: server.endpoint, credentials });
  t.teardown(() => client.destroy());

  const seen = watch(client);

  async function getBytes(key: string): Promise<Buffer> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }
  async function exists(c: S3Client, key: string): Promise<boolean> {
    try {
      await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  t.test('round trips around the part size: bytes, CRC-32C, requests, checksums', async (t) => {
    for (const size of SIZES) {
      const key = `rt/${size}.bin`;
      seen.length = 0;
      const stored: number[] = [];
      const result = await putGeneratedObject({ scheme: 's3', bucket, key }, gen(size), {
        client,
        partSize: P,
        partConcurrency: 2,
        onStored: (n) => stored.push(n),
      });
      const back = await getBytes(key);
      const expected = gen(size).generateSync();
      t.ok(back.equals(expected), `${size}: the stored object equals generateSync()`);
      t.equal(result.crc32c, formatCrc32c(crc32c(back)), `${size}: crc32c is @node-rs/crc32's of the bytes read back`);
      t.same(
        { uri: result.uri, size: result.size, compressedSize: result.compressedSize },
        { uri: `s3://${bucket}/${key}`, size, compressedSize: size },
      );
      t.type(result.etag, 'string', `${size}: etag`);
      t.equal(
        stored.reduce((a, b) => a + b, 0),
        size,
        `${size}: onStored adds up to the size`,
      );
      const writes = seen.filter((s) => s.method === 'PUT' || s.method === 'POST');
      if (size <= P) {
        t.same(
          writes.map((s) => [s.method, Object.keys(s.query).sort().join(',')]),
          [['PUT', '']],
          `${size}: one PutObject`,
        );
      } else {
        const parts = Math.ceil(size / P);
        t.same(
          writes.map((s) => [s.method, Object.keys(s.query).sort().join(',')]),
          [['POST', 'uploads'], ...Array.from({ length: parts }, () => ['PUT', 'partNumber,uploadId']), ['POST', 'uploadId']],
          `${size}: CreateMultipartUpload, ${parts} UploadPart, CompleteMultipartUpload`,
        );
        t.same(
          writes.filter((s) => s.query.partNumber).map((s) => s.length),
          Array.from({ length: parts }, (_, i) => Math.min(P, size - i * P)),
          `${size}: part lengths`,
        );
      }
      for (const s of writes.filter((w) => w.method === 'PUT')) {
        const raw = Buffer.alloc(4);
        raw.writeUInt32BE(s.bodyBefore!);
        t.equal(
          s.checksum,
          raw.toString('base64'),
          `${size}: x-amz-checksum-crc32c is the CRC-32C of the body (${s.length} bytes)`,
        );
        t.match(s.payloadHash, /^[0-9a-f]{64}$/, `${size}: over plain HTTP the body's SHA-256 is signed`);
        t.equal(s.bodyAfter, s.bodyBefore, `${size}: the body did not change while it was sent`);
      }
    }
    const pool = partBuffersFor(client, P);
    t.equal(pool.stats.lent, 0, 'every buffer went back to the client pool');
    t.ok(
      pool.stats.allocated <= 3,
      `the client pool allocated partConcurrency + 1 buffers at most (${pool.stats.allocated}) for ${pool.stats.acquisitions} parts`,
    );
  });

  t.test('payload signing: unsigned over HTTPS (checksum header signed instead), signed over HTTP, by choice', async (t) => {
    seen.length = 0;
    const r = await putGeneratedObject(`s3://${bucket}/unsigned.bin`, gen(2 * P + 3), {
      client,
      partSize: P,
      signPayload: false,
    });
    t.ok((await getBytes('unsigned.bin')).equals(gen(2 * P + 3).generateSync()), 'signPayload: false: stored byte-exact');
    t.equal(r.crc32c, formatCrc32c(crc32c(gen(2 * P + 3).generateSync())));
    const bodies = seen.filter((s) => s.method === 'PUT');
    t.same(
      bodies.map((s) => s.payloadHash),
      ['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD'],
      'every part went with UNSIGNED-PAYLOAD',
    );
    t.ok(
      bodies.every((s) => s.checksum),
      'and its CRC-32C header',
    );
    // Over HTTPS by default (no server listens there: only the request as sent matters).
    const tls = createS3Client({ endpoint: `https://127.0.0.1:${await freePort()}`, credentials, maxAttempts: 1 });
    t.teardown(() => tls.destroy());
    const tlsSeen = watch(tls);
    await t.rejects(putGeneratedObject(`s3://${bucket}/tls.bin`, gen(1000), { client: tls }), { code: 'ERR_DGEN_BACKEND' });
    await t.rejects(putGeneratedObject(`s3://${bucket}/tls.bin`, gen(1000), { client: tls, checksumAlgorithm: 'none' }), {
      code: 'ERR_DGEN_BACKEND',
    });
    await t.rejects(putGeneratedObject(`s3://${bucket}/tls.bin`, gen(1000), { client: tls, signPayload: true }), {
      code: 'ERR_DGEN_BACKEND',
    });
    t.equal(tlsSeen[0]?.payloadHash, 'UNSIGNED-PAYLOAD', 'HTTPS with a CRC-32C: unsigned');
    t.match(tlsSeen[1]?.payloadHash, /^[0-9a-f]{64}$/, 'HTTPS without a checksum: signed');
    t.match(tlsSeen[2]?.payloadHash, /^[0-9a-f]{64}$/, 'signPayload: true: signed');
  });

  t.test("the stream path's S3Sink sends the same CRC-32C headers, computed by Crc32cChecksum", async (t) => {
    seen.length = 0;
    const sink = new S3Sink(bucket, 'stream.bin', { client, partSize: P });
    sink.end(gen(P + 100).generateSync());
    await sink.result();
    t.equal(
      (client.config as { checksumAlgorithms?: { CRC32C?: unknown } }).checksumAlgorithms?.CRC32C,
      Crc32cChecksum,
      'createS3Client plugs it in',
    );
    const bodies = seen.filter((s) => s.method === 'PUT');
    t.equal(bodies.length, 2, 'two parts');
    for (const s of bodies) {
      const raw = Buffer.alloc(4);
      raw.writeUInt32BE(s.bodyBefore!);
      t.equal(s.checksum, raw.toString('base64'), `x-amz-checksum-crc32c of a ${s.length}-byte part`);
    }
  });

  t.test('a shared pool smaller than the demand: concurrent objects, partConcurrency 2, all byte-exact', async (t) => {
    seen.length = 0;
    const buffers = new PartBufferPool(P, { maxBuffers: 3 });
    const sizes = [6 * P + 7, 5 * P, 7 * P - 3, 6 * P + 512];
    const results = await Promise.all(
      sizes.map((size, i) =>
        putGeneratedObject(`s3://${bucket}/pool/${i}.bin`, gen(size, i), { client, buffers, partSize: P, partConcurrency: 2 }),
      ),
    );
    for (const [i, size] of sizes.entries()) {
      const back = await getBytes(`pool/${i}.bin`);
      t.ok(back.equals(gen(size, i).generateSync()), `object ${i} (${size} bytes) is byte-exact`);
      t.equal(results[i]!.crc32c, formatCrc32c(crc32c(back)));
    }
    const parts = seen.filter((s) => s.query.partNumber);
    t.equal(
      parts.length,
      sizes.reduce((a, s) => a + Math.ceil(s / P), 0),
      'every part was sent once',
    );
    t.ok(
      parts.every((s) => s.bodyAfter === s.bodyBefore),
      'no body changed while it was being sent',
    );
    t.same(
      { allocated: buffers.stats.allocated, lent: buffers.stats.lent, waiting: buffers.stats.waiting },
      { allocated: 3, lent: 0, waiting: 0 },
    );
    t.equal(buffers.stats.acquisitions, parts.length, `${parts.length} parts from 3 buffers`);
  });

  t.test('abort mid-object: AbortMultipartUpload sent, Complete never, nothing visible, buffers back', async (t) => {
    const proxy = await startRecordingProxy(server.port);
    t.teardown(() => proxy.close());
    const viaProxy = createS3Client({ endpoint: proxy.endpoint, credentials, maxAttempts: 1 });
    t.teardown(() => viaProxy.destroy());
    const buffers = new PartBufferPool(P);
    const ac = new AbortController();
    const key = 'abort/multipart.bin';
    let stored = 0;
    const err = await putGeneratedObject(`s3://${bucket}/${key}`, gen(12 * P), {
      client: viaProxy,
      buffers,
      partSize: P,
      partConcurrency: 2,
      signal: ac.signal,
      onStored: () => ++stored === 2 && ac.abort(),
    }).catch((e: Error & { abortError?: Error & { code?: string } }) => e);
    t.equal((err as Error).name, 'AbortError', 'rejects with the signal reason');
    const sent = proxy.requests.map(
      (r) =>
        `${r.method} ${r.url.includes('uploads') ? '?uploads' : r.url.includes('partNumber=') ? '?partNumber' : r.url.includes('uploadId=') ? '?uploadId' : ''}`,
    );
    t.equal(sent[0], 'POST ?uploads', 'a multipart upload was started');
    t.ok(sent.filter((s) => s === 'PUT ?partNumber').length >= 2, 'parts were uploaded');
    t.ok(sent.filter((s) => s === 'PUT ?partNumber').length < 12, 'not all of them');
    const abort = proxy.requests.find((r) => r.method === 'DELETE' && r.url.includes('uploadId='));
    t.ok(abort, 'AbortMultipartUpload (DELETE ?uploadId) reached the server');
    t.equal(abort?.status, 405, 's3rver answers it with 405 (known)');
    t.match(
      (err as { abortError?: { code?: string; message?: string } }).abortError,
      { code: 'ERR_DGEN_BACKEND', message: /abort of the multipart upload of s3:\/\/dgen-put\/abort\/multipart\.bin/ },
      'the refused abort is attached, not reported instead',
    );
    t.notOk(
      proxy.requests.some((r) => r.method === 'POST' && r.url.includes('uploadId=')),
      'no CompleteMultipartUpload was sent',
    );
    t.equal(await exists(client, key), false, 'no object at the destination');
    t.equal(buffers.stats.lent, 0, 'every buffer is back in the pool');

    // An object of one part: an abort before its PutObject is sent stops it (nothing sent); one that comes
    // once it is on its way lets it finish whole (cut mid-body, s3rver would store the truncated object).
    seen.length = 0;
    const early = new AbortController();
    const buffers60 = new PartBufferPool(64 * MiB);
    const stopped = putGeneratedObject(`s3://${bucket}/abort/single.bin`, gen(60 * MiB), {
      client,
      buffers: buffers60,
      partSize: 64 * MiB,
      signal: early.signal,
    });
    early.abort(); // while its buffer is being taken and filled
    await t.rejects(stopped, { name: 'AbortError' });
    t.same(seen, [], 'aborted while generating: no request sent');
    t.equal(await exists(client, 'abort/single.bin'), false);
    seen.length = 0;
    const late = new AbortController();
    const single = putGeneratedObject(`s3://${bucket}/abort/single.bin`, gen(60 * MiB), {
      client,
      buffers: buffers60,
      partSize: 64 * MiB,
      signal: late.signal,
    });
    abortOnceSent(seen, late);
    const result = await single;
    t.ok(late.signal.aborted, 'aborted while the PutObject was on its way');
    t.same(
      seen.map((r) => r.method),
      ['PUT'],
      'one PutObject',
    );
    t.ok(
      (await getBytes('abort/single.bin')).equals(gen(60 * MiB).generateSync()),
      'it finished: the object is whole, and the promise resolved',
    );
    t.equal(result.size, 60 * MiB);
    t.equal(buffers60.stats.lent, 0);
  });

  t.test('a part refused (503 SlowDown): ERR_DGEN_BACKEND naming the part and the object, transient, aborted', async (t) => {
    const proxy = await startRecordingProxy(server.port);
    t.teardown(() => proxy.close());
    const viaProxy = createS3Client({ endpoint: proxy.endpoint, credentials, maxAttempts: 1 });
    t.teardown(() => viaProxy.destroy());
    const key = 'refused/obj.bin';
    let stored = 0;
    const err = (await putGeneratedObject(`s3://${bucket}/${key}`, gen(6 * P), {
      client: viaProxy,
      partSize: P,
      partConcurrency: 1,
      onStored: () => {
        if (++stored === 2) proxy.failNext = 1;
      },
    }).catch((e: unknown) => e)) as Error & { code?: string; cause?: { $metadata?: { httpStatusCode?: number } } };
    t.equal(err.code, 'ERR_DGEN_BACKEND');
    t.match(err.message, /^S3: upload of part 3 of s3:\/\/dgen-put\/refused\/obj\.bin failed: /);
    t.equal(err.cause?.$metadata?.httpStatusCode, 503, 'the SDK error is the cause');
    t.ok(isTransient(err), 'a bulk put would retry it');
    t.ok(
      proxy.requests.some((r) => r.method === 'DELETE' && r.url.includes('uploadId=')),
      'AbortMultipartUpload sent',
    );
    t.notOk(
      proxy.requests.some((r) => r.method === 'POST' && r.url.includes('uploadId=')),
      'no CompleteMultipartUpload',
    );
    t.equal(await exists(client, key), false);
  });

  t.test('the server killed mid-upload: ERR_DGEN_BACKEND naming the object; nothing after restart', async (t) => {
    const key = 'killed/obj.bin';
    const own = createS3Client({ endpoint: server.endpoint, credentials, maxAttempts: 2 });
    t.teardown(() => own.destroy());
    let stored = 0;
    let killed: Promise<void> | undefined;
    const started = Date.now();
    const err = (await putGeneratedObject(`s3://${bucket}/${key}`, gen(1024 * MiB), {
      client: own,
      partSize: P,
      partConcurrency: 2,
      onStored: () => {
        if (++stored === 3) killed = server.kill();
      },
    }).catch((e: unknown) => e)) as Error & { code?: string };
    t.comment(`failed after ${Date.now() - started} ms: ${err.message}`);
    t.equal(err.code, 'ERR_DGEN_BACKEND');
    t.match(err.message, /^S3: .*s3:\/\/dgen-put\/killed\/obj\.bin failed/, 'the error names the backend and the object');
    await killed;
    await server.restart();
    t.equal(await exists(client, key), false, 'no object after the server restarts');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'killed/' }));
    t.equal(listed.KeyCount ?? 0, 0);
  });
});

t.test('Azure Blob', async (t) => {
  const server = await startAzurite();
  t.teardown(() => server.stop());
  const container = 'dgen-put';
  // No retries where a failure must surface (the killed server); elsewhere the SDK's own (a keep-alive
  // socket Azurite closes as it is reused comes back as ECONNRESET and is retried).
  const pipeline = { retryOptions: { maxTries: 1, tryTimeoutInMs: 10_000 } };
  const service = BlobServiceClient.fromConnectionString(server.connectionString);
  await service.getContainerClient(container).create();
  const blobClient = (name: string) => service.getContainerClient(container).getBlockBlobClient(name);
  const getBytes = (name: string) => blobClient(name).downloadToBuffer();

  t.test('round trips around the block size: bytes, CRC-32C, Content-MD5', async (t) => {
    for (const size of SIZES) {
      const name = `rt/${size}.bin`;
      const result = await putGeneratedObject({ scheme: 'az', container, blob: name }, gen(size), {
        serviceClient: service,
        blockSize: P,
        blockConcurrency: 2,
      });
      const back = await getBytes(name);
      t.ok(back.equals(gen(size).generateSync()), `${size}: the stored blob equals generateSync()`);
      t.equal(result.crc32c, formatCrc32c(crc32c(back)), `${size}: crc32c is @node-rs/crc32's of the bytes read back`);
      const md5 = createHash('md5').update(back).digest('base64');
      t.same(result.backendChecksum, { algorithm: 'MD5', value: md5 }, `${size}: backendChecksum is the blob's MD5`);
      const props = await blobClient(name).getProperties();
      t.equal(Buffer.from(props.contentMD5 ?? []).toString('base64'), md5, `${size}: the service holds the same Content-MD5`);
      const blocks = await blobClient(name).getBlockList('committed');
      t.equal(
        (blocks.committedBlocks ?? []).length,
        size <= P ? 0 : Math.ceil(size / P),
        `${size}: ${size <= P ? 'one Put Blob' : 'a block per block size'}`,
      );
      t.same(
        { uri: result.uri, size: result.size, compressedSize: result.compressedSize },
        { uri: `az://${container}/${name}`, size, compressedSize: size },
      );
      t.type(result.etag, 'string');
    }
    const pool = partBuffersFor(service, P);
    t.equal(pool.stats.lent, 0);
    t.ok(
      pool.stats.allocated <= 3,
      `the client pool allocated ${pool.stats.allocated} buffers for ${pool.stats.acquisitions} blocks`,
    );
  });

  t.test('a shared pool smaller than the demand: concurrent blobs, blockConcurrency 2, all byte-exact', async (t) => {
    const buffers = new PartBufferPool(P, { maxBuffers: 3 });
    const sizes = [6 * P + 7, 5 * P, 7 * P - 3, 6 * P + 512];
    const results = await Promise.all(
      sizes.map((size, i) =>
        putGeneratedObject(`az://${container}/pool/${i}.bin`, gen(size, i), {
          serviceClient: service,
          buffers,
          blockSize: P,
          blockConcurrency: 2,
        }),
      ),
    );
    for (const [i, size] of sizes.entries()) {
      const back = await getBytes(`pool/${i}.bin`);
      t.ok(back.equals(gen(size, i).generateSync()), `blob ${i} (${size} bytes) is byte-exact`);
      t.equal(results[i]!.crc32c, formatCrc32c(crc32c(back)));
    }
    t.same({ allocated: buffers.stats.allocated, lent: buffers.stats.lent }, { allocated: 3, lent: 0 });
  });

  t.test('abort mid-blob: blocks staged, no block list committed, an old blob left as it was', async (t) => {
    const name = 'abort/keep.bin';
    await blobClient(name).upload('old', 3);
    const ac = new AbortController();
    const buffers = new PartBufferPool(P);
    let stored = 0;
    const err = await putGeneratedObject(`az://${container}/${name}`, gen(12 * P), {
      serviceClient: service,
      buffers,
      blockSize: P,
      blockConcurrency: 2,
      signal: ac.signal,
      onStored: () => ++stored === 2 && ac.abort(),
    }).catch((e: Error) => e);
    t.equal((err as Error).name, 'AbortError', 'rejects with the signal reason');
    const blocks = await blobClient(name).getBlockList('all');
    t.ok((blocks.uncommittedBlocks ?? []).length >= 2, `blocks were staged (${blocks.uncommittedBlocks?.length})`);
    t.ok((blocks.uncommittedBlocks ?? []).length < 12, 'not all of them');
    t.equal((await getBytes(name)).toString(), 'old', 'the committed blob is untouched');
    t.equal(buffers.stats.lent, 0, 'every buffer is back in the pool');

    // A blob of one block: aborted while generating, nothing is sent; aborted once its Put Blob is on its
    // way (seen by a recording proxy), the Put Blob finishes and the blob is whole.
    const proxy = await startRecordingProxy(server.port);
    t.teardown(() => proxy.close());
    const viaProxy = server.connectionString.replace(
      `:${server.port}/`,
      `${proxy.endpoint.slice(proxy.endpoint.lastIndexOf(':'))}/`,
    );
    const buffers60 = new PartBufferPool(64 * MiB);
    const early = new AbortController();
    const stopped = putGeneratedObject(`az://${container}/abort/single.bin`, gen(60 * MiB), {
      connectionString: viaProxy,
      buffers: buffers60,
      blockSize: 64 * MiB,
      signal: early.signal,
    });
    early.abort(); // while its buffer is being taken and filled
    await t.rejects(stopped, { name: 'AbortError' });
    t.same(proxy.requests, [], 'aborted while generating: no request sent');
    t.equal(await blobClient('abort/single.bin').exists(), false);
    const late = new AbortController();
    const single = putGeneratedObject(`az://${container}/abort/single.bin`, gen(60 * MiB), {
      connectionString: viaProxy,
      buffers: buffers60,
      blockSize: 64 * MiB,
      signal: late.signal,
    });
    abortOnceSent(proxy.requests, late);
    await single;
    t.ok(late.signal.aborted, 'aborted while the Put Blob was on its way');
    t.same(
      proxy.requests.map((r) => r.method),
      ['PUT'],
      'one Put Blob',
    );
    t.ok((await getBytes('abort/single.bin')).equals(gen(60 * MiB).generateSync()), 'it finished: the blob is whole');
  });

  t.test('the server killed mid-upload: ERR_DGEN_BACKEND naming the blob; nothing after restart', async (t) => {
    const name = 'killed/obj.bin';
    let stored = 0;
    let killed: Promise<void> | undefined;
    const err = (await putGeneratedObject(`az://${container}/${name}`, gen(1024 * MiB), {
      connectionString: server.connectionString,
      pipeline,
      blockSize: P,
      blockConcurrency: 2,
      onStored: () => {
        if (++stored === 3) killed = server.kill();
      },
    }).catch((e: unknown) => e)) as Error & { code?: string };
    t.comment(err.message);
    t.equal(err.code, 'ERR_DGEN_BACKEND');
    t.match(err.message, /^Azure Blob: .*az:\/\/dgen-put\/killed\/obj\.bin failed/);
    await killed;
    await server.restart();
    // Azurite saves its metadata now and then: a SIGKILL may lose the container itself.
    await service.getContainerClient(container).createIfNotExists();
    t.equal(await blobClient(name).exists(), false, 'no blob after the server restarts');
  });
});

// S3 sink against a real S3-compatible server (s3rver on 127.0.0.1): round trips, abort paths checked by
// the requests that reached the server, a server killed mid-upload, and dgen put s3://.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32c } from '@node-rs/crc32';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  createGenerator,
  createS3Client,
  createSink,
  DataSource,
  formatCrc32c,
  isFailureRecord,
  loadManifest,
  MIN_PART_SIZE,
  readManifestRecords,
  S3Sink,
  type ManifestRecord,
} from '../lib/index.js';
import { startRecordingProxy, startS3rver } from './fixtures/servers.js';
import { decompress, near } from './fixtures/helpers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const bucket = 'dgen-test';
const shape = { seed: 77n, compressRatio: 3, dedupRatio: 1.5 };

const server = await startS3rver([bucket]);
t.teardown(() => server.stop());
// The SDK's retries stay on for the test's own requests: spawnSync(dgen ...) blocks this process's event
// loop for seconds, longer than s3rver keeps an idle keep-alive connection (5 s), so the next request can
// go out on a socket the server already closed and fail with `socket hang up` (ECONNRESET).
const client = createS3Client({ endpoint: server.endpoint, credentials });
t.teardown(() => client.destroy());

async function getBytes(c: S3Client, key: string): Promise<Buffer> {
  const out = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
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

t.test('round trips: sizes 0, 1, a part minus one byte, several parts with a tail; with and without compression', async (t) => {
  for (const compression of ['none', 'zstd', 'gzip']) {
    for (const size of [0, 1, MIN_PART_SIZE - 1, 2 * MIN_PART_SIZE + 12345]) {
      const key = `rt/${compression}/${size}.bin`;
      const sink = new S3Sink(bucket, key, { client, partSize: MIN_PART_SIZE, compression });
      await pipeline(new DataSource({ size, ...shape, chunkSize: 1 << 20 }), sink);
      const result = await sink.result();
      const expected = createGenerator({ size, ...shape }).generateSync();
      const stored = await getBytes(client, key);
      t.equal(stored.length, result.compressedSize, `${key}: stored size is compressedSize`);
      const back = await decompress(stored, compression);
      t.ok(back.equals(expected), `${key}: bytes read back equal regeneration`);
      t.equal(result.crc32c, formatCrc32c(crc32c(expected)), `${key}: CRC-32C of the uncompressed bytes`);
      t.equal(result.uri, `s3://${bucket}/${key}`);
      t.equal(result.size, size);
      t.type(result.etag, 'string', 'etag reported');
      if (compression !== 'none' && size > 1000)
        t.ok(result.compressedSize < size / 2, `${compression} compressed ${size} to ${result.compressedSize}`);
    }
  }
});

t.test('mixed content through an S3 sink: header, source with end:false, footer', async (t) => {
  const sink = createSink(`s3://${bucket}/mixed.bin`, { endpoint: server.endpoint, credentials });
  const header = Buffer.from('HEAD');
  sink.write(header);
  const source = new DataSource({ size: 6 * 1024 * 1024, ...shape });
  await new Promise<void>((resolve, reject) => {
    source.once('end', resolve).once('error', reject);
    source.pipe(sink, { end: false });
  });
  sink.end(Buffer.from('FOOT'));
  const result = await sink.result();
  const expected = Buffer.concat([
    header,
    createGenerator({ size: 6 * 1024 * 1024, ...shape }).generateSync(),
    Buffer.from('FOOT'),
  ]);
  t.ok((await getBytes(client, 'mixed.bin')).equals(expected));
  t.equal(result.crc32c, formatCrc32c(crc32c(expected)));
});

t.test('abort paths: no object appears, AbortMultipartUpload reaches the server, the original error wins', async (t) => {
  const proxy = await startRecordingProxy(server.port);
  t.teardown(() => proxy.close());
  const viaProxy = createS3Client({ endpoint: proxy.endpoint, credentials, maxAttempts: 1 });
  t.teardown(() => viaProxy.destroy());
  const size = 6 * MIN_PART_SIZE;

  const cases: [string, (source: DataSource, sink: S3Sink, ac: AbortController) => Promise<unknown>, RegExp | string][] = [
    [
      'source error',
      (source, sink) => {
        let n = 0;
        const failing = new Transform({
          transform(chunk: Buffer, _e, cb) {
            n += chunk.length;
            cb(n > 3 * MIN_PART_SIZE ? new Error('upstream broke') : null, chunk);
          },
        });
        return pipeline(source, failing, sink);
      },
      'upstream broke',
    ],
    [
      'destroy()',
      (source, sink) => {
        let n = 0;
        source.on('data', (c: Buffer) => {
          n += c.length;
          if (n > 3 * MIN_PART_SIZE) sink.destroy(new Error('stopped by the caller'));
        });
        return pipeline(source, sink);
      },
      'stopped by the caller',
    ],
    [
      'AbortSignal',
      (source, sink, ac) => {
        let n = 0;
        source.on('data', (c: Buffer) => {
          n += c.length;
          if (n > 3 * MIN_PART_SIZE) ac.abort();
        });
        return pipeline(source, sink);
      },
      'AbortError',
    ],
  ];
  for (const [name, run, expected] of cases) {
    proxy.requests.length = 0;
    const key = `abort/${name.replace(/\W/g, '')}.bin`;
    const ac = new AbortController();
    const sink = new S3Sink(bucket, key, { client: viaProxy, partSize: MIN_PART_SIZE, partConcurrency: 2, signal: ac.signal });
    await t.rejects(run(new DataSource({ size, seed: 1, chunkSize: 1 << 20 }), sink, ac));
    const err = await sink.result().then(
      () => undefined,
      (e: Error) => e,
    );
    t.ok(err, `${name}: result() rejects`);
    if (expected === 'AbortError') t.equal(err?.name, 'AbortError', `${name}: the AbortError reaches the caller`);
    else t.equal(err?.message, expected, `${name}: the original error reaches the caller`);
    const sent = proxy.requests.map(
      (r) =>
        `${r.method} ${r.url.replace(/\?.*/, '')}${r.url.includes('uploadId=') ? '?uploadId' : r.url.includes('uploads') ? '?uploads' : ''}`,
    );
    t.ok(
      sent.some((r) => r.startsWith('POST') && r.endsWith('?uploads')),
      `${name}: a multipart upload was started`,
    );
    t.ok(
      sent.some((r) => r.startsWith('PUT') && r.endsWith('?uploadId')),
      `${name}: parts were uploaded`,
    );
    const abort = proxy.requests.find((r) => r.method === 'DELETE' && r.url.includes('uploadId='));
    t.ok(abort, `${name}: AbortMultipartUpload (DELETE ?uploadId) reached the server`);
    t.equal(abort?.status, 405, 's3rver answers it with 405 (known)');
    t.notOk(
      proxy.requests.some((r) => r.method === 'POST' && r.url.includes('uploadId=')),
      `${name}: no CompleteMultipartUpload was sent`,
    );
    t.equal(await exists(client, key), false, `${name}: no object at the destination`);
  }
});

t.test('a server killed mid-upload: a bounded failure naming S3 and the object; nothing after restart', async (t) => {
  const key = 'killed/obj.bin';
  const sink = new S3Sink(bucket, key, { endpoint: server.endpoint, credentials, partSize: MIN_PART_SIZE, maxAttempts: 2 });
  const source = new DataSource({ size: 1024 ** 3, seed: 3, chunkSize: 1 << 20 });
  let n = 0;
  let killed: Promise<void> | undefined;
  source.on('data', (c: Buffer) => {
    n += c.length;
    if (n >= 3 * MIN_PART_SIZE && !killed) killed = server.kill();
  });
  const started = Date.now();
  await t.rejects(pipeline(source, sink));
  const err = await sink.result().catch((e: Error & { code?: string }) => e);
  t.comment(`failed after ${Date.now() - started} ms: ${(err as Error).message}`);
  t.match((err as Error).message, /S3: .*s3:\/\/dgen-test\/killed\/obj\.bin/, 'the error names the backend and the object');
  t.equal((err as { code?: string }).code, 'ERR_DGEN_BACKEND');
  await killed;
  await server.restart();
  t.equal(await exists(client, key), false, 'no complete object after the server restarts');
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'killed/' }));
  t.equal(listed.KeyCount ?? 0, 0);
});

t.test('dgen put s3://bucket/prefix with --endpoint and --compression', async (t) => {
  const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [
      bin,
      'put',
      `s3://${bucket}/run1`,
      '--endpoint',
      server.endpoint,
      '--count',
      '3',
      '--size',
      '6MiB',
      '--part-size',
      '5MiB',
      '--compression',
      'zstd',
      '--compress',
      '3',
      '--seed',
      '5',
      '--json',
    ],
    { env: { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }, encoding: 'utf8' },
  );
  t.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  t.match(summary, {
    committed: 3,
    failed: 0,
    manifest: `s3://${bucket}/run1/dgen-manifest.json`,
    records: `s3://${bucket}/run1/dgen-manifest.records.ndjson`,
  });
  const connection = { endpoint: server.endpoint, credentials };
  const stored = await loadManifest(summary.manifest, connection);
  const objects: ManifestRecord[] = [];
  for await (const line of readManifestRecords(stored, summary.manifest, connection))
    if (!isFailureRecord(line)) objects.push(line);
  objects.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  t.same(
    objects.map((o) => o.name),
    [0, 1, 2].map((i) => `obj-00000${i}.bin.zst`),
    'records streamed back from S3',
  );
  t.equal(
    summary.compressedBytes,
    objects.reduce((a, o) => a + o.compressedSize!, 0),
  );
  for (const [i, o] of objects.entries()) {
    const stored = await getBytes(client, `run1/${o.name}`);
    t.equal(stored.length, o.compressedSize);
    const back = await decompress(stored, 'zstd');
    t.ok(
      back.equals(createGenerator({ size: 6 * 1024 * 1024, compressRatio: 3, seed: 5, objectId: i }).generateSync()),
      `object ${i} round-trips`,
    );
    t.equal(o.crc32c, formatCrc32c(crc32c(back)));
  }
  const manifest = JSON.parse((await getBytes(client, 'run1/dgen-manifest.json')).toString());
  t.equal(manifest.target, `s3://${bucket}/run1`);
  t.same(manifest.compression, { algorithm: 'zstd', level: 3 });
  t.match(manifest, { version: 2, committed: 3, failed: 0, records: 'dgen-manifest.records.ndjson' });
  t.equal((await getBytes(client, 'run1/dgen-manifest.records.ndjson')).toString().trim().split('\n').length, 3);
});

t.test('dgen analyze reads objects under an s3:// prefix', async (t) => {
  const { analyze } = await import('../lib/index.js');
  const r = await analyze([`s3://${bucket}/rt/none/`], {
    endpoint: server.endpoint,
    credentials,
    // the default measures zstd-1 over whole inputs (perChunk: false would be hashing only)
    chunkSizes: [4096],
  } as never);
  t.equal(r.inputs, 4, 'four objects under the prefix');
  t.equal(r.bytes, 0 + 1 + (MIN_PART_SIZE - 1) + (2 * MIN_PART_SIZE + 12345));
  t.ok(near(r.compression['zstd-1']!.whole, 3, 0.06), `zstd-1 whole ${r.compression['zstd-1']!.whole.toFixed(3)} for c = 3`);
});

// Library boundaries of the sinks: createSink rejects every target it cannot build and every option of
// the wrong type or out of range with a typed error naming it, before anything exists (no temporary file,
// no request at the server); an S3 sink destroyed without an error whose AbortMultipartUpload fails emits
// no 'error' event and reports the failure through result().
import t, { type Test } from 'tap';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { AzureBlobSink, createS3Client, createSink, MIN_PART_SIZE, S3Sink } from '../../lib/index.js';
import { parsePartOptions } from '../../lib/sinks/s3-sink.js';
import { parseBlockOptions } from '../../lib/sinks/azure-sink.js';
import { startAzurite, startRecordingProxy, startS3rver } from '../fixtures/servers.js';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const bucket = 'dgen-bounds';
const root = await mkdtemp(join(tmpdir(), 'dgen-sink-bounds-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const s3 = await startS3rver([bucket]);
t.teardown(() => s3.stop());
const proxy = await startRecordingProxy(s3.port);
t.teardown(() => proxy.close());

/** Runs `make`, expects a typed error, then lets a few turns of the event loop pass (a sink constructed
 * and then abandoned would open its temporary file on the next tick). */
async function rejects(
  t: Test,
  what: string,
  make: () => unknown,
  expected: { name: string; code: string; parameter: string },
): Promise<void> {
  let thrown: unknown;
  try {
    make();
  } catch (err) {
    thrown = err;
  }
  t.match(thrown, expected, `${what}: ${expected.name} ${expected.code} naming ${expected.parameter}`);
  t.match(
    String((thrown as Error | undefined)?.message),
    new RegExp(`^${expected.parameter} must be`),
    `${what}: the message names ${expected.parameter}`,
  );
  for (let i = 0; i < 5; i++) await tick();
}

t.test('createSink: a target it cannot build is a typed error, not undefined', async (t) => {
  const uri = { name: 'TypeError', code: 'ERR_DGEN_INVALID_URI', parameter: 'target' };
  await rejects(t, 'createSink(42)', () => createSink(42 as never), uri);
  await rejects(t, 'createSink(null)', () => createSink(null as never), uri);
  await rejects(t, 'createSink({})', () => createSink({} as never), uri);
  await rejects(t, 'unknown scheme object', () => createSink({ scheme: 'ftp', path: '/x' } as never), uri);
  await rejects(t, 's3 target without a key', () => createSink({ scheme: 's3', bucket } as never), uri);
  await rejects(t, 'az target with an empty blob', () => createSink({ scheme: 'az', container: 'c', blob: '' }), uri);
  await rejects(t, 'file target with a numeric path', () => createSink({ scheme: 'file', path: 7 } as never), uri);
  await rejects(t, 'a string that is no URI', () => createSink('ftp://host/x'), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_URI',
    parameter: 'uri',
  });
  await rejects(t, 'options not an object', () => createSink(join(root, 'a.bin'), 'fast' as never), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'options',
  });
  t.same(await readdir(root), [], 'nothing was created');
});

t.test('file and direct sinks: options of the wrong type or out of range create nothing', async (t) => {
  const file = join(root, 'obj.bin');
  const type = (parameter: string) => ({ name: 'TypeError', code: 'ERR_DGEN_INVALID_OPTION', parameter });
  const range = (parameter: string) => ({ name: 'RangeError', code: 'ERR_DGEN_INVALID_OPTION', parameter });
  await rejects(t, "fsync: 'no'", () => createSink(file, { fsync: 'no' as never }), type('fsync'));
  await rejects(t, 'fsync: 1 (direct)', () => createSink(`direct://${file}`, { fsync: 1 as never }), type('fsync'));
  await rejects(t, "signal: 'x'", () => createSink(file, { signal: 'x' as never }), type('signal'));
  await rejects(t, 'highWaterMark: -1', () => createSink(file, { highWaterMark: -1 }), range('highWaterMark'));
  await rejects(t, "highWaterMark: 'lots'", () => createSink(file, { highWaterMark: 'lots' as never }), range('highWaterMark'));
  await rejects(t, 'highWaterMark: true', () => createSink(file, { highWaterMark: true as never }), type('highWaterMark'));
  await rejects(
    t,
    'bufferSize: 1000 (direct)',
    () => createSink(`direct://${file}`, { bufferSize: 1000 } as never),
    range('bufferSize'),
  );
  t.same(await readdir(root), [], 'no temporary file and no object');
});

t.test('S3 and Azure sinks: every option is checked before a request is sent', async (t) => {
  const at = { endpoint: proxy.endpoint, credentials };
  const key = 'bounds/obj.bin';
  const type = (parameter: string) => ({ name: 'TypeError', code: 'ERR_DGEN_INVALID_OPTION', parameter });
  const range = (parameter: string) => ({ name: 'RangeError', code: 'ERR_DGEN_INVALID_OPTION', parameter });
  const cases: [string, object, ReturnType<typeof type>][] = [
    ['partSize: true', { partSize: true }, type('partSize')],
    ["partSize: '4MiB'", { partSize: '4MiB' }, range('partSize')],
    ["partSize: 'big'", { partSize: 'big' }, range('partSize')],
    ['partSize: 1 MiB', { partSize: 1 << 20 }, range('partSize')],
    ['partConcurrency: 0', { partConcurrency: 0 }, range('partConcurrency')],
    ['partConcurrency: 1e6', { partConcurrency: 1e6 }, range('partConcurrency')],
    ["forcePathStyle: 'yes'", { forcePathStyle: 'yes' }, type('forcePathStyle')],
    ['maxAttempts: 0', { maxAttempts: 0 }, range('maxAttempts')],
    ["maxAttempts: '3'", { maxAttempts: '3' }, type('maxAttempts')],
    ["endpoint: 'ftp://x'", { endpoint: 'ftp://127.0.0.1:1' }, range('endpoint')],
    ["region: ''", { region: '' }, type('region')],
    ["checksumAlgorithm: 'MD5'", { checksumAlgorithm: 'MD5' }, range('checksumAlgorithm')],
    ['client: {}', { client: {} }, type('client')],
    ['contentType: 5', { contentType: 5 }, type('contentType')],
    ["credentials: 'key'", { credentials: 'AKIA' }, type('credentials')],
    ["signal: 'x'", { signal: 'x' }, type('signal')],
    ['highWaterMark: 0.5', { highWaterMark: 0.5 }, range('highWaterMark')],
  ];
  proxy.requests.length = 0;
  for (const [name, options, expected] of cases) {
    await rejects(t, `S3Sink ${name}`, () => new S3Sink(bucket, key, { ...at, ...options } as never), expected);
    await rejects(
      t,
      `createSink s3:// ${name}`,
      () => createSink(`s3://${bucket}/${key}`, { ...at, ...options } as never),
      expected,
    );
  }
  await rejects(
    t,
    "createS3Client maxAttempts: 'many'",
    () => createS3Client({ maxAttempts: 'many' as never }),
    type('maxAttempts'),
  );
  // Size options take size strings, as size and chunkSize do.
  t.doesNotThrow(() => new S3Sink(bucket, key, { ...at, partSize: '5MiB' }).destroy(), "partSize: '5MiB' is 5 MiB");
  t.same(parsePartOptions({ partSize: '64MiB' }), { partSize: 64 << 20, partConcurrency: 4 });
  t.same(parseBlockOptions({ blockSize: '4MiB', blockConcurrency: 2 }), { blockSize: 4 << 20, blockConcurrency: 2 });
  await sleep(50);
  t.same(proxy.requests, [], 'not one request reached the server');

  const connectionString =
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
  const az: [string, object, ReturnType<typeof type>][] = [
    ['blockSize: true', { connectionString, blockSize: true }, type('blockSize')],
    ["blockSize: '5000MiB'", { connectionString, blockSize: '5000MiB' }, range('blockSize')],
    ['blockSize: 0', { connectionString, blockSize: 0 }, range('blockSize')],
    ['blockConcurrency: 1e6', { connectionString, blockConcurrency: 1e6 }, range('blockConcurrency')],
    ['connectionString: 5', { connectionString: 5 }, type('connectionString')],
    ['serviceClient: {}', { serviceClient: {} }, type('serviceClient')],
    ["pipeline: 'fast'", { connectionString, pipeline: 'fast' }, type('pipeline')],
    ['contentType: true', { connectionString, contentType: true }, type('contentType')],
    ["signal: 'x'", { connectionString, signal: 'x' }, type('signal')],
  ];
  for (const [name, options, expected] of az) {
    await rejects(t, `AzureBlobSink ${name}`, () => new AzureBlobSink('c', 'b', options as never), expected);
    await rejects(t, `createSink az:// ${name}`, () => createSink('az://c/b', options as never), expected);
  }
});

t.test('S3: destroy() without an error when AbortMultipartUpload fails: no error event, result() reports it', async (t) => {
  // s3rver answers AbortMultipartUpload with 405: a real failure of the cleanup request.
  const client = createS3Client({ endpoint: proxy.endpoint, credentials, maxAttempts: 1 });
  t.teardown(() => client.destroy());
  proxy.requests.length = 0;
  const sink = new S3Sink(bucket, 'destroyed/obj.bin', { client, partSize: MIN_PART_SIZE, partConcurrency: 1 });
  const errors: Error[] = [];
  sink.on('error', (err) => errors.push(err));
  // Two parts and a bit: the multipart upload is created and its first part sent.
  const part = Buffer.alloc(MIN_PART_SIZE, 7);
  sink.write(part);
  sink.write(part);
  sink.write(Buffer.alloc(1024, 1));
  while (!proxy.requests.some((r) => r.method === 'PUT' && r.url.includes('partNumber=') && r.status !== undefined))
    await sleep(10);
  sink.destroy();
  const failure = await sink.result().then(
    () => undefined,
    (err: Error & { code?: string }) => err,
  );
  await new Promise<void>((r) => (sink.closed ? r() : sink.once('close', () => r())));
  await tick();
  t.same(errors, [], "no 'error' event was emitted");
  const abort = proxy.requests.find((r) => r.method === 'DELETE' && r.url.includes('uploadId='));
  t.equal(abort?.status, 405, 'AbortMultipartUpload was sent and refused');
  t.equal(failure?.code, 'ERR_DGEN_BACKEND', 'result() rejects with the failure of the cleanup');
  t.match(failure?.message, /abort of the upload of s3:\/\/dgen-bounds\/destroyed\/obj\.bin failed/);

  // The same without any listener, as a script would: the process must not crash on an uncaught 'error'.
  const quiet = new S3Sink(bucket, 'destroyed/quiet.bin', { client, partSize: MIN_PART_SIZE, partConcurrency: 1 });
  quiet.write(part);
  quiet.write(part);
  const before = proxy.requests.filter(
    (r) => r.method === 'PUT' && r.url.includes('partNumber=') && r.status !== undefined,
  ).length;
  while (
    proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('partNumber=') && r.status !== undefined).length === before
  )
    await sleep(10);
  quiet.destroy();
  await t.rejects(
    quiet.result(),
    { code: 'ERR_DGEN_BACKEND' },
    'result() of a sink nobody listens to reports the cleanup failure',
  );
});

t.test('Azure: destroy() without an error emits no error event and leaves no blob', async (t) => {
  const azurite = await startAzurite();
  t.teardown(() => azurite.stop());
  const { BlobServiceClient } = await import('@azure/storage-blob');
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await service.getContainerClient('bounds').create();
  const sink = new AzureBlobSink('bounds', 'destroyed.bin', { connectionString: azurite.connectionString, blockSize: 1 << 20 });
  const errors: Error[] = [];
  sink.on('error', (err) => errors.push(err));
  sink.write(Buffer.alloc(3 << 20, 5));
  await sleep(20);
  sink.destroy();
  await t.rejects(sink.result(), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  t.same(errors, []);
  t.equal(await service.getContainerClient('bounds').getBlobClient('destroyed.bin').exists(), false);
});

// Sink options at the boundary: a key no sink takes is a TypeError naming it with a "did you mean" hint,
// and size options (highWaterMark, bufferSize, partSize, blockSize) take size strings; nothing is created
// by a rejected call. The S3 and Azure sinks are made without a server: they send nothing before a write.
import t from 'tap';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureBlobSink, createS3Client, createSink, DirectFileSink, FileSink, S3Sink } from '../lib/index.js';

const dir = await mkdtemp(join(tmpdir(), 'dgen-backend-options-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
// Azurite's well-known development account; no request is sent to it.
const connectionString =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';

const unknownKey = (where: string, key: string, hint: string) => ({
  name: 'TypeError',
  code: 'ERR_DGEN_INVALID_OPTION',
  parameter: key,
  message: `${where} have no option ${JSON.stringify(key)}: did you mean ${hint}?`,
});

t.test('unknown keys: each sink names the key and the option meant; nothing is created', async (t) => {
  const file = join(dir, 'unknown.bin');
  t.throws(() => new FileSink(file, { fsynk: true } as never), unknownKey('FileSink options', 'fsynk', 'fsync'));
  t.throws(() => new FileSink(file, { partSize: '5MiB' } as never), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'partSize',
    message: /^FileSink options have no option "partSize"/,
  });
  t.throws(
    () => new DirectFileSink(file, { buffersize: 8192 } as never),
    unknownKey('DirectFileSink options', 'buffersize', 'bufferSize'),
  );
  t.throws(
    () => new S3Sink('b', 'k', { partsize: '5MiB', endpoint: 'http://127.0.0.1:9', credentials } as never),
    unknownKey('S3Sink options', 'partsize', 'partSize'),
  );
  t.throws(
    () => new AzureBlobSink('c', 'b', { blocksize: 1024, connectionString } as never),
    unknownKey('AzureBlobSink options', 'blocksize', 'blockSize'),
  );
  t.throws(() => createSink(file, { highWatermark: 1 } as never), unknownKey('sink options', 'highWatermark', 'highWaterMark'));
  t.throws(
    () => createSink(`s3://b/k`, { contenttype: 'text/plain', credentials } as never),
    unknownKey('sink options', 'contenttype', 'contentType'),
  );
  // A misspelt key is wrong whatever its value, undefined included.
  t.throws(() => new FileSink(file, { sygnal: undefined } as never), {
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'sygnal',
    message: /did you mean signal\?/,
  });
  await new Promise((r) => setTimeout(r, 50));
  t.same(await readdir(dir), [], 'no file and no .dgen-partial');
});

t.test("createSink gives each sink the keys it takes: a file target ignores another backend's options", async (t) => {
  const file = join(dir, 'mixed.bin');
  const sink = createSink(file, {
    partSize: '5MiB',
    blockSize: '1MiB',
    connectionString: 'unused',
    fsync: true,
    highWaterMark: '64KiB',
  });
  t.equal(sink.writableHighWaterMark, 64 * 1024);
  sink.end(Buffer.from('payload'));
  const result = await sink.result();
  t.equal(result.size, 7);
  t.equal(await readFile(file, 'utf8'), 'payload');
  await rm(file);
});

t.test('size strings: highWaterMark on every sink, bufferSize, partSize, blockSize', async (t) => {
  const file = new FileSink(join(dir, 'hwm.bin'), { highWaterMark: '64KiB' });
  t.equal(file.writableHighWaterMark, 65536, "highWaterMark '64KiB' is 65536 bytes");
  file.destroy();
  await file.result().catch(() => {});
  const four = new FileSink(join(dir, 'hwm4k.bin'), { highWaterMark: '4k' });
  t.equal(four.writableHighWaterMark, 4096, "fio's '4k' is 4096 bytes");
  four.destroy();
  await four.result().catch(() => {});

  const client = createS3Client({ endpoint: 'http://127.0.0.1:9', credentials });
  t.teardown(() => client.destroy());
  const s3 = new S3Sink('b', 'k', { client, highWaterMark: '8MiB', partSize: '5MiB' });
  t.equal(s3.writableHighWaterMark, 8 * 1024 * 1024);
  s3.destroy();
  await s3.result().catch(() => {});
  const az = new AzureBlobSink('c', 'b', { connectionString, highWaterMark: '2MiB', blockSize: '1MiB' });
  t.equal(az.writableHighWaterMark, 2 * 1024 * 1024);
  az.destroy();
  await az.result().catch(() => {});

  const direct = new DirectFileSink(join(dir, 'direct.bin'), { bufferSize: '64KiB' });
  direct.on('error', () => {}); // O_DIRECT may be refused here (tmpfs): only the option is under test
  direct.destroy();
  await direct.result().catch(() => {});
  await new Promise((r) => setTimeout(r, 50));
  t.same(await readdir(dir), [], 'the destroyed sinks left nothing');
});

t.test('bad size strings: RangeError naming the option, the value as given and what is allowed', async (t) => {
  const file = join(dir, 'bad.bin');
  t.throws(() => new FileSink(file, { highWaterMark: '1.5' }), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'highWaterMark',
    value: '1.5',
    message: /^highWaterMark must be a whole number of bytes .*; got "1\.5"$/,
  });
  t.throws(() => new FileSink(file, { highWaterMark: '4GiB' }), {
    name: 'RangeError',
    parameter: 'highWaterMark',
    value: '4GiB',
    message: 'highWaterMark must be a whole number of bytes from 1 to 2147483647, or a size string such as "8MiB"; got "4GiB"',
  });
  t.throws(() => createSink(file, { highWaterMark: 0 }), { name: 'RangeError', parameter: 'highWaterMark', value: 0 });
  t.throws(() => new FileSink(file, { highWaterMark: true as never }), {
    name: 'TypeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'highWaterMark',
  });
  t.throws(() => new DirectFileSink(file, { bufferSize: '6KiB' }), {
    name: 'RangeError',
    code: 'ERR_DGEN_INVALID_OPTION',
    parameter: 'bufferSize',
    value: '6KiB',
    message: 'bufferSize must be a multiple of 4096 bytes from 4096 to 1073741824; got "6KiB"',
  });
  t.throws(() => new DirectFileSink(file, { bufferSize: '2GiB' }), {
    name: 'RangeError',
    parameter: 'bufferSize',
    value: '2GiB',
  });
  t.throws(() => new S3Sink('b', 'k', { partSize: '4MiB', credentials }), {
    name: 'RangeError',
    parameter: 'partSize',
    value: '4MiB',
  });
  t.throws(() => new S3Sink('b', 'k', { partConcurrency: 0, credentials }), {
    name: 'RangeError',
    parameter: 'partConcurrency',
    message: 'partConcurrency must be a whole number from 1 to 10000; got 0',
  });
  t.throws(() => new AzureBlobSink('c', 'b', { blockSize: 'big', connectionString }), {
    name: 'RangeError',
    parameter: 'blockSize',
    value: 'big',
  });
  t.throws(() => new AzureBlobSink('c', 'b', { blockConcurrency: 1.5, connectionString }), {
    name: 'RangeError',
    parameter: 'blockConcurrency',
    value: 1.5,
  });
  t.throws(() => new FileSink(file, { signal: {} as never }), {
    name: 'TypeError',
    parameter: 'signal',
    message: 'signal must be an AbortSignal; got [object Object]',
  });
  await new Promise((r) => setTimeout(r, 50));
  t.same(await readdir(dir), [], 'nothing was created');
});

// Azure Blob sink against Azurite on 127.0.0.1: round trips, blocks committed only on success, a server
// killed mid-upload, and dgen put az://.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  AzureBlobSink,
  createGenerator,
  createSink,
  DataSource,
  formatCrc32c,
  isFailureRecord,
  loadManifest,
  readManifestRecords,
  type ManifestRecord,
} from '../lib/index.js';
import { startAzurite } from './fixtures/servers.js';
import { decompress } from './fixtures/helpers.js';

const container = 'dgen-test';
const shape = { seed: 88n, compressRatio: 2, dedupRatio: 2 };
const MiB = 1024 * 1024;

const server = await startAzurite();
t.teardown(() => server.stop());
// Sinks whose failures a test provokes: no SDK retries.
const pipelineOptions = { retryOptions: { maxTries: 1, tryTimeoutInMs: 10_000 } };
// The test's own reads retry: spawnSync(dgen ...) blocks this process's event loop for seconds, longer
// than Azurite keeps an idle keep-alive connection (5 s), so the next request can go out on a socket the
// server already closed and fail with `socket hang up` (ECONNRESET).
const service = BlobServiceClient.fromConnectionString(server.connectionString, {
  retryOptions: { maxTries: 4, retryDelayInMs: 100, tryTimeoutInMs: 10_000 },
});
await service.getContainerClient(container).create();

async function getBytes(name: string): Promise<Buffer> {
  return service.getContainerClient(container).getBlobClient(name).downloadToBuffer();
}
async function exists(name: string): Promise<boolean> {
  return service.getContainerClient(container).getBlobClient(name).exists();
}

t.test('round trips: sizes 0, 1, a block minus one byte, several blocks with a tail; with and without compression', async (t) => {
  const blockSize = 4 * MiB;
  for (const compression of ['none', 'zstd', 'gzip']) {
    for (const size of [0, 1, blockSize - 1, 3 * blockSize + 777]) {
      const name = `rt/${compression}/${size}.bin`;
      const sink = new AzureBlobSink(container, name, { connectionString: server.connectionString, blockSize, compression });
      await pipeline(new DataSource({ size, ...shape, chunkSize: MiB }), sink);
      const result = await sink.result();
      const expected = createGenerator({ size, ...shape }).generateSync();
      const stored = await getBytes(name);
      t.equal(stored.length, result.compressedSize, `${name}: stored size is compressedSize`);
      t.ok((await decompress(stored, compression)).equals(expected), `${name}: bytes read back equal regeneration`);
      t.equal(result.crc32c, formatCrc32c(crc32c(expected)));
      t.same(
        result.backendChecksum,
        { algorithm: 'MD5', value: createHash('md5').update(stored).digest('base64') },
        `${name}: Content-MD5 of the stored bytes`,
      );
      const props = await service.getContainerClient(container).getBlobClient(name).getProperties();
      t.equal(
        Buffer.from(props.contentMD5 ?? []).toString('base64'),
        result.backendChecksum?.value,
        'the service holds the same Content-MD5',
      );
      t.equal(result.uri, `az://${container}/${name}`);
      t.type(result.etag, 'string');
    }
  }
});

t.test('abort: blocks staged but never committed, nothing visible, an old blob left as it was', async (t) => {
  const name = 'abort/keep.bin';
  await service.getContainerClient(container).getBlockBlobClient(name).upload('old', 3);
  for (const how of ['source error', 'destroy', 'signal']) {
    const ac = new AbortController();
    const sink = new AzureBlobSink(container, name, {
      connectionString: server.connectionString,
      blockSize: MiB,
      signal: ac.signal,
    });
    const source = new DataSource({ size: 64 * MiB, seed: 2, chunkSize: MiB });
    let n = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        n += chunk.length;
        if (n > 8 * MiB) {
          if (how === 'source error') return cb(new Error('upstream broke'));
          if (how === 'destroy') sink.destroy(new Error('stopped by the caller'));
          if (how === 'signal') ac.abort();
        }
        cb(null, chunk);
      },
    });
    await t.rejects(pipeline(source, tap, sink));
    const err = await sink.result().catch((e: Error) => e);
    t.match(
      (err as Error).message + (err as Error).name,
      how === 'signal' ? /AbortError/ : how === 'destroy' ? /stopped by the caller/ : /upstream broke/,
      `${how}: the original error`,
    );
    const blocks = await service.getContainerClient(container).getBlockBlobClient(name).getBlockList('all');
    t.ok((blocks.uncommittedBlocks ?? []).length > 0, `${how}: blocks were staged (${blocks.uncommittedBlocks?.length})`);
    t.equal((await getBytes(name)).toString(), 'old', `${how}: the committed blob is untouched`);
  }
  t.equal(await exists('abort/never.bin'), false);
});

t.test('a server killed mid-upload: a bounded failure naming Azure Blob and the blob; nothing after restart', async (t) => {
  const name = 'killed/obj.bin';
  const sink = new AzureBlobSink(container, name, {
    connectionString: server.connectionString,
    blockSize: MiB,
    pipeline: pipelineOptions,
  });
  const source = new DataSource({ size: 1024 ** 3, seed: 3, chunkSize: MiB });
  let n = 0;
  let killed: Promise<void> | undefined;
  source.on('data', (c: Buffer) => {
    n += c.length;
    if (n >= 8 * MiB && !killed) killed = server.kill();
  });
  await t.rejects(pipeline(source, sink));
  const err = (await sink.result().catch((e: Error) => e)) as Error & { code?: string };
  t.comment(err.message);
  t.match(err.message, /Azure Blob: .*az:\/\/dgen-test\/killed\/obj\.bin/);
  t.equal(err.code, 'ERR_DGEN_BACKEND');
  await killed;
  await server.restart();
  // Azurite saves its metadata now and then: a SIGKILL may lose the container itself.
  await service.getContainerClient(container).createIfNotExists();
  t.equal(await exists(name), false, 'no blob after the server restarts');
});

t.test('URI factory and dgen put az://container/prefix', async (t) => {
  const sink = createSink(`az://${container}/via-uri.bin`, { connectionString: server.connectionString });
  sink.end(Buffer.from('hello'));
  t.equal((await sink.result()).uri, `az://${container}/via-uri.bin`);
  t.equal((await getBytes('via-uri.bin')).toString(), 'hello');

  const bin = fileURLToPath(new URL('../bin/dgen.js', import.meta.url));
  const r = spawnSync(
    process.execPath,
    [bin, 'put', `az://${container}/run1`, '--count', '2', '--size', '3MiB', '--compression', 'gzip', '--seed', '9', '--json'],
    {
      env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: server.connectionString },
      encoding: 'utf8',
    },
  );
  t.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  t.match(summary, {
    committed: 2,
    failed: 0,
    manifest: `az://${container}/run1/dgen-manifest.json`,
    records: `az://${container}/run1/dgen-manifest.records.ndjson`,
  });
  const connection = { connectionString: server.connectionString };
  const stored = await loadManifest(summary.manifest, connection);
  const objects: ManifestRecord[] = [];
  for await (const line of readManifestRecords(stored, summary.manifest, connection))
    if (!isFailureRecord(line)) objects.push(line);
  objects.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  for (const [i, o] of objects.entries()) {
    t.equal(o.name, `obj-00000${i}.bin.gz`, 'records streamed back from Azure');
    const back = await decompress(await getBytes(`run1/obj-00000${i}.bin.gz`), 'gzip');
    t.ok(back.equals(createGenerator({ size: 3 * MiB, seed: 9, objectId: i }).generateSync()));
    t.equal(o.crc32c, formatCrc32c(crc32c(back)));
  }
  t.equal(objects.length, 2);
  t.match(JSON.parse((await getBytes('run1/dgen-manifest.json')).toString()), {
    version: 2,
    committed: 2,
    records: 'dgen-manifest.records.ndjson',
  });
  const missing = spawnSync(process.execPath, [bin, 'put', `az://${container}/x`], {
    env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: '' },
    encoding: 'utf8',
  });
  t.equal(missing.status, 2);
  t.match(missing.stderr, /AZURE_STORAGE_CONNECTION_STRING/);
});

t.test('dgen analyze reads blobs under an az:// prefix', async (t) => {
  const { analyze } = await import('../lib/index.js');
  for (const objectId of [0, 1]) {
    const sink = new AzureBlobSink(container, `analyze/${objectId}.bin`, { connectionString: server.connectionString });
    await pipeline(new DataSource({ size: 4 * MiB + 5, ...shape, objectId }), sink);
    await sink.result();
  }
  const r = await analyze([`az://${container}/analyze/`], {
    connectionString: server.connectionString,
    perChunk: false,
    chunkSizes: [4096],
  });
  t.equal(r.inputs, 2);
  t.equal(r.bytes, 2 * (4 * MiB + 5));
  t.ok(r.dedup['4096']! > 1.95, `dedup at 4 KiB: ${r.dedup['4096']!.toFixed(3)} for d = 2`);
});

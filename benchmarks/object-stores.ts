// Puts to s3rver and Azurite on 127.0.0.1: throughput (GB/s) and the client's CPU per GiB (user + system
// of this process, process.cpuUsage(), every thread of it: main, libuv, the addon's workers) for
// - a plain SDK upload of a prepared Buffer (baseline: lib-storage Upload / uploadData; for small objects
//   one PutObject / upload of a slice of it),
// - the stream path: DataSource -> S3Sink / AzureBlobSink (fresh chunk Buffers, lib-storage's part copies
//   and a CRC-32C per part for S3, by the SDK's JavaScript or, with createS3Client, the addon; two MD5s
//   for Azure),
// - putGeneratedObject (lib/object-store-put.ts): parts generated on the addon's workers into reused pool
//   buffers, CRC-32C by ISA-L, the SDKs' own part requests (S3 bodies signed with their SHA-256 over plain
//   HTTP, as here, by default; UNSIGNED-PAYLOAD, the default over HTTPS, measured too).
// The servers run as child processes: their CPU is not counted. They bound the GB/s (s3rver ~0.07 GB/s),
// so the CPU per GiB of our own process is the figure that matters.
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { createGenerator } from '../lib/generator.js';
import { DataSource } from '../lib/source.js';
import { createS3Client, S3Sink } from '../lib/sinks/s3-sink.js';
import { AzureBlobSink } from '../lib/sinks/azure-sink.js';
import { PartBufferPool } from '../lib/part-buffers.js';
import { putGeneratedObject } from '../lib/object-store-put.js';
import { startAzurite, startS3rver } from '../test/fixtures/servers.js';
import { GB, row } from './table.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const BYTES = GiB;
const PART = 16 * MiB; // S3 part size (the default)
const BLOCK = 8 * MiB; // Azure block size (the default)
const SMALL = { count: 1000, size: 256 * 1024, concurrency: 8 };
/** CPU milliseconds per small object. */
const perObject = (m: Measured) =>
  `${(((m.cpuPerGiB * SMALL.count * SMALL.size) / GiB / SMALL.count) * 1e3).toFixed(2)} ms CPU per object`;

interface Measured {
  gbps: number;
  /** CPU seconds (user + system, this process) per GiB moved. */
  cpuPerGiB: number;
}

/** Small-object paths run this many objects first (JIT, connections), unmeasured. */
const WARMUP = 100;

async function measure(bytes: number, fn: () => Promise<unknown>): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { gbps: bytes / seconds / GB, cpuPerGiB: (cpu.user + cpu.system) / 1e6 / (bytes / GiB) };
}

/** Two rows per path: its GB/s against the baseline's, and its GB per CPU-second (the inverse of CPU
 * per GiB, so that the ratio reads "x times the baseline's efficiency") with CPU s/GiB in the note. */
function report(section: string, name: string, m: Measured, baselineName: string, base: Measured, note = ''): void {
  row(
    section,
    name,
    m.gbps,
    baselineName,
    base.gbps,
    `CPU ${m.cpuPerGiB.toFixed(3)} s/GiB (baseline ${base.cpuPerGiB.toFixed(3)})${note ? `; ${note}` : ''}`,
  );
  const perCpu = (x: Measured) => GiB / GB / x.cpuPerGiB;
  row(section, `${name}: GB per CPU-second`, perCpu(m), baselineName, perCpu(base));
}

/** Runs `job` for WARMUP objects (unmeasured), then measures SMALL.count of them. */
async function measureSmall(job: (i: number) => Promise<unknown>): Promise<Measured> {
  await many(WARMUP, SMALL.concurrency, (i) => job(SMALL.count + i));
  return measure(SMALL.count * SMALL.size, () => many(SMALL.count, SMALL.concurrency, job));
}

/** Runs `count` jobs, `concurrency` at a time. */
async function many(count: number, concurrency: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

/** A pool whose buffers have been written once (their pages faulted in), as in the middle of a run. */
async function warmPool(size: number, buffers: number): Promise<PartBufferPool> {
  const pool = new PartBufferPool(size);
  const gen = createGenerator({ size, seed: 9 });
  const held = await Promise.all(Array.from({ length: buffers }, () => pool.acquire()));
  for (const b of held) await gen.fill(b, 0);
  for (const b of held) pool.release(b);
  return pool;
}

export async function benchObjectStores(): Promise<void> {
  const payload = createGenerator({ size: BYTES, seed: 1 }).generateSync();
  const md5Twice = await measure(BYTES, async () => {
    createHash('md5').update(payload).digest();
    createHash('md5').update(payload).digest();
  });

  const s3 = await startS3rver(['bench']);
  try {
    const section = 'S3: 1 GiB object to s3rver (16 MiB parts, 4 in flight; CPU of this process only)';
    const client = createS3Client({ endpoint: s3.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const baseName = 'lib-storage Upload of a Buffer';
    const base = await measure(BYTES, () =>
      new Upload({ client, partSize: PART, queueSize: 4, params: { Bucket: 'bench', Key: 'plain', Body: payload } }).done(),
    );
    // The client createS3Client made before it plugged in the addon's CRC-32C: the SDK's JavaScript one.
    const sdkCrcClient = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    for (const [name, c] of [
      ["DataSource -> S3Sink, the SDK's JavaScript CRC-32C", sdkCrcClient],
      ['DataSource -> S3Sink, createS3Client (ISA-L CRC-32C)', client],
    ] as const) {
      const stream = await measure(BYTES, async () => {
        const sink = new S3Sink('bench', 'stream', { client: c, partSize: PART, partConcurrency: 4 });
        await pipeline(new DataSource({ size: BYTES, seed: 1 }), sink);
        await sink.result();
      });
      report(section, name, stream, baseName, base);
    }
    sdkCrcClient.destroy();
    const cold = await measure(BYTES, () =>
      putGeneratedObject('s3://bench/cold', createGenerator({ size: BYTES, seed: 1 }), {
        client,
        buffers: new PartBufferPool(PART),
        partSize: PART,
        partConcurrency: 4,
      }),
    );
    report(section, 'putGeneratedObject, new pool', cold, baseName, base, 'includes faulting in the pool (5 x 16 MiB)');
    const buffers = await warmPool(PART, 5);
    const warm = await measure(BYTES, () =>
      putGeneratedObject('s3://bench/warm', createGenerator({ size: BYTES, seed: 1 }), {
        client,
        buffers,
        partSize: PART,
        partConcurrency: 4,
      }),
    );
    report(
      section,
      'putGeneratedObject, warm pool',
      warm,
      baseName,
      base,
      'bodies signed (SHA-256), the default over plain HTTP',
    );
    const unsigned = await measure(BYTES, () =>
      putGeneratedObject('s3://bench/unsigned', createGenerator({ size: BYTES, seed: 1 }), {
        client,
        buffers,
        partSize: PART,
        partConcurrency: 4,
        signPayload: false,
      }),
    );
    report(section, 'putGeneratedObject, warm pool, UNSIGNED-PAYLOAD', unsigned, baseName, base, 'the default over HTTPS');
    const bare = await measure(BYTES, () =>
      putGeneratedObject('s3://bench/bare', createGenerator({ size: BYTES, seed: 1 }), {
        client,
        buffers,
        partSize: PART,
        partConcurrency: 4,
        checksumAlgorithm: 'none',
      }),
    );
    report(section, 'putGeneratedObject, warm pool, no checksum (as the baseline)', bare, baseName, base);

    const small = `S3: ${SMALL.count} objects of ${SMALL.size / 1024} KiB, ${SMALL.concurrency} at a time (CPU of this process only)`;
    const smallBase = await measureSmall((i) =>
      client.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/plain/${i}`, Body: payload.subarray(0, SMALL.size) })),
    );
    const smallName = 'PutObject of a prepared Buffer';
    const smallStream = await measureSmall(async (i) => {
      const sink = new S3Sink('bench', `small/stream/${i}`, { client });
      await pipeline(new DataSource({ size: SMALL.size, seed: 1, objectId: i }), sink);
      await sink.result();
    });
    report(small, 'DataSource -> S3Sink', smallStream, smallName, smallBase, perObject(smallStream));
    const smallOurs = await measureSmall((i) =>
      putGeneratedObject(`s3://bench/small/ours/${i}`, createGenerator({ size: SMALL.size, seed: 1, objectId: i }), {
        client,
        buffers,
      }),
    );
    report(small, 'putGeneratedObject', smallOurs, smallName, smallBase, perObject(smallOurs));
    client.destroy();
  } finally {
    await s3.stop();
  }

  const az = await startAzurite();
  try {
    const section = 'Azure: 1 GiB blob to Azurite (8 MiB blocks, 4 in flight; CPU of this process only)';
    const service = BlobServiceClient.fromConnectionString(az.connectionString);
    const container: ContainerClient = service.getContainerClient('bench');
    await container.create();
    const baseName = 'uploadData of a Buffer (no MD5)';
    const base = await measure(BYTES, () =>
      container.getBlockBlobClient('plain').uploadData(payload, { blockSize: BLOCK, concurrency: 4 }),
    );
    const md5Note = `two MD5s (per block, whole blob) alone cost ${md5Twice.cpuPerGiB.toFixed(3)} s/GiB`;
    const stream = await measure(BYTES, async () => {
      const sink = new AzureBlobSink('bench', 'stream', { serviceClient: service, blockSize: BLOCK, blockConcurrency: 4 });
      await pipeline(new DataSource({ size: BYTES, seed: 1 }), sink);
      await sink.result();
    });
    report(section, 'DataSource -> AzureBlobSink', stream, baseName, base, md5Note);
    const cold = await measure(BYTES, () =>
      putGeneratedObject('az://bench/cold', createGenerator({ size: BYTES, seed: 1 }), {
        serviceClient: service,
        buffers: new PartBufferPool(BLOCK),
        blockSize: BLOCK,
        blockConcurrency: 4,
      }),
    );
    report(
      section,
      'putGeneratedObject, new pool',
      cold,
      baseName,
      base,
      `includes faulting in the pool (5 x 8 MiB); ${md5Note}`,
    );
    const buffers = await warmPool(BLOCK, 5);
    const warm = await measure(BYTES, () =>
      putGeneratedObject('az://bench/warm', createGenerator({ size: BYTES, seed: 1 }), {
        serviceClient: service,
        buffers,
        blockSize: BLOCK,
        blockConcurrency: 4,
      }),
    );
    report(section, 'putGeneratedObject, warm pool', warm, baseName, base, md5Note);

    const small = `Azure: ${SMALL.count} blobs of ${SMALL.size / 1024} KiB, ${SMALL.concurrency} at a time (CPU of this process only)`;
    const smallName = 'upload of a prepared Buffer (no MD5)';
    const smallBase = await measureSmall((i) =>
      container.getBlockBlobClient(`small/plain/${i}`).upload(payload.subarray(0, SMALL.size), SMALL.size),
    );
    const smallStream = await measureSmall(async (i) => {
      const sink = new AzureBlobSink('bench', `small/stream/${i}`, { serviceClient: service });
      await pipeline(new DataSource({ size: SMALL.size, seed: 1, objectId: i }), sink);
      await sink.result();
    });
    report(small, 'DataSource -> AzureBlobSink', smallStream, smallName, smallBase, perObject(smallStream));
    const smallOurs = await measureSmall((i) =>
      putGeneratedObject(`az://bench/small/ours/${i}`, createGenerator({ size: SMALL.size, seed: 1, objectId: i }), {
        serviceClient: service,
        buffers,
      }),
    );
    report(small, 'putGeneratedObject', smallOurs, smallName, smallBase, perObject(smallOurs));
  } finally {
    await az.stop();
  }
}

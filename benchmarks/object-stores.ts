// 1 GiB put through the S3 and Azure sinks to s3rver and Azurite on 127.0.0.1, against a plain SDK
// upload of a pre-made Buffer of the same size in the same run.
import { pipeline } from 'node:stream/promises';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobServiceClient } from '@azure/storage-blob';
import { AzureBlobSink, createGenerator, createS3Client, DataSource, S3Sink } from '../lib/index.js';
import { startAzurite, startS3rver } from '../test/fixtures/servers.js';
import { GB, row, timed } from './table.js';

const BYTES = 1024 ** 3;

export async function benchObjectStores(): Promise<void> {
  const section = 'object stores (1 GiB, loopback servers)';
  const payload = createGenerator({ size: BYTES, seed: 1 }).generateSync();

  const s3 = await startS3rver(['bench']);
  try {
    const client = createS3Client({ endpoint: s3.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const plain = await timed(() => new Upload({ client, partSize: 16 * 1024 * 1024, queueSize: 4, params: { Bucket: 'bench', Key: 'plain', Body: payload } }).done());
    const sink = new S3Sink('bench', 'dgen', { client });
    const ours = await timed(async () => {
      await pipeline(new DataSource({ size: BYTES, seed: 1 }), sink);
      await sink.result();
    });
    row(section, 'DataSource -> S3Sink -> s3rver', BYTES / ours / GB, 'lib-storage Upload of a Buffer', BYTES / plain / GB);
    client.destroy();
  } finally {
    await s3.stop();
  }

  const az = await startAzurite();
  try {
    const container = BlobServiceClient.fromConnectionString(az.connectionString).getContainerClient('bench');
    await container.create();
    const plain = await timed(() => container.getBlockBlobClient('plain').uploadData(payload, { blockSize: 8 * 1024 * 1024, concurrency: 4 }));
    const sink = new AzureBlobSink('bench', 'dgen', { connectionString: az.connectionString });
    const ours = await timed(async () => {
      await pipeline(new DataSource({ size: BYTES, seed: 1 }), sink);
      await sink.result();
    });
    row(section, 'DataSource -> AzureBlobSink -> Azurite', BYTES / ours / GB, 'uploadData of a Buffer', BYTES / plain / GB);
  } finally {
    await az.stop();
  }
}

/**
 * What `dgen analyze` reads: files, directories (recursively, in name order), and objects under URIs
 * (`file://`, `s3://bucket/prefix`, `az://container/prefix`, parsed by the sinks' URI factory).
 * @module
 */
import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { formatTarget, parseTarget, type Target } from '../sinks/uri.js';
import type { S3ConnectionOptions } from '../sinks/s3-sink.js';
import type { AzureConnectionOptions } from '../sinks/azure-sink.js';
import { azureBackend, loadBackend, s3Backend } from '../sinks/backends.js';

/** One input: where it is, its size when known, and how to read it. */
export interface Input {
  uri: string;
  size?: number;
  open(): Promise<Readable>;
}

/** Connection options for object-store inputs. */
export type InputOptions = S3ConnectionOptions & AzureConnectionOptions;

async function* walk(path: string): AsyncGenerator<Input> {
  const info = await stat(path);
  if (info.isFile()) {
    yield { uri: pathToFileURL(path).href, size: info.size, open: async () => createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }) };
    return;
  }
  if (!info.isDirectory()) return;
  const names: string[] = [];
  for await (const entry of await opendir(path)) if (entry.isFile() || entry.isDirectory()) names.push(entry.name);
  for (const name of names.sort()) yield* walk(join(path, name));
}

/**
 * The inputs named by `specs`, in order.
 * @throws `ERR_DGEN_INVALID_URI` for a malformed URI; file-system and SDK errors as they come.
 */
export async function* listInputs(specs: string[], options: InputOptions = {}): AsyncGenerator<Input> {
  for (const spec of specs) {
    const target = parseTarget(spec, true);
    if (target.scheme === 'file' || target.scheme === 'direct') {
      yield* walk(target.path);
    } else if (target.scheme === 's3') {
      await loadBackend('s3');
      const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const client = s3Backend().createS3Client(options);
      try {
        let token: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: target.key, ContinuationToken: token }));
          for (const o of page.Contents ?? []) {
            const key = o.Key!;
            yield {
              uri: `s3://${target.bucket}/${key}`,
              ...(o.Size !== undefined && { size: o.Size }),
              open: async () => (await client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }))).Body as Readable,
            };
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } finally {
        client.destroy();
      }
    } else {
      await loadBackend('az');
      const container = azureBackend().createBlobServiceClient(options).getContainerClient(target.container);
      for await (const blob of container.listBlobsFlat({ prefix: target.blob })) {
        yield {
          uri: `az://${target.container}/${blob.name}`,
          ...(blob.properties.contentLength !== undefined && { size: blob.properties.contentLength }),
          open: async () => (await container.getBlobClient(blob.name).download()).readableStreamBody as Readable,
        };
      }
    }
  }
}

/** Error for an object or file that does not exist: `code` `ERR_DGEN_NOT_FOUND`, `cause` the backend's. */
export function notFound(uri: string, cause: unknown): Error & { code: string } {
  return Object.assign(new Error(`${uri} does not exist`, { cause }), { code: 'ERR_DGEN_NOT_FOUND' });
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; name?: string; statusCode?: number; $metadata?: { httpStatusCode?: number } };
  return e?.code === 'ENOENT' || e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.statusCode === 404 || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Opens one object or file for reading.
 * @throws `ERR_DGEN_NOT_FOUND` when it does not exist; other file-system and SDK errors as they come.
 */
export async function openTarget(target: string | Target, options: InputOptions = {}): Promise<Readable> {
  const t = typeof target === 'string' ? parseTarget(target) : target;
  const uri = formatTarget(t);
  try {
    if (t.scheme === 'file' || t.scheme === 'direct') {
      const stream = createReadStream(t.path, { highWaterMark: 4 * 1024 * 1024 });
      await once(stream, 'open');
      return stream;
    }
    if (t.scheme === 's3') {
      await loadBackend('s3');
      const { GetObjectCommand } = await import('@aws-sdk/client-s3');
      const client = s3Backend().createS3Client(options);
      const out = await client.send(new GetObjectCommand({ Bucket: t.bucket, Key: t.key }));
      const body = out.Body as Readable;
      body.once('close', () => client.destroy());
      return body;
    }
    await loadBackend('az');
    const blob = azureBackend().createBlobServiceClient(options).getContainerClient(t.container).getBlobClient(t.blob);
    return (await blob.download()).readableStreamBody as Readable;
  } catch (err) {
    if (isNotFound(err)) throw notFound(uri, err);
    throw err;
  }
}

/** Reads a whole (small) object or file as UTF-8 text. */
export async function readText(target: string | Target, options: InputOptions = {}): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of await openTarget(target, options)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

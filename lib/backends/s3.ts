/**
 * The S3 backend: `s3://bucket/key`. It owns these URIs, the run's S3 client (one per run, reused by every
 * object, destroyed by {@link S3Session.close}), listing and reading objects, and creating their sinks.
 *
 * The AWS SDK is an optional dependency and costs about 35 MiB of RSS to load: this module imports none of
 * it at load time; {@link openS3Session} loads it (sinks/backends.ts).
 * @module
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3ConnectionOptions, S3SinkOptions } from '../sinks/s3-sink.js';
import type { ObjectWriter } from '../sinks/object-writer.js';
import { loadBackend, s3Backend } from '../sinks/backends.js';
import { pickOptions } from '../sinks/sink-options.js';
import { s3Sdk } from '../sinks/sdk.js';

/** The keys of {@link S3ConnectionOptions}, each named once: spread into the lists that take them. */
export const S3_CONNECTION_KEYS = {
  endpoint: true,
  region: true,
  forcePathStyle: true,
  credentials: true,
  maxAttempts: true,
} as const satisfies { [K in keyof Required<S3ConnectionOptions>]: true };

/** The keys an S3 sink takes beyond every writer's (`signal`, `highWaterMark`, `compression`). */
export const S3_KEYS = {
  ...S3_CONNECTION_KEYS,
  client: true,
  partSize: true,
  partConcurrency: true,
  checksumAlgorithm: true,
  contentType: true,
} as const;

/** An object, or a key prefix (a bulk put's or a listing's), in a bucket. */
export type S3Target = { scheme: 's3'; bucket: string; key: string };

/** Connection options, or the run's client (used as it is, never destroyed here). */
export interface S3SessionOptions extends S3ConnectionOptions {
  /** Use this client instead of creating one from the connection options. */
  client?: S3Client;
}

/**
 * The target of `s3://` followed by `rest` (`bucket/key`).
 * @param allowEmptyKey - accept `s3://bucket` (a prefix).
 * @returns the target, or why the URI is malformed.
 */
export function parseS3Uri(rest: string, allowEmptyKey: boolean): S3Target | string {
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (bucket === '') return 'no bucket';
  if (key === '' && !allowEmptyKey) return 'no key';
  return { scheme: 's3', bucket, key };
}

/** `s3://bucket/key`. */
export function formatS3Target(target: S3Target): string {
  return `s3://${target.bucket}/${target.key}`;
}

/** The key `name` under a key prefix, joined with `/` (an empty prefix is the bucket's root). */
export function s3Child(prefix: S3Target, name: string): S3Target {
  const p = prefix.key;
  return { ...prefix, key: p === '' ? name : p.endsWith('/') ? p + name : `${p}/${name}` };
}

/**
 * The sink of an S3 object: an `S3Sink`, with the keys of the options an S3 sink takes (a put's options name
 * other backends' too). Its client is `options.client`, else one of its own. The backend must be loaded
 * (`loadBackend('s3')`, or the package's entry point).
 * @throws the errors of `S3Sink`'s constructor; Error when the backend is not loaded.
 */
export function createS3TargetSink(target: S3Target, options: S3SinkOptions): ObjectWriter {
  const backend = s3Backend();
  return new backend.S3Sink(target.bucket, target.key, pickOptions(options, backend.S3_SINK_OPTION_KEYS));
}

/** An object found by {@link S3Session.list}. */
export interface S3Listed {
  target: S3Target;
  /** Bytes stored, as the listing says. */
  size?: number;
}

/** A run's use of S3: one client for every request of the run. */
export interface S3Session {
  readonly client: S3Client;
  /** The objects whose keys start with the target's key, in the server's (key) order, page by page. */
  list(prefix: S3Target): AsyncGenerator<S3Listed>;
  /** The object's bytes (a GetObject body). @throws the SDK's errors (`NoSuchKey`, ...). */
  open(target: S3Target): Promise<Readable>;
  /** A sink writing the object through this session's client. @throws the errors of `S3Sink`. */
  createSink(target: S3Target, options: S3SinkOptions): ObjectWriter;
  /** Destroys the client if this session created it (idempotent). */
  close(): void;
}

/**
 * Opens a session: loads the SDK, and creates the run's client unless `options.client` is given.
 * @throws the errors of `createS3Client` (`ERR_DGEN_INVALID_OPTION` for bad connection options).
 */
export async function openS3Session(options: S3SessionOptions = {}): Promise<S3Session> {
  await loadBackend('s3');
  const backend = s3Backend();
  const { GetObjectCommand, ListObjectsV2Command } = s3Sdk();
  const owned = options.client === undefined;
  const client = options.client ?? backend.createS3Client(options);
  let closed = false;
  return {
    client,
    async *list(prefix) {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: prefix.bucket, Prefix: prefix.key, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          yield { target: { scheme: 's3', bucket: prefix.bucket, key: o.Key! }, ...(o.Size !== undefined && { size: o.Size }) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async open(target) {
      return (await client.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }))).Body as Readable;
    },
    createSink(target, sinkOptions) {
      return createS3TargetSink(target, { ...sinkOptions, client });
    },
    close() {
      if (owned && !closed) client.destroy();
      closed = true;
    },
  };
}

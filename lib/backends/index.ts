/**
 * The storage backends by URI scheme, and a run's clients:
 * - plain paths, `file:///path` and `direct:///path`: the file backend (`file.ts`)
 * - `s3://bucket/key`: S3 (`s3.ts`)
 * - `az://container/blob`: Azure Blob storage (`azure.ts`; the account comes from the connection options
 *   or `AZURE_STORAGE_CONNECTION_STRING`)
 *
 * Each backend module owns its URIs (parse, format, child names), its client's lifetime, reading and
 * writing; this module picks one by scheme. A {@link Backends} is one run's set of clients: one per
 * backend the run uses, created on first use, reused by every object, closed at the end.
 * @module
 */
import type { Readable } from 'node:stream';
import { dgenError, invalidRange, invalidType, type DgenRuntimeError } from '../errors.js';
import { optionKeys, type OptionKeys } from '../option-keys.js';
import { FILE_KEYS, type FileSinkOptions } from '../sinks/file-sink.js';
import { DIRECT_FILE_SINK_OPTION_KEYS } from '../sinks/direct-file-sink.js';
import type { S3SinkOptions } from '../sinks/s3-sink.js';
import type { AzureBlobSinkOptions, AzureConnectionOptions } from '../sinks/azure-sink.js';
import { OBJECT_WRITER_KEYS, type ObjectWriter } from '../sinks/object-writer.js';
import { checkSinkOptions, checkWriterOptions } from '../sinks/sink-options.js';
import { createFileTargetSink, fileChild, formatFileTarget, openFile, parseFileUri, parsePath, type FileTarget } from './file.js';
import {
  S3_KEYS,
  createS3TargetSink,
  formatS3Target,
  openS3Session,
  parseS3Uri,
  s3Child,
  type S3Session,
  type S3SessionOptions,
  type S3Target,
} from './s3.js';
import {
  AZURE_KEYS,
  azureChild,
  createAzureTargetSink,
  formatAzureTarget,
  openAzureSession,
  parseAzureUri,
  type AzureSession,
  type AzureTarget,
} from './azure.js';

export type { FileTarget } from './file.js';
export type { S3Target } from './s3.js';
export type { AzureTarget } from './azure.js';

/** A parsed destination. `path`/`key`/`blob` may be a prefix when the target is a bulk put's. */
export type Target = FileTarget | S3Target | AzureTarget;

/** Options for any sink a URI can name; each sink reads the fields it knows. */
export type SinkOptions = FileSinkOptions & Omit<S3SinkOptions, 'highWaterMark'> & Omit<AzureBlobSinkOptions, 'highWaterMark'>;

/** How a run reaches the object stores: connection options, or ready clients (used as they are). */
export type ConnectionOptions = S3SessionOptions & AzureConnectionOptions;

/** The keys of {@link SinkOptions}, and `bufferSize` (direct:// targets): {@link createSink} rejects others. */
export const SINK_OPTION_KEYS: OptionKeys = new Set([
  ...optionKeys<SinkOptions>({ ...OBJECT_WRITER_KEYS, ...FILE_KEYS, ...S3_KEYS, ...AZURE_KEYS }),
  ...DIRECT_FILE_SINK_OPTION_KEYS,
]);

const ALLOWED = 'a path, file:///path, direct:///path, s3://bucket/key or az://container/blob';

/**
 * Parses a destination URI or path.
 * @param allowEmptyKey - accept `s3://bucket` and `az://container` with no key (a bulk put's prefix).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_URI` for an unknown scheme or a malformed URI.
 */
export function parseTarget(uri: string, allowEmptyKey = false): Target {
  if (typeof uri !== 'string' || uri === '') throw invalidType('ERR_DGEN_INVALID_URI', 'uri', uri, ALLOWED);
  const bad = (why: string) => invalidRange('ERR_DGEN_INVALID_URI', 'uri', uri, `${ALLOWED} (${why})`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // `c:\...` is a Windows path, not a scheme.
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) throw bad('unknown scheme');
    return parsePath(uri);
  }
  const rest = uri.slice(scheme.length + 3);
  let target: Target | string;
  if (scheme === 'file' || scheme === 'direct') target = parseFileUri(scheme, rest);
  else if (scheme === 's3') target = parseS3Uri(rest, allowEmptyKey);
  else if (scheme === 'az') target = parseAzureUri(rest, allowEmptyKey);
  else throw bad(`unknown scheme ${scheme}://`);
  if (typeof target === 'string') throw bad(target);
  return target;
}

/** The URI of a target. */
export function formatTarget(target: Target): string {
  switch (target.scheme) {
    case 'file':
    case 'direct':
      return formatFileTarget(target);
    case 's3':
      return formatS3Target(target);
    case 'az':
      return formatAzureTarget(target);
  }
}

/** The target of `name` under a prefix target (a directory, or a key prefix joined with `/`). */
export function childTarget(prefix: Target, name: string): Target {
  switch (prefix.scheme) {
    case 'file':
    case 'direct':
      return fileChild(prefix, name);
    case 's3':
      return s3Child(prefix, name);
    case 'az':
      return azureChild(prefix, name);
  }
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * Checks a target given as an object (a {@link Target}, as {@link parseTarget} makes them).
 * @throws TypeError `ERR_DGEN_INVALID_URI` (`parameter` `target`) for anything else.
 */
export function checkTarget(target: unknown): Target {
  const t = target as Record<string, unknown> | null;
  const ok =
    t !== null &&
    typeof t === 'object' &&
    (((t.scheme === 'file' || t.scheme === 'direct') && nonEmpty(t.path)) ||
      (t.scheme === 's3' && nonEmpty(t.bucket) && nonEmpty(t.key)) ||
      (t.scheme === 'az' && nonEmpty(t.container) && nonEmpty(t.blob)));
  if (!ok)
    throw invalidType(
      'ERR_DGEN_INVALID_URI',
      'target',
      target,
      `${ALLOWED}, or a Target object such as { scheme: 's3', bucket, key }`,
    );
  return target as Target;
}

/**
 * The sink for a target. S3 and Azure sinks need their backend loaded (sinks/backends.ts: the package's
 * entry point loads both). The target and every option the sink reads are checked before the sink exists,
 * so a rejected call creates nothing (no temporary file, no client, no request). Options may name any
 * sink's keys (a put passes one set for every backend); each sink gets the keys it takes.
 * @param target - a URI or path (see {@link parseTarget}), or a {@link Target}.
 * @throws TypeError `ERR_DGEN_INVALID_URI` (`parameter` `target`) for a target that is neither; the errors
 *   of {@link parseTarget}; TypeError `ERR_DGEN_INVALID_OPTION` for options that are not an object or have a
 *   key no sink takes (`parameter` the key; "did you mean ...?"), and TypeError/RangeError
 *   `ERR_DGEN_INVALID_OPTION` naming the option for one of the wrong type or out of range (`fsync` not a
 *   boolean, `bufferSize` not a multiple of 4096, `signal` not an AbortSignal, ...); the errors of the
 *   sink's constructor; Error when the target's cloud backend is not loaded.
 */
export function createSink(target: string | Target, options: SinkOptions = {}): ObjectWriter {
  const t = typeof target === 'string' ? parseTarget(target) : checkTarget(target);
  checkSinkOptions(options, SINK_OPTION_KEYS, 'sink options');
  checkWriterOptions((options ?? {}) as Record<string, unknown>);
  switch (t.scheme) {
    case 'file':
    case 'direct':
      return createFileTargetSink(t, options);
    case 's3':
      return createS3TargetSink(t, options);
    case 'az':
      return createAzureTargetSink(t, options);
  }
}

/** Error for an object or file that does not exist: `code` `ERR_DGEN_NOT_FOUND`, `cause` the backend's. */
export function notFound(uri: string, cause: unknown): DgenRuntimeError {
  return dgenError('ERR_DGEN_NOT_FOUND', `${uri} does not exist`, cause);
}

/** Whether a file-system or SDK error says the file or object does not exist. */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; name?: string; statusCode?: number; $metadata?: { httpStatusCode?: number } };
  return (
    e?.code === 'ENOENT' ||
    e?.name === 'NoSuchKey' ||
    e?.name === 'NotFound' ||
    e?.statusCode === 404 ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/**
 * One run's backends: at most one client per object store, created when the run first needs it (from the
 * connection options, unless they hold a ready `client` / `serviceClient`), reused by every object, and
 * released by {@link Backends.close}. Verifying 10,000 objects on S3 makes one S3 client, not 10,000.
 */
export class Backends {
  readonly #options: ConnectionOptions;
  #s3: Promise<S3Session> | undefined;
  #azure: Promise<AzureSession> | undefined;
  #closed = false;

  constructor(options: ConnectionOptions = {}) {
    this.#options = options;
  }

  /** The run's S3 session. @throws the errors of `createS3Client`. */
  s3(): Promise<S3Session> {
    this.#checkOpen();
    return (this.#s3 ??= openS3Session(this.#options));
  }

  /** The run's Azure session. @throws the errors of `createBlobServiceClient`. */
  azure(): Promise<AzureSession> {
    this.#checkOpen();
    return (this.#azure ??= openAzureSession(this.#options));
  }

  /**
   * The connection options with the run's clients in them (`client` for S3, `serviceClient` for Azure) for
   * the targets' schemes, for functions that take connection options and would otherwise make their own.
   */
  async connectionOptions<T extends object>(options: T, targets: Iterable<Target>): Promise<T & ConnectionOptions> {
    const schemes = new Set([...targets].map((t) => t.scheme));
    return {
      ...options,
      ...(schemes.has('s3') && { client: (await this.s3()).client }),
      ...(schemes.has('az') && { serviceClient: (await this.azure()).serviceClient }),
    };
  }

  /**
   * Opens a file or object for reading.
   * @throws `ERR_DGEN_NOT_FOUND` when it does not exist; other file-system and SDK errors as they come.
   */
  async open(target: Target): Promise<Readable> {
    try {
      if (target.scheme === 'file' || target.scheme === 'direct') return await openFile(target.path);
      if (target.scheme === 's3') return await (await this.s3()).open(target);
      return await (await this.azure()).open(target);
    } catch (err) {
      if (isNotFound(err)) throw notFound(formatTarget(target), err);
      throw err;
    }
  }

  /** Releases the clients this run created (a client given in the options is left alone). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const sessions = [this.#s3, this.#azure];
    this.#s3 = this.#azure = undefined;
    for (const s of await Promise.allSettled(sessions)) if (s.status === 'fulfilled' && s.value) s.value.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error("dgen-stream: the run's backends are closed");
  }
}

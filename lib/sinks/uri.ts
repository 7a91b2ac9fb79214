/**
 * Destinations by URI, and the sink for each:
 * - plain paths and `file:///path`: {@link FileSink}
 * - `direct:///path`: {@link DirectFileSink} (O_DIRECT)
 * - `s3://bucket/key`: {@link S3Sink}
 * - `az://container/blob`: {@link AzureBlobSink} (the account comes from the connection options or
 *   `AZURE_STORAGE_CONNECTION_STRING`)
 * @module
 */
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invalidRange, invalidType } from '../errors.js';
import type { ObjectWriter } from './object-writer.js';
import { FileSink, type FileSinkOptions } from './file-sink.js';
import { DIRECT_IO_ALIGNMENT, DirectFileSink } from './direct-file-sink.js';
import type { S3SinkOptions } from './s3-sink.js';
import type { AzureBlobSinkOptions } from './azure-sink.js';
import { azureBackend, s3Backend } from './backends.js';
import { checkBoolean, checkInteger, checkOptionsObject, checkWriterOptions } from './sink-options.js';

/** A parsed destination. `path`/`key`/`blob` may be a prefix when the target is a bulk put's. */
export type Target =
  | { scheme: 'file'; path: string }
  | { scheme: 'direct'; path: string }
  | { scheme: 's3'; bucket: string; key: string }
  | { scheme: 'az'; container: string; blob: string };

/** Options for any sink a URI can name; each sink reads the fields it knows. */
export type SinkOptions = FileSinkOptions & Omit<S3SinkOptions, 'highWaterMark'> & Omit<AzureBlobSinkOptions, 'highWaterMark'>;

const ALLOWED = 'a path, file:///path, direct:///path, s3://bucket/key or az://container/blob';

function bad(uri: unknown, why: string): Error {
  return invalidRange('ERR_DGEN_INVALID_URI', 'uri', uri, `${ALLOWED} (${why})`);
}

/**
 * Parses a destination URI or path.
 * @param allowEmptyKey - accept `s3://bucket` and `az://container` with no key (a bulk put's prefix).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_URI` for an unknown scheme or a malformed URI.
 */
export function parseTarget(uri: string, allowEmptyKey = false): Target {
  if (typeof uri !== 'string' || uri === '') throw invalidType('ERR_DGEN_INVALID_URI', 'uri', uri, ALLOWED);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) throw bad(uri, 'unknown scheme');
    return { scheme: 'file', path: resolve(uri) };
  }
  const rest = uri.slice(scheme.length + 3);
  switch (scheme) {
    case 'file':
    case 'direct': {
      if (!rest.startsWith('/')) throw bad(uri, `${scheme}:// needs an absolute path (three slashes)`);
      return { scheme, path: fileURLToPath(`file://${rest}`) };
    }
    case 's3':
    case 'az': {
      const slash = rest.indexOf('/');
      const first = slash < 0 ? rest : rest.slice(0, slash);
      const key = slash < 0 ? '' : rest.slice(slash + 1);
      if (first === '') throw bad(uri, `no ${scheme === 's3' ? 'bucket' : 'container'}`);
      if (key === '' && !allowEmptyKey) throw bad(uri, `no ${scheme === 's3' ? 'key' : 'blob name'}`);
      return scheme === 's3' ? { scheme, bucket: first, key } : { scheme, container: first, blob: key };
    }
    default:
      throw bad(uri, `unknown scheme ${scheme}://`);
  }
}

/** The URI of a target. */
export function formatTarget(target: Target): string {
  switch (target.scheme) {
    case 'file':
      return pathToFileURL(target.path).href;
    case 'direct':
      return `direct://${target.path}`;
    case 's3':
      return `s3://${target.bucket}/${target.key}`;
    case 'az':
      return `az://${target.container}/${target.blob}`;
  }
}

/** The target of `name` under a prefix target (a directory, or a key prefix joined with `/`). */
export function childTarget(prefix: Target, name: string): Target {
  const join2 = (p: string) => (p === '' ? name : p.endsWith('/') ? p + name : `${p}/${name}`);
  switch (prefix.scheme) {
    case 'file':
    case 'direct':
      return { ...prefix, path: join(prefix.path, name) };
    case 's3':
      return { ...prefix, key: join2(prefix.key) };
    case 'az':
      return { ...prefix, blob: join2(prefix.blob) };
  }
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * Checks a target given as an object (a {@link Target}, as {@link parseTarget} makes them).
 * @throws TypeError `ERR_DGEN_INVALID_URI` (`parameter` `target`) for anything else.
 */
function checkTarget(target: unknown): Target {
  const t = target as Record<string, unknown> | null;
  const ok =
    t !== null &&
    typeof t === 'object' &&
    (((t.scheme === 'file' || t.scheme === 'direct') && nonEmpty(t.path)) ||
      (t.scheme === 's3' && nonEmpty(t.bucket) && nonEmpty(t.key)) ||
      (t.scheme === 'az' && nonEmpty(t.container) && nonEmpty(t.blob)));
  if (!ok) throw invalidType('ERR_DGEN_INVALID_URI', 'target', target, `${ALLOWED}, or a Target object such as { scheme: 's3', bucket, key }`);
  return target as Target;
}

/**
 * The sink for a target. S3 and Azure sinks need their backend loaded (backends.ts: the package's entry
 * point loads both). The target and every option the sink reads are checked before the sink exists, so a
 * rejected call creates nothing (no temporary file, no client, no request).
 * @param target - a URI or path (see {@link parseTarget}), or a {@link Target}.
 * @throws TypeError `ERR_DGEN_INVALID_URI` (`parameter` `target`) for a target that is neither; the errors
 *   of {@link parseTarget}; TypeError `ERR_DGEN_INVALID_OPTION` for options that are not an object, and
 *   TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option for one of the wrong type or out of
 *   range (`fsync` not a boolean, `bufferSize` not a multiple of 4096, `signal` not an AbortSignal, ...);
 *   the errors of the sink's constructor; Error when the target's cloud backend is not loaded.
 */
export function createSink(target: string | Target, options: SinkOptions = {}): ObjectWriter {
  const t = typeof target === 'string' ? parseTarget(target) : checkTarget(target);
  checkOptionsObject(options);
  const o = (options ?? {}) as Record<string, unknown>;
  checkWriterOptions(o);
  switch (t.scheme) {
    case 'file':
      checkBoolean(o, 'fsync');
      return new FileSink(t.path, options);
    case 'direct':
      checkBoolean(o, 'fsync');
      // Checked here because DirectFileSink checks it after its file was scheduled to open.
      checkInteger(o, 'bufferSize', DIRECT_IO_ALIGNMENT, 2 ** 30, ' of bytes');
      if (o.bufferSize !== undefined && (o.bufferSize as number) % DIRECT_IO_ALIGNMENT !== 0) {
        throw invalidRange('ERR_DGEN_INVALID_OPTION', 'bufferSize', o.bufferSize, `a multiple of ${DIRECT_IO_ALIGNMENT} bytes`);
      }
      return new DirectFileSink(t.path, options);
    case 's3':
      return new (s3Backend().S3Sink)(t.bucket, t.key, options);
    case 'az':
      return new (azureBackend().AzureBlobSink)(t.container, t.blob, options);
  }
}

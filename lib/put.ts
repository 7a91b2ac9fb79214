/**
 * Bulk put: `count` distinct objects (object identity = index) under a target (a directory, `s3://`
 * or `az://` prefix, `direct://` directory), streamed with `concurrency` objects in flight, and a
 * manifest beside them.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { invalidRange, invalidType } from './errors.js';
import { parseDataOptions, parseSize, type DataOptions, type SizeInput } from './params.js';
import { DataSource, parseChunking } from './source.js';
import { COMPRESSION_EXTENSIONS, parseCompression } from './compression.js';
import { childTarget, createSink, formatTarget, parseTarget, type SinkOptions, type Target } from './sinks/uri.js';
import { MANIFEST_FORMAT, MANIFEST_NAME, MANIFEST_VERSION, type Manifest, type ManifestObject } from './manifest.js';
import { TOOL } from './version.js';

/** Options of {@link putObjects}: the data, the run, and the sink options for the target's backend
 * (endpoint, region, credentials, partSize, connectionString, blockSize, ...). */
export interface PutOptions extends DataOptions, Omit<SinkOptions, 'signal'> {
  /** Where to write: a directory path, `file:///dir`, `direct:///dir`, `s3://bucket/prefix`, `az://container/prefix`. */
  target: string;
  /** Number of objects, >= 1. Default 1. */
  count?: number | string;
  /** Bytes per object (or a size string). Default 1 MiB. */
  size?: SizeInput;
  /** Objects in flight at once, >= 1. Default 4. */
  concurrency?: number | string;
  /** Chunk size of each object's stream (multiple of 512). Default 4 MiB. */
  chunkSize?: number | string;
  /** Stops the run: objects in flight are aborted (nothing partial remains) and the promise rejects. */
  signal?: AbortSignal;
  /** Called as bytes are generated (at chunk granularity) and when an object completes. */
  onProgress?: (progress: PutProgress) => void;
}

/** Progress of a run. */
export interface PutProgress {
  objectsDone: number;
  objectsTotal: number;
  /** Uncompressed bytes generated so far. */
  bytesDone: number;
  bytesTotal: number;
}

/** Name of object `index` in a run of `count` objects: `obj-` and the index zero-padded to at least 6
 * digits, `.bin`, and the compression's extension (`.zst`, `.gz`). */
export function objectName(index: number, count: number, extension = ''): string {
  return `obj-${String(index).padStart(Math.max(6, String(count - 1).length), '0')}.bin${extension}`;
}

/** Default object size of a bulk put: 1 MiB. */
export const DEFAULT_PUT_SIZE = 1024 * 1024;

function positiveInt(parameter: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number') throw invalidType('ERR_DGEN_INVALID_OPTION', parameter, value, 'a whole number >= 1');
  if (!Number.isSafeInteger(n) || n < 1) throw invalidRange('ERR_DGEN_INVALID_OPTION', parameter, value, 'a whole number >= 1');
  return n;
}

/**
 * Writes `count` objects under `target` and the run's manifest as `dgen-manifest.json` there.
 * Every option is validated before anything is created. Objects that fail are removed (no partial
 * objects); the first failure stops the run and rejects, after objects in flight have been aborted.
 * @returns the manifest (also stored at the target).
 * @throws the validation errors of the options (RangeError/TypeError with `ERR_DGEN_*` codes); the
 *   sinks' errors (file-system errors, `ERR_DGEN_BACKEND`).
 */
export async function putObjects(options: PutOptions): Promise<Manifest> {
  if (options === null || typeof options !== 'object') throw invalidType('ERR_DGEN_INVALID_OPTION', 'options', options, 'an object');
  const prefix = parseTarget(options.target, true);
  const data = parseDataOptions(options);
  const count = positiveInt('count', options.count, 1);
  const concurrency = positiveInt('concurrency', options.concurrency, 4);
  const size = options.size === undefined ? DEFAULT_PUT_SIZE : parseSize('size', options.size);
  const compression = parseCompression(options.compression);
  parseChunking(options);
  const { onProgress, signal, target: _target, count: _c, size: _s, concurrency: _j, chunkSize, ...sinkOptions } = options;
  if (prefix.scheme === 'file' || prefix.scheme === 'direct') await mkdir(prefix.path, { recursive: true });

  const extension = COMPRESSION_EXTENSIONS[compression.algorithm];
  const objects: ManifestObject[] = new Array(count);
  const progress: PutProgress = { objectsDone: 0, objectsTotal: count, bytesDone: 0, bytesTotal: count * size };
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (signal?.aborted) onOuterAbort();

  let next = 0;
  const worker = async () => {
    while (next < count && !stop.signal.aborted) {
      const index = next++;
      const name = objectName(index, count, extension);
      const source = new DataSource({ ...data, size, objectId: index, chunkSize });
      const sink = createSink(childTarget(prefix, name), { ...sinkOptions, compression });
      source.on('data', (chunk: Buffer) => {
        progress.bytesDone += chunk.length;
        onProgress?.(progress);
      });
      // pipeline() rejects as soon as a stream fails; result() settles once the sink has cleaned up.
      const result = await pipeline(source, sink, { signal: stop.signal }).then(
        () => sink.result(),
        async (err: unknown) => {
          await sink.result().catch(() => {});
          throw err;
        },
      );
      objects[index] = {
        name,
        uri: result.uri,
        objectId: String(index),
        size: result.size,
        crc32c: result.crc32c,
        ...(compression.algorithm !== 'none' && { compressedSize: result.compressedSize }),
        ...(result.etag && { etag: result.etag }),
        ...(result.backendChecksum && { backendChecksum: result.backendChecksum }),
      };
      progress.objectsDone++;
      onProgress?.(progress);
    }
  };
  try {
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(concurrency, count) }, () =>
        worker().catch((err: unknown) => {
          stop.abort(err);
          throw err;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw stop.signal.reason ?? failed.reason;
    if (stop.signal.aborted) throw stop.signal.reason;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: TOOL,
    createdAt: new Date().toISOString(),
    target: formatTarget(prefix),
    seed: data.seed.toString(),
    dedupRatio: data.dedupRatio,
    compressRatio: data.compressRatio,
    dedupUnit: data.dedupUnit,
    compression,
    objects,
  };
  await storeManifest(prefix, manifest, sinkOptions);
  return manifest;
}

/** Stores the manifest at `<target>/dgen-manifest.json` through the target's own sink (direct I/O
 * targets get a plain file). */
async function storeManifest(prefix: Target, manifest: Manifest, options: SinkOptions): Promise<string> {
  const where = childTarget(prefix.scheme === 'direct' ? { scheme: 'file', path: prefix.path } : prefix, MANIFEST_NAME);
  const { compression: _ignored, ...plain } = options;
  const sink = createSink(where, { ...plain, contentType: 'application/json' });
  sink.end(JSON.stringify(manifest, null, 2) + '\n');
  return (await sink.result()).uri;
}

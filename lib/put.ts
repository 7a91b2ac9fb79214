/**
 * Bulk put into a local directory: `count` distinct objects (object identity = index), streamed with
 * `concurrency` objects in flight, and a manifest beside them.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { invalidRange, invalidType } from './errors.js';
import { parseDataOptions, parseSize, type DataOptions, type SizeInput } from './params.js';
import { DataSource, parseChunking } from './source.js';
import { FileSink } from './sinks/file-sink.js';
import { MANIFEST_FORMAT, MANIFEST_NAME, MANIFEST_VERSION, writeManifest, type Manifest, type ManifestObject } from './manifest.js';
import { TOOL } from './version.js';

/** Options of {@link putObjects}. */
export interface PutOptions extends DataOptions {
  /** Directory to write into (created if missing). */
  directory: string;
  /** Number of objects, >= 1. Default 1. */
  count?: number;
  /** Bytes per object (or a size string). Default 1 MiB. */
  size?: SizeInput;
  /** Objects in flight at once, >= 1. Default 4. */
  concurrency?: number;
  /** Chunk size of each object's stream (multiple of 512). Default 4 MiB. */
  chunkSize?: number | string;
  /** fsync every object before it is renamed into place. Default false. */
  fsync?: boolean;
  /** Stops the run: objects in flight are aborted (nothing partial remains) and the promise rejects. */
  signal?: AbortSignal;
  /** Called as bytes are written (at chunk granularity) and when an object completes. */
  onProgress?: (progress: PutProgress) => void;
}

/** Progress of a run. */
export interface PutProgress {
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Name of object `index` in a run of `count` objects: `obj-` and the index zero-padded to at least 6 digits. */
export function objectName(index: number, count: number): string {
  return `obj-${String(index).padStart(Math.max(6, String(count - 1).length), '0')}.bin`;
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
 * Writes `count` objects into `directory` and the run's manifest as `dgen-manifest.json` there.
 * Every option is validated before anything is created. Objects that fail are removed (no partial
 * files); the first failure stops the run and rejects, after objects in flight have been aborted.
 * @returns the manifest (also written to disk).
 * @throws the validation errors of the options (RangeError/TypeError with `ERR_DGEN_*` codes);
 *   file-system errors.
 */
export async function putObjects(options: PutOptions): Promise<Manifest> {
  if (typeof options?.directory !== 'string' || options.directory === '') {
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'directory', options?.directory, 'a directory path');
  }
  const data = parseDataOptions(options);
  const count = positiveInt('count', options.count, 1);
  const concurrency = positiveInt('concurrency', options.concurrency, 4);
  const size = options.size === undefined ? DEFAULT_PUT_SIZE : parseSize('size', options.size);
  parseChunking(options);
  const dir = options.directory;
  await mkdir(dir, { recursive: true });

  const objects: ManifestObject[] = new Array(count);
  const progress: PutProgress = { objectsDone: 0, objectsTotal: count, bytesDone: 0, bytesTotal: count * size };
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();

  let next = 0;
  const worker = async () => {
    while (next < count && !stop.signal.aborted) {
      const index = next++;
      const name = objectName(index, count);
      const source = new DataSource({ ...data, size, objectId: index, chunkSize: options.chunkSize });
      const sink = new FileSink(join(dir, name), { fsync: options.fsync });
      source.on('data', (chunk: Buffer) => {
        progress.bytesDone += chunk.length;
        options.onProgress?.(progress);
      });
      // pipeline() rejects as soon as a stream fails; result() settles once the sink has cleaned up.
      const result = await pipeline(source, sink, { signal: stop.signal }).then(
        () => sink.result(),
        async (err: unknown) => {
          await sink.result().catch(() => {});
          throw err;
        },
      );
      objects[index] = { name, uri: result.uri, objectId: String(index), size: result.size, crc32c: result.crc32c };
      progress.objectsDone++;
      options.onProgress?.(progress);
    }
  };
  try {
    const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, count) }, () =>
      worker().catch((err: unknown) => {
        stop.abort(err);
        throw err;
      }),
    ));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw stop.signal.reason ?? failed.reason;
    if (stop.signal.aborted) throw stop.signal.reason;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: TOOL,
    createdAt: new Date().toISOString(),
    seed: data.seed.toString(),
    dedupRatio: data.dedupRatio,
    compressRatio: data.compressRatio,
    dedupUnit: data.dedupUnit,
    objects,
  };
  await writeManifest(join(dir, MANIFEST_NAME), manifest);
  return manifest;
}

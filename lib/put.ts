/**
 * Bulk put: `count` distinct objects (object identity = index) under a target (a directory, `s3://` or
 * `az://` prefix, `direct://` directory), each streamed (never held whole), `concurrency` objects in
 * flight, with retries of transient failures, a manifest, and shards for many machines.
 *
 * Memory: each object in flight holds at most its source's highWaterMark (2 x chunkSize) plus one chunk
 * being generated, plus its sink's buffer (highWaterMark, default 16 MiB, plus for S3 one part being cut
 * and `partConcurrency` parts in flight, for Azure `blockConcurrency` blocks). So a run holds about
 * concurrency x (3 x chunkSize + sink buffer) bytes, whatever the data set's size.
 * @module
 */
import { setMaxListeners } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidRange, invalidType } from './errors.js';
import { parseDataOptions, type DataOptions, type SizeInput } from './params.js';
import { DataSource, parseChunking } from './source.js';
import { COMPRESSION_EXTENSIONS, parseCompression } from './compression.js';
import { childTarget, createSink, formatTarget, parseTarget, type SinkOptions, type Target } from './sinks/uri.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, manifestName, type Manifest, type ManifestFailure, type ManifestObject } from './manifest.js';
import { parseSizeDistribution } from './sizes.js';
import { backoffMs, isTransient } from './retry.js';
import { channels, debug } from './observe.js';
import { TOOL } from './version.js';

/** Which objects one process writes: those whose index i has i mod count = index. */
export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/** Options of {@link putObjects}: the data, the run, and the sink options for the target's backend
 * (endpoint, region, credentials, partSize, connectionString, blockSize, ...). */
export interface PutOptions extends DataOptions, Omit<SinkOptions, 'signal'> {
  /** Where to write: a directory path, `file:///dir`, `direct:///dir`, `s3://bucket/prefix`, `az://container/prefix`. */
  target: string;
  /** Number of objects in the data set, >= 1. Default 1. */
  count?: number | string;
  /** Object sizes: a size, or a distribution (`uniform:MIN,MAX`, `lognormal:MEAN,STDDEV[,MIN,MAX]`,
   * `4KiB:50%,1MiB:50%`; see sizes.ts). Default 1 MiB. */
  size?: SizeInput;
  /** `object` (default): each object dedups by dedupRatio on its own. `dataset`: the whole data set does,
   * objects drawing their units from one shared pool. */
  dedupScope?: 'object' | 'dataset';
  /** Objects in flight at once, >= 1. Default 4. */
  concurrency?: number | string;
  /** Chunk size of each object's stream (multiple of 512). Default 4 MiB. */
  chunkSize?: number | string;
  /** Attempts per object for transient failures (network errors, 5xx, throttling). Default 3. */
  attempts?: number;
  /** First backoff in ms (exponential with jitter, capped at 10 s). Default 200. */
  retryBaseMs?: number;
  /** Stop the run at the first permanent failure (objects in flight are aborted). Default false: go on,
   * and report failures in the manifest. */
  failFast?: boolean;
  /** Write only this shard's objects (`{ index, count }` or `"I/N"`), and a shard manifest. */
  shard?: Shard | string;
  /** Object names: `{index}` (zero-padded), `{n}`, `{ext}`. Default `obj-{index}.bin{ext}`. */
  nameTemplate?: string;
  /** Store the manifest here (a path or URI) instead of under the target. */
  manifest?: string;
  /** Stops the run: objects in flight are aborted (nothing partial remains) and the promise rejects. */
  signal?: AbortSignal;
  /** Called as bytes are generated (at chunk granularity) and when an object completes or fails. */
  onProgress?: (progress: PutProgress) => void;
}

/** Progress of a run (of this shard). */
export interface PutProgress {
  objectsDone: number;
  objectsFailed: number;
  objectsTotal: number;
  /** Uncompressed bytes generated so far (a retried object's bytes count again from zero). */
  bytesDone: number;
  bytesTotal: number;
}

/** Default name template: `obj-000000.bin`, `obj-000001.bin`, ... (plus `.zst`/`.gz` when compressed). */
export const DEFAULT_NAME_TEMPLATE = 'obj-{index}.bin{ext}';

/**
 * Name of object `index` in a run of `count` objects, from a template: `{index}` is the index zero-padded
 * to at least 6 digits (wider for runs of a million objects or more), `{n}` the bare index, `{ext}` the
 * compression's extension (`.zst`, `.gz`, or nothing). Slashes make prefixes (directories on files).
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` for a template without `{index}` or `{n}` (names would
 *   collide) or with an unknown `{field}`.
 */
export function objectName(index: number, count: number, extension = '', template = DEFAULT_NAME_TEMPLATE): string {
  const padded = String(index).padStart(Math.max(6, String(count - 1).length), '0');
  return template.replace(/\{(\w*)\}/g, (field, name: string) => {
    if (name === 'index') return padded;
    if (name === 'n') return String(index);
    if (name === 'ext') return extension;
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'nameTemplate', template, `a template using {index}, {n} and {ext}; ${field} is unknown`);
  });
}

function checkTemplate(template: unknown): string {
  if (template === undefined) return DEFAULT_NAME_TEMPLATE;
  if (typeof template !== 'string' || !/\{(index|n)\}/.test(template) || template.startsWith('/') || template.includes('..')) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'nameTemplate', template, 'a relative name containing {index} or {n}, e.g. "data/part-{index}.bin{ext}"');
  }
  objectName(0, 1, '', template); // unknown fields
  return template;
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
 * Parses a shard: `{ index, count }` or `"I/N"` with 0 <= I < N.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION`.
 */
export function parseShard(value: Shard | string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const [index, count] = typeof value === 'string' ? value.split('/').map((s) => (s.trim() === '' ? NaN : Number(s))) : [value.index, value.count];
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count! < 1 || index! < 0 || index! >= count!) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'shard', value, 'I/N with 0 <= I < N, e.g. "3/10"');
  }
  return { index: index!, count: count! };
}

/** One object of the plan. */
interface Planned {
  index: number;
  name: string;
  size: number;
  unitOffset: number;
}

/**
 * Writes the data set's objects (or this shard's) under `target`, then the manifest there
 * (`dgen-manifest.json`, or `dgen-manifest.shard-I-of-N.json` for a shard).
 *
 * Every option is validated before anything is created. An object that fails is removed (no partial
 * objects); transient failures are retried from the object's first byte, regenerated (nothing is held in
 * memory). Permanent failures are listed in the manifest's `failures`; with `failFast` the first one stops
 * the run.
 * @returns the manifest (also stored at the target).
 * @throws the validation errors of the options (RangeError/TypeError with `ERR_DGEN_*` codes); an
 *   `AbortError` when `signal` aborts; errors storing the manifest.
 */
export async function putObjects(options: PutOptions): Promise<Manifest> {
  if (options === null || typeof options !== 'object') throw invalidType('ERR_DGEN_INVALID_OPTION', 'options', options, 'an object');
  const prefix = parseTarget(options.target, true);
  const data = parseDataOptions(options);
  const count = positiveInt('count', options.count, 1);
  const concurrency = positiveInt('concurrency', options.concurrency, 4);
  const attempts = positiveInt('attempts', options.attempts, 3);
  const sizes = parseSizeDistribution(options.size ?? DEFAULT_PUT_SIZE);
  const compression = parseCompression(options.compression);
  const shard = parseShard(options.shard);
  const template = checkTemplate(options.nameTemplate);
  const scope = options.dedupScope ?? 'object';
  if (scope !== 'object' && scope !== 'dataset') throw invalidRange('ERR_DGEN_INVALID_OPTION', 'dedupScope', scope, '"object" or "dataset"');
  parseChunking(options);
  const {
    onProgress,
    signal,
    target: _t,
    count: _c,
    size: _s,
    concurrency: _j,
    chunkSize,
    attempts: _a,
    retryBaseMs,
    failFast,
    shard: _sh,
    dedupScope: _d,
    manifest: manifestTo,
    nameTemplate: _nt,
    dedupRatio: _dr,
    compressRatio: _cr,
    dedupUnit: _du,
    seed: _seed,
    ...sinkOptions
  } = options;

  // The plan: every object's size and (dataset scope) first unit, from the seed alone.
  const extension = COMPRESSION_EXTENSIONS[compression.algorithm];
  const plan: Planned[] = [];
  let datasetUnits = 0;
  for (let index = 0; index < count; index++) {
    const size = sizes.sizeOf(data.seed, index);
    if (!shard || index % shard.count === shard.index) plan.push({ index, name: objectName(index, count, extension, template), size, unitOffset: datasetUnits });
    datasetUnits += Math.ceil(size / data.dedupUnit);
  }
  const dataset = scope === 'dataset' ? { datasetUnits } : {};
  if (prefix.scheme === 'file' || prefix.scheme === 'direct') {
    const dirs = new Set(plan.map((p) => dirname(join(prefix.path, p.name))));
    for (const dir of dirs) await mkdir(dir, { recursive: true });
  }

  const objects: ManifestObject[] = [];
  const failures: ManifestFailure[] = [];
  const progress: PutProgress = {
    objectsDone: 0,
    objectsFailed: 0,
    objectsTotal: plan.length,
    bytesDone: 0,
    bytesTotal: plan.reduce((a, p) => a + p.size, 0),
  };
  const stop = new AbortController();
  // Every object in flight listens on it (its pipeline, and its retry backoff): not a leak at high
  // concurrency, so no MaxListenersExceededWarning.
  setMaxListeners(2 * concurrency + 1, stop.signal);
  const onOuterAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (signal?.aborted) onOuterAbort();
  const started = performance.now();

  /** One attempt at one object: resolves to its manifest entry, rejects after the sink cleaned up. */
  const attempt = async (p: Planned, n: number): Promise<ManifestObject> => {
    const target = childTarget(prefix, p.name);
    const uri = formatTarget(target);
    channels.objectStart.publish({ name: p.name, uri, objectId: p.index, size: p.size, attempt: n });
    debug('start %s (%d bytes, attempt %d)', uri, p.size, n);
    const t0 = performance.now();
    const source = new DataSource({ ...data, size: p.size, objectId: p.index, chunkSize, ...(scope === 'dataset' && { ...dataset, unitOffset: p.unitOffset }) });
    const sink = createSink(target, { ...sinkOptions, compression });
    let bytes = 0;
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      progress.bytesDone += chunk.length;
      onProgress?.(progress);
    });
    try {
      await pipeline(source, sink, { signal: stop.signal });
      const result = await sink.result();
      const seconds = (performance.now() - t0) / 1000;
      channels.objectFinish.publish({ name: p.name, uri, objectId: p.index, size: p.size, compressedSize: result.compressedSize, crc32c: result.crc32c, attempt: n, seconds });
      debug('finish %s in %d ms', uri, Math.round(seconds * 1000));
      return {
        name: p.name,
        uri: result.uri,
        objectId: String(p.index),
        size: result.size,
        crc32c: result.crc32c,
        ...(scope === 'dataset' && { unitOffset: p.unitOffset }),
        ...(compression.algorithm !== 'none' && { compressedSize: result.compressedSize }),
        ...(result.etag && { etag: result.etag }),
        ...(result.backendChecksum && { backendChecksum: result.backendChecksum }),
      };
    } catch (err) {
      // pipeline() rejects as soon as a stream fails; result() settles once the sink has cleaned up.
      await sink.result().catch(() => {});
      progress.bytesDone -= bytes;
      throw err;
    }
  };

  const putOne = async (p: Planned): Promise<void> => {
    for (let n = 1; ; n++) {
      try {
        objects.push(await attempt(p, n));
        progress.objectsDone++;
        onProgress?.(progress);
        return;
      } catch (err) {
        if (stop.signal.aborted) throw err;
        const uri = formatTarget(childTarget(prefix, p.name));
        const message = err instanceof Error ? err.message : String(err);
        if (n < attempts && isTransient(err)) {
          const delayMs = backoffMs(n + 1, retryBaseMs);
          channels.objectRetry.publish({ name: p.name, uri, objectId: p.index, attempt: n, delayMs, error: err });
          debug('retry %s in %d ms after attempt %d: %s', uri, delayMs, n, message);
          await sleep(delayMs, undefined, { signal: stop.signal });
          continue;
        }
        channels.objectFailure.publish({ name: p.name, uri, objectId: p.index, attempts: n, error: err });
        debug('failure %s after %d attempts: %s', uri, n, message);
        failures.push({ name: p.name, uri, objectId: String(p.index), attempts: n, error: message, ...(typeof (err as { code?: unknown }).code === 'string' && { code: (err as { code: string }).code }) });
        progress.objectsFailed++;
        onProgress?.(progress);
        if (failFast) stop.abort(err);
        return;
      }
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < plan.length && !stop.signal.aborted) await putOne(plan[next++]!);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, plan.length) }, worker));
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
  if (signal?.aborted) throw signal.reason;

  objects.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  failures.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: TOOL,
    createdAt: new Date().toISOString(),
    target: formatTarget(prefix),
    seed: data.seed.toString(),
    count,
    size: sizes.spec,
    nameTemplate: template,
    dedupRatio: data.dedupRatio,
    compressRatio: data.compressRatio,
    dedupUnit: data.dedupUnit,
    dedupScope: scope,
    ...(scope === 'dataset' && { datasetUnits }),
    compression,
    ...(shard && { shard }),
    seconds: (performance.now() - started) / 1000,
    objects,
    failures,
  };
  if (manifestTo !== undefined) await storeManifestAt(parseTarget(manifestTo), manifest, sinkOptions);
  else await storeManifest(prefix, manifestName(shard), manifest, sinkOptions);
  return manifest;
}

/** Stores a manifest as `name` under the target (direct I/O targets get a plain file). */
export function storeManifest(prefix: Target, name: string, manifest: Manifest, options: SinkOptions = {}): Promise<string> {
  return storeManifestAt(childTarget(prefix, name), manifest, options);
}

/** Stores a manifest at a target through that target's own sink (uncompressed; direct I/O as a plain file). */
export async function storeManifestAt(where: Target, manifest: Manifest, options: SinkOptions = {}): Promise<string> {
  const { compression: _ignored, ...plain } = options;
  if (where.scheme === 'file' || where.scheme === 'direct') await mkdir(dirname(where.path), { recursive: true });
  const sink = createSink(where.scheme === 'direct' ? { scheme: 'file', path: where.path } : where, { ...plain, contentType: 'application/json' });
  sink.on('error', () => {}); // result() reports it
  sink.end(JSON.stringify(manifest, null, 2) + '\n');
  return (await sink.result()).uri;
}

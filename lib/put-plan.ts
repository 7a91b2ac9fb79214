/**
 * The plan of a bulk put, made before anything is created: its options validated (put-options.ts and the
 * shared validators), the target and the manifest's place resolved, the old run read when resuming, the
 * object names and sizes fixed; and the objects of the plan, computed lazily as the run takes them.
 * @module
 */
import { isAbsolute, relative, sep } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { invalidRange, invalidType } from './errors.js';
import { parseDataOptions, type DataConfig } from './params.js';
import { parseChunking } from './source.js';
import { COMPRESSION_EXTENSIONS, parseCompression, type CompressionSpec } from './compression.js';
import { childTarget, formatTarget, parseTarget, type Target } from './backends/index.js';
import {
  loadManifest,
  manifestName,
  readManifestRecords,
  recordsTargetFor,
  type Manifest,
  type ManifestRecord,
} from './manifest.js';
import { parseSizeDistribution, type SizeDistribution } from './sizes.js';
import { limitConcurrency, MAX_CONCURRENCY, type ConcurrencyLimit } from './limits.js';
import { refuseCollision } from './names.js';
import { azureBackend, loadBackend, s3Backend } from './sinks/backends.js';
import { parseRate } from './pacing.js';
import { validateOneOf } from './validators.js';
import { checkPutOptions, sinkOptionsOf, wholeOption, type PutSinkOptions } from './put-options.js';
import type { PutOptions, PutProgress, Shard } from './put.js';

/** Default name template: `obj-000000.bin`, `obj-000001.bin`, ... (plus `.zst`/`.gz` when compressed). */
export const DEFAULT_NAME_TEMPLATE = 'obj-{index}.bin{ext}';

/**
 * Name of object `index` in a run of `count` objects, from a template: `{index}` is the index zero-padded
 * to at least 6 digits (wider for runs of a million objects or more), `{n}` the bare index, `{ext}` the
 * compression's extension (`.zst`, `.gz`, or nothing). Slashes make prefixes (directories on files).
 * (A time-based put without `count` names its objects as for a count of 1, i.e. 6 digits; see
 * {@link PutOptions.duration}.)
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` for a template without `{index}` or `{n}` (names would
 *   collide) or with an unknown `{field}`.
 */
export function objectName(index: number, count: number, extension = '', template = DEFAULT_NAME_TEMPLATE): string {
  const padded = String(index).padStart(Math.max(6, String(count - 1).length), '0');
  return template.replace(/\{(\w*)\}/g, (field, name: string) => {
    if (name === 'index') return padded;
    if (name === 'n') return String(index);
    if (name === 'ext') return extension;
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'nameTemplate',
      template,
      `a template using {index}, {n} and {ext}; ${field} is unknown`,
    );
  });
}

export function checkTemplate(template: unknown): string {
  if (template === undefined) return DEFAULT_NAME_TEMPLATE;
  if (typeof template !== 'string' || !/\{(index|n)\}/.test(template) || template.startsWith('/') || template.includes('..')) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'nameTemplate',
      template,
      'a relative name containing {index} or {n}, e.g. "data/part-{index}.bin{ext}"',
    );
  }
  objectName(0, 1, '', template); // unknown fields
  return template;
}

/** Default object size of a bulk put: 1 MiB. */
export const DEFAULT_PUT_SIZE = 1024 * 1024;

/**
 * Parses a duration in seconds (a positive finite number, or a decimal string) into milliseconds.
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming `duration`.
 */
export function parseDuration(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const allowed = 'a number of seconds > 0, e.g. 60 or "0.5"';
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number') throw invalidType('ERR_DGEN_INVALID_OPTION', 'duration', value, allowed);
  if (!Number.isFinite(n) || n <= 0) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'duration', value, allowed);
  return n * 1000;
}

/**
 * Parses a shard: `{ index, count }` or `"I/N"` with 0 <= I < N.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION`.
 */
export function parseShard(value: Shard | string | undefined): Shard | undefined {
  if (value === undefined) return undefined;
  const [index, count] =
    typeof value === 'string' ? value.split('/').map((s) => (s.trim() === '' ? NaN : Number(s))) : [value.index, value.count];
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count! < 1 || index! < 0 || index! >= count!) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'shard', value, 'I/N with 0 <= I < N, e.g. "3/10"');
  }
  return { index: index!, count: count! };
}

/** The data parameters of a run to resume: those not given are the old run's; those given must equal them. */
export function resumeOptions(options: PutOptions, old: Manifest): PutOptions {
  return {
    ...options,
    seed: options.seed ?? old.seed,
    count: options.count ?? old.count,
    size: options.size ?? old.size,
    nameTemplate: options.nameTemplate ?? old.nameTemplate,
    dedupRatio: options.dedupRatio ?? old.dedupRatio,
    compressRatio: options.compressRatio ?? old.compressRatio,
    ratioCodec: options.ratioCodec ?? old.ratioCodec,
    dedupUnit: options.dedupUnit ?? old.dedupUnit,
    dedupScope: options.dedupScope ?? old.dedupScope,
    compression: options.compression ?? old.compression,
  };
}

/** One object of the plan. */
export interface Planned {
  index: number;
  name: string;
  size: number;
  /** First dedup unit of the object in the data set (dataset scope; 0 otherwise). */
  unitOffset: number;
}

/**
 * The plan, lazily: this shard's objects in index order, each computed when it is taken (O(1) memory).
 * Dataset scope keeps the running sum of the units of every object before it (every index, this shard's
 * or not) as the object's unitOffset; with a fixed size that is index x units per object.
 */
export function* planObjects(
  count: number,
  shard: Shard | undefined,
  dataset: boolean,
  sizes: SizeDistribution,
  seed: bigint,
  unitBytes: number,
  nameOf: (index: number) => string,
): Generator<Planned> {
  const fixed = fixedSize(sizes);
  if (!dataset || fixed !== undefined) {
    const unitsEach = fixed === undefined ? 0 : Math.ceil(fixed / unitBytes);
    for (let index = shard?.index ?? 0; index < count; index += shard?.count ?? 1) {
      yield { index, name: nameOf(index), size: fixed ?? sizes.sizeOf(seed, index), unitOffset: dataset ? index * unitsEach : 0 };
    }
    return;
  }
  let units = 0;
  for (let index = 0; index < count; index++) {
    const size = sizes.sizeOf(seed, index);
    if (!shard || index % shard.count === shard.index) yield { index, name: nameOf(index), size, unitOffset: units };
    units += Math.ceil(size / unitBytes);
  }
}

/** K, the unique dedup units among n (cpp/layout.cc: max(1, min(n, round(n / d)))); 0 for n = 0 (an empty
 * object holds no unit). */
export function uniqueUnits(n: number, dedupRatio: number): number {
  return n === 0 ? 0 : Math.max(1, Math.min(n, Math.round(n / dedupRatio)));
}

/** A stand-in distribution of one fixed size (1 byte), for counting objects by arithmetic. */
export const ONE_BYTE: SizeDistribution = { spec: '1', mean: 1, sizeOf: () => 1 };

/** The size of every object when the specification is a plain size, else undefined. */
export function fixedSize(sizes: SizeDistribution): number | undefined {
  return /^\d+$/.test(sizes.spec) ? Number(sizes.spec) : undefined;
}

/** The name of `at` under the prefix target (`/`-separated), or undefined when it lies elsewhere. */
export function relativeName(prefix: Target, at: Target): string | undefined {
  const local = (t: Target) => t.scheme === 'file' || t.scheme === 'direct';
  if (local(prefix) && local(at)) {
    const rel = relative((prefix as { path: string }).path, (at as { path: string }).path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
  }
  const key = (t: Target) => (t.scheme === 's3' ? [t.bucket, t.key] : t.scheme === 'az' ? [t.container, t.blob] : undefined);
  const [pb, pk] = key(prefix) ?? [];
  const [ab, ak] = key(at) ?? [];
  if (prefix.scheme !== at.scheme || pb === undefined || pb !== ab) return undefined;
  const base = pk === '' || pk!.endsWith('/') ? pk! : `${pk}/`;
  return ak!.startsWith(base) ? ak!.slice(base.length) : undefined;
}

/**
 * The totals a run needs before it starts, by a pass over the sizes that keeps nothing (O(count) time,
 * O(1) memory; arithmetic for a fixed size): this shard's objects and bytes, and for dataset scope the
 * units of the whole data set. Yields to the event loop every 64Ki objects, and stops when `signal`
 * aborts.
 */
export async function planTotals(
  count: number,
  shard: Shard | undefined,
  dataset: boolean,
  sizes: SizeDistribution,
  seed: bigint,
  unitBytes: number,
  signal: AbortSignal | undefined,
) {
  const step = shard?.count ?? 1;
  const first = shard?.index ?? 0;
  const objects = first < count ? Math.floor((count - 1 - first) / step) + 1 : 0;
  const fixed = fixedSize(sizes);
  if (fixed !== undefined) return { objects, bytes: objects * fixed, datasetUnits: count * Math.ceil(fixed / unitBytes) };
  let bytes = 0;
  let datasetUnits = 0;
  let n = 0;
  for (let index = dataset ? 0 : first; index < count; index += dataset ? 1 : step) {
    if (++n % 65536 === 0) {
      await setImmediate();
      signal?.throwIfAborted();
    }
    const size = sizes.sizeOf(seed, index);
    if (index % step === first) bytes += size;
    datasetUnits += Math.ceil(size / unitBytes);
  }
  return { objects, bytes, datasetUnits };
}

/** A put's plan: everything the run needs, validated and resolved (see {@link planPut}). */
export interface PutPlan {
  /** The target (a prefix: directory, bucket/prefix, container/prefix). */
  prefix: Target;
  /** Where the manifest goes, and its name under the prefix when it lies there. */
  manifestAt: Target;
  manifestRelative: string | undefined;
  shard: Shard | undefined;
  /** The concurrency asked for and used (limits.ts), and the one used. */
  concurrencyLimit: ConcurrencyLimit;
  concurrency: number;
  attempts: number;
  retryBaseMs: number | undefined;
  /** What the preflight's own requests retry with. */
  retryOptions: { attempts: number; retryBaseMs: number | undefined; signal: AbortSignal | undefined };
  failFast: boolean;
  /** A time-based run's duration in ms; open-ended without a count. */
  durationMs: number | undefined;
  openEnded: boolean;
  /** Bytes per second, or undefined (unpaced). */
  rate: number | undefined;
  /** The run resumed and its committed records by object id (empty without `resume`). */
  old: Manifest | undefined;
  kept: Map<number, ManifestRecord>;
  data: DataConfig;
  /** Objects of the data set (MAX_SAFE_INTEGER when open-ended), and the count names are padded for. */
  count: number;
  nameCount: number;
  sizes: SizeDistribution;
  compression: CompressionSpec;
  extension: string;
  template: string;
  scope: 'object' | 'dataset';
  chunkBytes: number;
  nativeWrites: boolean;
  /** A local target (`file://`, `direct://`). */
  local: boolean;
  /** Bytes per request on the generated-parts plane (S3 part, Azure block; Infinity locally). */
  partBytes: number;
  /** The options handed to the sinks and stores (put-options.ts). */
  sinkOptions: PutSinkOptions;
  onProgress: ((progress: PutProgress) => void) | undefined;
  signal: AbortSignal | undefined;
  overwrite: boolean | undefined;
}

/**
 * Makes a put's plan: validates every option (the errors {@link putObjects} documents), resolves the
 * target and the manifest's place (refusing a manifest that would take an object's name), and with
 * `resume` reads the old run's manifest and records (its parameters fill those not given; those given
 * must equal it). Creates nothing; loads the backends the target and the manifest need.
 */
export async function planPut(putOptions: PutOptions): Promise<PutPlan> {
  await checkPutOptions(putOptions);
  const prefix = parseTarget(putOptions.target, true);
  const requestedConcurrency = wholeOption('concurrency', putOptions.concurrency, 4, { min: 1, max: MAX_CONCURRENCY });
  const concurrencyLimit = limitConcurrency(requestedConcurrency);
  const concurrency = concurrencyLimit.used;
  const attempts = wholeOption('attempts', putOptions.attempts, 3, { min: 1 });
  const shard = parseShard(putOptions.shard);
  const manifestAt =
    putOptions.manifest !== undefined ? parseTarget(putOptions.manifest) : childTarget(prefix, manifestName(shard));
  await loadBackend(prefix.scheme);
  await loadBackend(manifestAt.scheme);
  const retryOptions = { attempts, retryBaseMs: putOptions.retryBaseMs, signal: putOptions.signal };
  const durationMs = parseDuration(putOptions.duration);
  if (durationMs !== undefined && putOptions.resume === true) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'duration',
      putOptions.duration,
      'absent with resume (a time-based run has no fixed plan to continue; resume its manifest without duration to retry its failed objects)',
    );
  }
  // Bytes per second of the whole run (validated here; parseChunking below sizes paced chunks from it).
  const rate = putOptions.rate === undefined ? undefined : parseRate('rate', putOptions.rate);

  // The run to resume: its parameters are this run's (see resumeOptions), its committed records are kept.
  let old: Manifest | undefined;
  const kept = new Map<number, ManifestRecord>();
  if (putOptions.resume === true) {
    const location = manifestAt.scheme === 'file' || manifestAt.scheme === 'direct' ? manifestAt.path : formatTarget(manifestAt);
    old = await loadManifest(location, sinkOptionsOf(putOptions));
    if ((old.shard?.index ?? -1) !== (shard?.index ?? -1) || (old.shard?.count ?? -1) !== (shard?.count ?? -1)) {
      throw invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        'shard',
        putOptions.shard,
        `the shard of the run resumed (${old.shard ? `${old.shard.index}/${old.shard.count}` : 'none'})`,
      );
    }
    for await (const line of readManifestRecords(old, location, sinkOptionsOf(putOptions))) {
      if (!('failure' in line)) kept.set(Number(line.objectId), line);
    }
  }
  const options = old ? resumeOptions(putOptions, old) : putOptions;
  const data = parseDataOptions(options);
  // A time-based run without a count is open-ended: its plan goes on until the deadline (names padded to
  // 6 digits); the data set must be fixed beforehand for shards (to merge) and dataset scope (its units).
  const openEnded = durationMs !== undefined && options.count === undefined;
  if (openEnded && (shard !== undefined || options.dedupScope === 'dataset')) {
    const why =
      shard !== undefined
        ? 'with duration and shard (the data set the shards share, recorded by every shard)'
        : "with duration and dedupScope 'dataset' (the data set whose units the objects share)";
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'count', options.count, `a whole number >= 1 ${why}`);
  }
  const count = openEnded ? Number.MAX_SAFE_INTEGER : wholeOption('count', options.count, 1, { min: 1 });
  /** The count object names are padded for (objectName): 1 (6 digits) when open-ended. */
  const nameCount = openEnded ? 1 : count;
  const sizes = parseSizeDistribution(options.size ?? DEFAULT_PUT_SIZE);
  const compression = parseCompression(options.compression);
  const template = checkTemplate(options.nameTemplate);
  const scope: 'object' | 'dataset' = options.dedupScope ?? 'object';
  validateOneOf('dedupScope', scope, ['object', 'dataset']);
  const { chunkSize: chunkBytes } = parseChunking(options);
  const nativeWrites = options.nativeWrites ?? true;
  if (old) {
    // What was given must be what the old run used.
    const given: [string, unknown, unknown][] = [
      ['seed', data.seed.toString(), old.seed],
      ['count', count, old.count],
      ['size', sizes.spec, old.size],
      ['nameTemplate', template, old.nameTemplate],
      ['dedupRatio', data.dedupRatio, old.dedupRatio],
      ['compressRatio', data.compressRatio, old.compressRatio],
      ['ratioCodec', data.ratioCodec, old.ratioCodec],
      ['dedupUnit', data.dedupUnit, old.dedupUnit],
      ['dedupScope', scope, old.dedupScope],
      ['compression', `${compression.algorithm}:${compression.level}`, `${old.compression.algorithm}:${old.compression.level}`],
    ];
    for (const [name, value, was] of given) {
      if (value !== was)
        throw invalidRange('ERR_DGEN_INVALID_OPTION', name, value, `${JSON.stringify(was)}, as in the run resumed (or left out)`);
    }
  }
  // What the run reads of its options, and what it hands the sinks (a named list: put-options.ts).
  const { onProgress, signal, retryBaseMs, failFast = false, manifest: manifestTo, overwrite } = options;
  const sinkOptions = sinkOptionsOf(options);
  const extension = COMPRESSION_EXTENSIONS[compression.algorithm];
  const local = prefix.scheme === 'file' || prefix.scheme === 'direct';

  // The manifest and its records must take no object's place (names.ts).
  // The size of an object's requests on the generated-parts plane: larger objects take several, and have
  // a first-byte latency apart from their commit.
  const partBytes =
    prefix.scheme === 's3'
      ? s3Backend().parsePartOptions(sinkOptions).partSize
      : prefix.scheme === 'az'
        ? azureBackend().parseBlockOptions(sinkOptions).blockSize
        : Infinity;
  const names = { template, extension, count, ...(shard && { shard }) };
  const manifestRelative = relativeName(prefix, manifestAt);
  if (manifestRelative !== undefined) {
    refuseCollision(manifestRelative, names, 'manifest', manifestTo ?? manifestRelative, local);
    const records = relativeName(prefix, recordsTargetFor(manifestAt))!;
    refuseCollision(records, names, 'manifest', manifestTo ?? manifestRelative, local);
  }
  return {
    prefix,
    manifestAt,
    manifestRelative,
    shard,
    concurrencyLimit,
    concurrency,
    attempts,
    retryBaseMs,
    retryOptions,
    failFast,
    durationMs,
    openEnded,
    rate,
    old,
    kept,
    data,
    count,
    nameCount,
    sizes,
    compression,
    extension,
    template,
    scope,
    chunkBytes,
    nativeWrites,
    local,
    partBytes,
    sinkOptions,
    onProgress,
    signal,
    overwrite,
  };
}

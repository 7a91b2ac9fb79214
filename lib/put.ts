/**
 * Bulk put: `count` distinct objects (object identity = index) under a target (a directory, `s3://` or
 * `az://` prefix, `direct://` directory), with retries of transient failures, a manifest, and shards for
 * many machines. Two data planes:
 * - **Native** (local targets, `file://` and `direct://`, without compression): objects go to the addon's
 *   worker pool in batches and are generated, checksummed and written there (put-local.ts,
 *   local-writer.ts); nothing per chunk passes through JavaScript. Memory: one reused chunk buffer per
 *   worker plus two batch descriptions.
 * - **Streams** (object stores, and compressed objects anywhere): each object is a DataSource piped into
 *   its sink, `concurrency` objects in flight. Each object in flight holds at most its source's
 *   highWaterMark (2 x chunkSize) plus one chunk being generated, plus its sink's buffer (highWaterMark,
 *   default 16 MiB, plus for S3 one part being cut and `partConcurrency` parts in flight, for Azure
 *   `blockConcurrency` blocks). So a run holds about concurrency x (3 x chunkSize + sink buffer) bytes,
 *   whatever the data set's size.
 * @module
 */
import { setMaxListeners } from 'node:events';
import { lstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataOptions, SizeInput } from './params.js';
import { DataSource } from './source.js';
import { childTarget, createSink, formatTarget, type SinkOptions, type Target } from './sinks/uri.js';
import type { ObjectWriteResult } from './sinks/object-writer.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  ManifestWriter,
  orderManifest,
  recordsTargetFor,
  storeManifest,
  storeManifestAt,
  type ManifestFailure,
  type ManifestRecord,
  type ManifestV2,
} from './manifest.js';
import { backoffMs, isResourceExhausted, isTransient, MAX_RESOURCE_WAITS, resourceWaitMs } from './retry.js';
import type { ConcurrencyLimit } from './limits.js';
import { sweepPartials, type SweepResult } from './partials.js';
import { objectSize, probeTarget, refuseExistingManifest, type PreflightClients } from './preflight.js';
import { putLocalObjects } from './put-local.js';
import type { putGeneratedObject as PutGeneratedObject } from './object-store-put.js';
import { DataGenerator } from './generator.js';
import { azureBackend, s3Backend } from './sinks/backends.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobServiceClient } from '@azure/storage-blob';
import { channels, debug } from './observe.js';
import { TOOL } from './version.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { Pacer } from './pacing.js';
import { runBounded } from './run-bounded.js';
import { invalidRange } from './errors.js';
import {
  fixedSize,
  ONE_BYTE,
  objectName,
  planObjects,
  planPut,
  planTotals,
  relativeName,
  uniqueUnits,
  type Planned,
  type PutPlan,
} from './put-plan.js';

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
  /** Number of objects in the data set, >= 1. Default 1. With {@link PutOptions.duration} it is the most
   * objects the run takes (optional there: without it the run goes on until the time is up; required
   * with `shard` and with `dedupScope: 'dataset'`, see `duration`). */
  count?: number | string;
  /** Object sizes: a size, or a distribution (`uniform:MIN,MAX`, `lognormal:MEAN,STDDEV[,MIN,MAX]`,
   * `4KiB:50%,1MiB:50%`; see sizes.ts). Default 1 MiB. */
  size?: SizeInput;
  /** `object` (default): each object dedups by dedupRatio on its own. `dataset`: the whole data set does,
   * objects drawing their units from one shared pool. */
  dedupScope?: 'object' | 'dataset';
  /** Objects in flight at once on the stream data plane, 1 to {@link MAX_CONCURRENCY} (1024). Default 4.
   * Lowered to what the open-files limit (RLIMIT_NOFILE) allows (limits.ts); the result's `concurrency`
   * says what was used. (The native data plane of local targets keeps every pool worker busy instead; see
   * `nativeWrites`.) */
  concurrency?: number | string;
  /** Chunk size of each object's stream, and of each worker's writes on the native data plane (multiple
   * of 512; rounded up to a multiple of 4096 for `direct://`). Default 4 MiB. */
  chunkSize?: number | string;
  /** Without compression, skip the per-chunk streams (the bytes and CRC-32C are the same either way):
   * local targets (`file://`, `direct://`) are written by the addon's worker pool (generated, checksummed
   * and written natively), and S3/Azure objects have their parts generated into reused buffers and sent
   * with the SDKs' own requests (object-store-put.ts). Default true; false sends every object through a
   * DataSource and its sink (FileSink, S3Sink, AzureBlobSink). */
  nativeWrites?: boolean;
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
  /** Called as bytes are generated (at chunk granularity) and when an object completes or fails. If it
   * throws, the run stops as on an abort (objects in flight removed, no manifest stored) and the put
   * rejects with what it threw. */
  onProgress?: (progress: PutProgress) => void;
  /** Write even where the manifest location already holds a manifest (another run's, which is replaced).
   * Default true for the library (the CLI's `--overwrite` defaults to false). */
  overwrite?: boolean;
  /** Continue the interrupted (or partly failed) run whose manifest is at the manifest location: objects
   * its records list as committed, with their size on the target, are kept (recorded again, not
   * rewritten); the others are written; a complete manifest replaces the old one. Parameters not given
   * are taken from that manifest; parameters given must equal it. Memory: the committed records of the
   * old run (about 200 bytes each). Default false. */
  resume?: boolean;
  /**
   * A time-based put (fio's `--time_based --runtime`), in seconds (a number > 0, or a decimal string):
   * objects keep coming, object ids 0, 1, 2, ... (this shard's: index mod N = I), until the time is up,
   * counted from the run's start (after the preflight). Objects in flight at the deadline finish (they are
   * not aborted, and are recorded); no object starts after it; at least one object is always written.
   * `count` is then the most objects to take (the run ends at whichever comes first); without it the data
   * set is open-ended. The manifest's `count` is the number of objects attempted (ids 0 to count - 1, so
   * `committed + failed = count` unless the run was aborted), which verify, merge and `generatorFor`
   * use as for any run. Exceptions, because the data set must be fixed before the first object:
   * - with `shard`, `count` is required and is recorded as given (the shards of one run must agree on it
   *   to merge); each shard's `committed + failed` says what it attempted;
   * - with `dedupScope: 'dataset'`, `count` is required (objects share the units of a data set of `count`
   *   objects) and the manifest's `datasetUnits` are those of `count` objects.
   * Sizes stay a function of the object id (sizes.ts), so an open-ended run is deterministic too. Object
   * names are padded for `count` when given, else to 6 digits (`{index}`; past 999,999 objects the names
   * grow to 7 digits; the records carry every name). `objectsTotal` and `bytesTotal` of the progress are
   * 0 (unknown). Not with `resume` (`ERR_DGEN_INVALID_OPTION`: a time-based run has no fixed plan to
   * continue; resume its manifest without `duration` to retry its failed objects). Default: none (the run
   * writes `count` objects).
   */
  duration?: number | string;
  /**
   * Bytes per second for the whole run, all objects together (fio's `--rate`): a positive number, or a
   * size string with an optional `/s` (`'100MiB/s'`; pacing.ts). The uncompressed bytes up to offset E of
   * the run (in the order they are handed out, retries included) go out no earlier than E / rate seconds
   * after the first, so bytes / elapsed never exceeds the rate (it is a limit from above, reached when the
   * target keeps up); waits are timers, never busy loops. Paced at chunk granularity on the stream data
   * plane (chunks default to a tenth of a second of data, see `chunkSize`) and at part (block)
   * granularity on the generated-parts plane of S3 and Azure. The native data plane of local targets
   * writes whole batches on the worker pool and cannot be paced, so with `rate` local targets take the
   * stream data plane (FileSink), as `nativeWrites: false` does. Commit latencies include the waits.
   * Default: unpaced.
   */
  rate?: number | string;
}

/** Latency of the objects of a run (see latency.ts), milliseconds per object. */
export interface PutLatency {
  /** From the start of the attempt that committed the object to the object committed (the rename of a
   * local file, the PutObject / CompleteMultipartUpload / Put Blob / Put Block List answered). */
  commit: LatencySummary;
  /**
   * From the start of that attempt to the first part acknowledged by the backend (S3: the first
   * UploadPart answered; Azure: the first block staged). Only for objects sent in more than one request
   * on the generated-parts plane (S3 and Azure without compression, `nativeWrites` true), where the two
   * differ; its `count` says how many. Absent when no object was: an object sent as one request is
   * acknowledged only as it commits, and the stream plane's sinks (and local files) do not report parts.
   */
  firstByte?: LatencySummary;
}

/** Progress of a run (of this shard). */
export interface PutProgress {
  objectsDone: number;
  objectsFailed: number;
  /** Objects of the run (this shard's); 0 (unknown) in a time-based run (`duration`). */
  objectsTotal: number;
  /** Uncompressed bytes generated so far (a retried object's bytes count again from zero). */
  bytesDone: number;
  /** Uncompressed bytes of all objects; 0 until known when a size distribution in object scope has its
   * sizes summed beside the writes (see {@link putObjects}); always 0 in a time-based run (`duration`). */
  bytesTotal: number;
  /** Milliseconds since the run started (after the preflight), read when asked: with `bytesDone`, the
   * inputs of an average rate (bytesDone / elapsedMs), and of a current one from two readings. */
  readonly elapsedMs: number;
  /** Latency of the objects committed so far (see {@link PutResult.latency}), computed when read (cached
   * until the next object commits); undefined until an object commits, and always on the native data
   * plane. */
  readonly latency: PutLatency | undefined;
}

/** Failures a run keeps in memory for its result (`failed` counts them all; the records list them all). */
export const MAX_FAILURES_KEPT = 1000;

/** A failed object, as the result lists it: the manifest's failure, plus what the error said about the
 * system call or request that failed (not stored in the records). */
export interface PutFailure extends ManifestFailure {
  /** errno of the failed system call, negative as Node reports it (e.g. -28 for ENOSPC). */
  errno?: number;
  /** The failed system call (`open`, `write`, `rename`, `connect`, ...). */
  syscall?: string;
  /** HTTP status of the failed request (object stores). */
  status?: number;
}

/** An object that committed, as the error of a run whose manifest could not be stored lists it. */
export interface CommittedObject {
  name: string;
  uri: string;
}

/**
 * The error of a run whose records or manifest could not be stored (a full or read-only file system,
 * an unreachable object store), code `ERR_DGEN_MANIFEST_NOT_STORED`: the objects it lists did commit and
 * stay on the target, without a manifest.
 */
export interface ManifestNotStoredError extends Error {
  code: 'ERR_DGEN_MANIFEST_NOT_STORED';
  /** Where the manifest should have been. */
  manifestUri: string;
  /** Objects committed (all of them). */
  committed: number;
  /** Objects failed (all of them). */
  failed: number;
  /** Uncompressed bytes committed. */
  bytes: number;
  /** The first {@link MAX_FAILURES_KEPT} committed objects. */
  committedObjects: CommittedObject[];
  /** The first {@link MAX_FAILURES_KEPT} failures. */
  failures: PutFailure[];
  /** The run was stopped before every object was tried. */
  interrupted: boolean;
}

/** A failed object as {@link PutResult.failures} lists it, from what `dgen:object:failure` carries. */
export function putFailure(name: string, uri: string, objectId: number | string, attempts: number, error: unknown): PutFailure {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    name,
    uri,
    objectId: String(objectId),
    attempts,
    error: error instanceof Error ? error.message : String(error),
    ...(typeof code === 'string' && { code }),
    ...errorDetails(error),
  };
}

/** errno, syscall and HTTP status found on an error or its causes. */
function errorDetails(error: unknown): { errno?: number; syscall?: string; status?: number } {
  const out: { errno?: number; syscall?: string; status?: number } = {};
  for (
    let e = error as Record<string, unknown> | undefined, depth = 0;
    e && typeof e === 'object' && depth < 8;
    e = e.cause as Record<string, unknown> | undefined, depth++
  ) {
    if (out.errno === undefined && typeof e.errno === 'number') out.errno = e.errno;
    if (out.syscall === undefined && typeof e.syscall === 'string') out.syscall = e.syscall;
    const status = (e.$metadata as { httpStatusCode?: unknown } | undefined)?.httpStatusCode ?? e.statusCode;
    if (out.status === undefined && typeof status === 'number') out.status = status;
  }
  return out;
}

/** What {@link putObjects} resolves to: the stored manifest document (version 2: parameters and summary),
 * plus, not stored, the first failures and where the manifest and its records are. */
export interface PutResult extends ManifestV2 {
  /** The first {@link MAX_FAILURES_KEPT} failures to happen, sorted by object index (`failed` is the exact count; the
   * records list every failure). */
  failures: PutFailure[];
  /** Stale `.dgen-partial` files of earlier runs removed before the run (local targets; see partials.ts). */
  partialsRemoved: SweepResult;
  /** Objects kept from the run resumed (`resume`), counted in `committed`. */
  resumed: number;
  /** The concurrency asked for and used (stream data plane; see limits.ts). */
  concurrency: ConcurrencyLimit;
  /** URI of the stored manifest. */
  manifestUri: string;
  /** URI of the stored records (NDJSON, one line per object). */
  recordsUri: string;
  /**
   * Per-object latencies (milliseconds) of the objects committed by this run (not those kept by
   * `resume`), from an HdrHistogram (latency.ts); `commit.count` equals `committed - resumed`. Absent
   * when no object committed. On the native data plane (local targets without compression and with
   * `nativeWrites`) an object's latency runs from the open of its temporary file to the rename, on the
   * worker that wrote it: the time it waited in its batch for a worker is not in it. Not stored in the
   * manifest.
   */
  latency?: PutLatency;
  /**
   * The dedup ratio the committed objects really have (the README's n / K, see the generator's
   * `realizedDedupRatio`): in object scope, their dedup units over their unique units (objects share
   * none); in dataset scope, the whole data set's `datasetUnits` over its unique units (what a store
   * holding all of it sees). 1 when no object committed. Not stored in the manifest (it follows from it).
   */
  realizedDedupRatio: number;
  /** Compressed runs: `bytes / compressedBytes`, the compression ratio of the committed objects as stored
   * (`compressedBytes` is the stored total); absent without compression (stored bytes are `bytes`) or
   * when nothing was stored. */
  realizedCompressionRatio?: number;
}

/** A pass-through stage that hands each chunk on once the run's pacing lets it go (`pace` resolves). */
function paced(pace: (bytes: number) => Promise<void>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      pace(chunk.length).then(
        () => callback(null, chunk),
        (err: unknown) => callback(err as Error),
      );
    },
  });
}

/** How an object ended: committed (the sink's result) or failed (after `attempts` attempts). */
type Outcome = { ok: true; result: ObjectWriteResult } | { ok: false; attempts: number; error: unknown };

/** The clients a run shares between its objects on the generated-parts path: the caller's, else one made
 * from the connection options.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`connectionString`) for Azure without a connection string
 *   or client; RangeError `ERR_DGEN_INVALID_OPTION` (`connectionString`, the value hidden) for one the SDK
 *   cannot read. */
function runClients(prefix: Target, options: SinkOptions): { client?: S3Client; serviceClient?: BlobServiceClient } {
  if (prefix.scheme === 's3') return { client: options.client ?? s3Backend().createS3Client(options) };
  if (prefix.scheme !== 'az') return {};
  try {
    return { serviceClient: azureBackend().createBlobServiceClient(options) };
  } catch (err) {
    if (String((err as { code?: unknown }).code).startsWith('ERR_DGEN_')) throw err;
    // The SDK's own error (a TypeError "Invalid URL" for a string without an account) names no option.
    const reason = err instanceof Error ? err.message : String(err);
    throw Object.assign(
      invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        'connectionString',
        '(hidden)',
        `a storage connection string, "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;..." (the Azure SDK could not read it: ${reason})`,
      ),
      { cause: err },
    );
  }
}

/**
 * The preflight (preflight.ts, partials.ts), after the plan and before anything is created: the target
 * takes writes (a zero-byte probe object on S3/Azure, deleted again; `access(2)` locally), so does the
 * directory of a manifest stored elsewhere, and with `overwrite: false` the manifest location holds no
 * manifest; then local targets lose the stale `.dgen-partial` files of this run's names.
 * @returns the partial files removed.
 */
async function preflight(plan: PutPlan, clients: PreflightClients, manifestClients: PreflightClients): Promise<SweepResult> {
  const { prefix, manifestAt, manifestRelative, retryOptions } = plan;
  await probeTarget(prefix, clients, retryOptions);
  // A manifest file elsewhere: its directory must take it too.
  if (manifestRelative === undefined && (manifestAt.scheme === 'file' || manifestAt.scheme === 'direct')) {
    await probeTarget({ scheme: 'file', path: dirname(manifestAt.path) }, manifestClients, retryOptions);
  }
  if (!plan.old && plan.overwrite === false) await refuseExistingManifest(manifestAt, manifestClients, retryOptions);
  plan.signal?.throwIfAborted();
  if (prefix.scheme !== 'file' && prefix.scheme !== 'direct') return { removed: 0, bytes: 0 };
  // Temporary files a killed run left (partials.ts): this run's names only.
  const alsoNames = manifestRelative === undefined ? [] : [manifestRelative, relativeName(prefix, recordsTargetFor(manifestAt))!];
  const { template: nameTemplate, extension, count, shard } = plan;
  const removed = await sweepPartials(prefix.path, { nameTemplate, extension, count, ...(shard && { shard }), alsoNames });
  if (removed.removed > 0)
    debug('removed %d stale .dgen-partial files (%d bytes) under %s', removed.removed, removed.bytes, prefix.path);
  return removed;
}

/** The plan, publishing `dgen:object:start` as each object is taken (where anyone subscribes). */
function* announced(plan: Iterable<Planned>, uriOf: (p: Planned) => string): Generator<Planned> {
  for (const p of plan) {
    if (channels.objectStart.hasSubscribers)
      channels.objectStart.publish({ name: p.name, uri: uriOf(p), objectId: p.index, size: p.size, attempt: 1 });
    if (debug.enabled) debug('start %s (%d bytes, attempt 1)', uriOf(p), p.size);
    yield p;
  }
}

/**
 * Writes the data set's objects (or this shard's) under `target`, then the manifest there
 * (`dgen-manifest.json`, or `dgen-manifest.shard-I-of-N.json` for a shard) and its records beside it
 * (`dgen-manifest.records.ndjson`, ...; see manifest.ts).
 *
 * Memory does not grow with `count`: the plan is computed object by object as the run takes them, every
 * finished object is streamed to the records file (never held), and only the first
 * {@link MAX_FAILURES_KEPT} failures are kept for the result. A pass over the sizes before the run
 * (arithmetic for a fixed size, about 1-2 us per object for a distribution) gives the progress total and,
 * for dataset scope, the data set's units.
 *
 * Every option is validated before anything is created. An object that fails is removed (no partial
 * objects); transient failures are retried from the object's first byte, regenerated (nothing is held in
 * memory). Permanent failures are recorded (the records, `failed`, the result's `failures`); with
 * `failFast` the first one stops the run. A run stopped by `failFast` or by `signal` still commits its
 * records and stores its manifest (with `interrupted: true` if objects were left), then resolves
 * (`failFast`) or rejects with the signal's reason.
 * Before the first object (nothing is created when a check fails): every option is type-checked, the
 * sink options and clients are built (S3 part size, Azure connection string), the manifest and records
 * must take no object's place (names.ts), the target must take writes (preflight.ts: `access(2)` locally,
 * one zero-byte probe object on S3/Azure, deleted again), and with `overwrite: false` the manifest
 * location must hold no manifest. Local targets then lose the stale `.dgen-partial` files of this run's
 * names (partials.ts). With `resume`, the objects the old run committed are kept (see `resume`).
 * EMFILE/ENFILE wait and retry without using up attempts (retry.ts); `concurrency` is lowered to what
 * RLIMIT_NOFILE allows (limits.ts). A throwing `onProgress` stops the run and the put rejects with what
 * it threw.
 * With `duration` the run is time-based and with `rate` paced (see those options).
 * @returns the stored manifest, with the first failures (with errno, syscall, HTTP status), the
 *   manifest's and records' URIs, the partials removed, the objects resumed, the concurrency used, the
 *   per-object latencies (`latency`), `realizedDedupRatio` and, compressed, `realizedCompressionRatio`.
 * @throws the validation errors of the options (RangeError/TypeError with `ERR_DGEN_*` codes, e.g.
 *   TypeError `ERR_DGEN_INVALID_OPTION` for a key that is no option (naming it, and the closest one), or
 *   naming `signal`, `retryBaseMs`, `failFast`, `manifest`, `duration` (not a
 *   number of seconds > 0, or given with `resume`), `rate` (not a positive rate), `count` (absent with
 *   `duration` and a `shard` or dataset scope)); the preflight's
 *   `ERR_DGEN_TARGET_UNWRITABLE` and `ERR_DGEN_TARGET_IN_USE` (Error, `exitCode: 2`); with `resume`, the
 *   errors of reading the old manifest (`ERR_DGEN_INVALID_MANIFEST`, `ERR_DGEN_NOT_FOUND`) and
 *   `ERR_DGEN_INVALID_OPTION` for a parameter that differs from it; the signal's reason (an `AbortError`
 *   by default) when `signal` aborts; what `onProgress` threw; {@link ManifestNotStoredError}
 *   (`ERR_DGEN_MANIFEST_NOT_STORED`, listing the objects that committed) when the records or the manifest
 *   cannot be stored (nothing of the records remains).
 */
export async function putObjects(putOptions: PutOptions): Promise<PutResult> {
  // 1. The plan (put-plan.ts): every option validated, targets and sizes resolved; nothing created yet.
  const putPlan = await planPut(putOptions);
  const {
    prefix,
    manifestAt,
    shard,
    concurrency,
    attempts,
    retryBaseMs,
    retryOptions,
    failFast,
    durationMs,
    openEnded,
    rate,
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
    partBytes,
    sinkOptions,
    onProgress,
    signal,
  } = putPlan;
  const local = prefix.scheme === 'file' || prefix.scheme === 'direct';
  // The clients the run shares (one per backend; the caller's when given), then 2. the preflight.
  const clients: PreflightClients = runClients(prefix, sinkOptions);
  const manifestClients: PreflightClients = manifestAt.scheme === prefix.scheme ? clients : runClients(manifestAt, sinkOptions);
  const ownClients = [
    clients.client !== sinkOptions.client && clients.client,
    manifestClients.client !== sinkOptions.client && manifestClients !== clients && manifestClients.client,
  ].filter((c): c is S3Client => !!c);
  let storeClients: { client?: S3Client; serviceClient?: BlobServiceClient } = {};
  try {
    const partialsRemoved = await preflight(putPlan, clients, manifestClients);
    const dataset = scope === 'dataset';
    // Dataset scope needs the data set's units before its first object, and a fixed size costs nothing to
    // sum; a size distribution in object scope has its bytes summed beside the writes (a count of 10^9
    // would take half an hour first), so the first objects are written at once.
    // A time-based run has no totals (objectsTotal and bytesTotal stay 0) but dataset scope's units.
    const beside = !dataset && fixedSize(sizes) === undefined && durationMs === undefined;
    const besideStop = new AbortController();
    const totals =
      durationMs !== undefined && !dataset
        ? {
            objects: openEnded
              ? Number.MAX_SAFE_INTEGER
              : (await planTotals(count, shard, false, ONE_BYTE, data.seed, data.dedupUnit, signal)).objects,
            bytes: 0,
            datasetUnits: 0,
          }
        : beside
          ? { ...(await planTotals(count, shard, false, ONE_BYTE, data.seed, data.dedupUnit, signal)), bytes: 0 }
          : await planTotals(count, shard, dataset, sizes, data.seed, data.dedupUnit, signal);
    const datasetUnits = totals.datasetUnits;
    // Objects taken from the plan: a time-based run stops taking them at its deadline (at least one is
    // taken); the unsharded manifest's count is how many it took.
    let taken = 0;
    const pastDeadline = () => durationMs !== undefined && taken > 0 && performance.now() - started >= durationMs;
    function* untilDeadline(planned: Iterable<Planned>): Generator<Planned> {
      for (const p of planned) {
        if (pastDeadline()) return;
        taken++;
        yield p;
      }
    }
    const plan = untilDeadline(
      planObjects(count, shard, dataset, sizes, data.seed, data.dedupUnit, (index) =>
        objectName(index, nameCount, extension, template),
      ),
    );

    // Directories: the target's up front (a target that cannot be a directory fails the run here, before
    // anything is written); those of templated names lazily, before each object, remembering the last few.
    const madeDirs = new Set<string>();
    const ensureDir = async (dir: string) => {
      if (madeDirs.has(dir)) return;
      await mkdir(dir, { recursive: true });
      if (madeDirs.size >= 1000) madeDirs.clear();
      madeDirs.add(dir);
    };
    if (local) await ensureDir(prefix.path);
    const writer = await ManifestWriter.create(recordsTargetFor(manifestAt), sinkOptions);

    const failures: PutFailure[] = [];
    const committedObjects: CommittedObject[] = [];
    // Latencies (latency.ts) and the realized dedup ratio's sums, over the objects this run commits.
    const commitLatency = new LatencyRecorder();
    const firstByteLatency = new LatencyRecorder();
    const latencyNow = (): PutLatency | undefined => {
      const commit = commitLatency.summary();
      if (!commit) return undefined;
      const firstByte = firstByteLatency.summary();
      return { commit, ...(firstByte && { firstByte }) };
    };
    const dedupSums = { units: 0, unique: 0 };
    const countUnits = (size: number) => {
      const n = Math.ceil(size / data.dedupUnit);
      dedupSums.units += n;
      dedupSums.unique += uniqueUnits(n, data.dedupRatio);
    };
    let started = performance.now();
    const progress: PutProgress = {
      objectsDone: 0,
      objectsFailed: 0,
      objectsTotal: durationMs === undefined ? totals.objects : 0,
      bytesDone: 0,
      bytesTotal: durationMs === undefined ? totals.bytes : 0,
      get elapsedMs() {
        return performance.now() - started;
      },
      get latency() {
        return latencyNow();
      },
    };
    if (beside) {
      planTotals(count, shard, false, sizes, data.seed, data.dedupUnit, besideStop.signal).then(
        (t) => (progress.bytesTotal = t.bytes),
        () => {}, // stopped with the run
      );
    }
    const stop = new AbortController();
    // Every object in flight listens on it (its source, and its retry backoff): not a leak at high
    // concurrency, so no MaxListenersExceededWarning.
    setMaxListeners(2 * concurrency + 1, stop.signal);
    // The run's rate: one schedule for the bytes of every object (pacing.ts), waited on before each chunk
    // (stream plane) or part (generated-parts plane).
    const pacer = rate === undefined ? undefined : new Pacer(rate);
    let pacedBytes = 0;
    const pace = pacer && ((bytes: number): Promise<void> => pacer.wait((pacedBytes += bytes), stop.signal));
    const onOuterAbort = () => stop.abort(signal!.reason);
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (signal?.aborted) onOuterAbort();
    started = performance.now();
    // Object stores without compression: parts generated into reused buffers and sent with the SDKs' own
    // requests, one client per run (unless the caller gave one).
    const generatedParts = !local && compression.algorithm === 'none' && nativeWrites;
    if (generatedParts) storeClients = clients;
    const putGeneratedObject: typeof PutGeneratedObject | undefined = generatedParts
      ? (await import('./object-store-put.js')).putGeneratedObject
      : undefined;

    // A failure that stops the run without a manifest: the records could not be written, or a callback threw.
    let fatal: { error: unknown; callback?: boolean } | undefined;
    const stopFatally = (err: unknown, callback = false) => {
      fatal ??= { error: err, callback };
      stop.abort(err);
    };
    /** The caller's progress callback; one that throws stops the run (it rejects with what was thrown). */
    const progressed = () => {
      if (!onProgress || fatal) return;
      try {
        onProgress(progress);
      } catch (err) {
        stopFatally(err, true);
      }
    };
    const keepCommitted = (name: string) => {
      if (committedObjects.length < MAX_FAILURES_KEPT)
        committedObjects.push({ name, uri: formatTarget(childTarget(prefix, name)) });
    };

    /**
     * The one place a finished object is recorded: its line in the records (streamed, never kept), the
     * counters, the kept failures and progress. Every path that completes objects calls it once per
     * object, in any order (the streaming attempt below; a batch path would too).
     */
    const record = (p: Planned, outcome: Outcome): void => {
      const objectId = String(p.index);
      if (outcome.ok) {
        const r = outcome.result;
        writer.object({
          objectId,
          name: p.name,
          size: r.size,
          crc32c: r.crc32c,
          ...(dataset && { unitOffset: p.unitOffset }),
          ...(compression.algorithm !== 'none' && { compressedSize: r.compressedSize }),
          ...(r.etag && { etag: r.etag }),
          ...(r.backendChecksum && { backendChecksum: r.backendChecksum }),
        });
        keepCommitted(p.name);
        countUnits(r.size);
        progress.objectsDone++;
      } else {
        const failed = putFailure(p.name, formatTarget(childTarget(prefix, p.name)), objectId, outcome.attempts, outcome.error);
        writer.failure({
          objectId,
          name: p.name,
          failure: { attempts: failed.attempts, error: failed.error, ...(failed.code !== undefined && { code: failed.code }) },
        });
        if (failures.length < MAX_FAILURES_KEPT) failures.push(failed);
        progress.objectsFailed++;
      }
      progressed();
    };

    /** An object of the resumed run that is kept: its old record, if it is there with its size. */
    let resumed = 0;
    const keptRecord = (p: Planned, storedSize: (p: Planned) => number | undefined): ManifestRecord | undefined => {
      const r = kept.get(p.index);
      if (!r) return undefined;
      kept.delete(p.index);
      if (r.name !== p.name || r.size !== p.size || storedSize(p) !== (r.compressedSize ?? r.size)) return undefined;
      return r;
    };
    const recordKept = (p: Planned, r: ManifestRecord): void => {
      writer.object(r);
      keepCommitted(p.name);
      countUnits(r.size);
      resumed++;
      progress.objectsDone++;
      progress.bytesDone += r.size;
      progressed();
    };
    /** The plan without the objects kept from the resumed run (local files: a stat each). */
    function* withoutKept(plan: Iterable<Planned>): Generator<Planned> {
      const sizeOnDisk = (p: Planned) => {
        try {
          const st = lstatSync(join((prefix as { path: string }).path, p.name));
          return st.isFile() ? st.size : undefined;
        } catch {
          return undefined;
        }
      };
      for (const p of plan) {
        const r = kept.size > 0 ? keptRecord(p, sizeOnDisk) : undefined;
        if (r) recordKept(p, r);
        else yield p;
      }
    }

    /** One attempt at one object: resolves to the sink's result, rejects after the sink cleaned up. */
    const attempt = async (p: Planned, n: number): Promise<ObjectWriteResult> => {
      const target = childTarget(prefix, p.name);
      const uri = formatTarget(target);
      channels.objectStart.publish({ name: p.name, uri, objectId: p.index, size: p.size, attempt: n });
      debug('start %s (%d bytes, attempt %d)', uri, p.size, n);
      const t0 = performance.now();
      const result = generatedParts ? await generated(target, p, t0) : await streamed(target, p);
      const ms = performance.now() - t0;
      commitLatency.record(ms);
      const seconds = ms / 1000;
      channels.objectFinish.publish({
        name: p.name,
        uri,
        objectId: p.index,
        size: p.size,
        compressedSize: result.compressedSize,
        crc32c: result.crc32c,
        attempt: n,
        seconds,
      });
      debug('finish %s in %d ms', uri, Math.round(seconds * 1000));
      return result;
    };

    /** An object as a DataSource piped into its sink. */
    const streamed = async (target: Target, p: Planned): Promise<ObjectWriteResult> => {
      if (local) await ensureDir(dirname(join(prefix.path, p.name)));
      // A stop destroys the source, and through the pipeline the sink, which then aborts the object; it
      // never destroys a sink that has its end() already (its commit goes on, and the object is recorded).
      const source = new DataSource({
        ...data,
        size: p.size,
        objectId: p.index,
        chunkSize: chunkBytes,
        signal: stop.signal,
        ...(dataset && { datasetUnits, unitOffset: p.unitOffset }),
      });
      const sink = createSink(target, { ...sinkOptions, compression });
      let bytes = 0;
      source.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        progress.bytesDone += chunk.length;
        progressed();
      });
      try {
        if (pace) await pipeline(source, paced(pace), sink);
        else await pipeline(source, sink);
        return await sink.result();
      } catch (err) {
        // pipeline() rejects as soon as a stream fails; result() settles once the sink has cleaned up. A
        // stop that lands after the sink committed (end() came, so every byte is in) leaves a complete
        // object: it counts as written, so that no object exists without its record.
        const committed = await sink.result().catch(() => undefined);
        if (committed) return committed;
        progress.bytesDone -= bytes;
        throw err;
      }
    };

    /** An object store's object with its parts generated into reused buffers (object-store-put.ts). */
    const generated = async (target: Target, p: Planned, t0: number): Promise<ObjectWriteResult> => {
      const generator = new DataGenerator({
        ...data,
        size: p.size,
        objectId: p.index,
        ...(dataset && { datasetUnits, unitOffset: p.unitOffset }),
      });
      let bytes = 0;
      let firstAck: number | undefined;
      try {
        const result = await putGeneratedObject!(target, generator, {
          ...sinkOptions,
          ...storeClients,
          signal: stop.signal,
          ...(pace && { pace }),
          onStored: (stored) => {
            firstAck ??= performance.now();
            bytes += stored;
            progress.bytesDone += stored;
            progressed();
          },
        });
        // Several requests: the first part (block) acknowledged is the first byte stored.
        if (p.size > partBytes && firstAck !== undefined) firstByteLatency.record(firstAck - t0);
        return result;
      } catch (err) {
        progress.bytesDone -= bytes;
        throw err;
      }
    };

    /** One object, with its retries; records how it ended. Rejects only when the run is stopped. */
    const putOne = async (p: Planned): Promise<void> => {
      if (kept.size > 0) {
        const target = childTarget(prefix, p.name);
        const stored = kept.has(p.index) ? await objectSize(target, clients, retryOptions) : undefined;
        const r = keptRecord(p, () => stored);
        if (r) return recordKept(p, r);
      }
      // EMFILE/ENFILE (no free descriptor) waits and retries without using up an attempt.
      let waits = 0;
      for (let n = 1; ; n++) {
        let result: ObjectWriteResult;
        try {
          result = await attempt(p, n);
        } catch (err) {
          if (stop.signal.aborted) throw err;
          const uri = formatTarget(childTarget(prefix, p.name));
          const message = err instanceof Error ? err.message : String(err);
          if (waits < MAX_RESOURCE_WAITS && isResourceExhausted(err)) {
            waits++;
            n--;
            const delayMs = resourceWaitMs(waits);
            debug('no free file descriptor for %s: waiting %d ms (%s)', uri, delayMs, message);
            await sleep(delayMs, undefined, { signal: stop.signal });
            continue;
          }
          if (n < attempts && isTransient(err)) {
            const delayMs = backoffMs(n + 1, retryBaseMs);
            channels.objectRetry.publish({ name: p.name, uri, objectId: p.index, attempt: n, delayMs, error: err });
            debug('retry %s in %d ms after attempt %d: %s', uri, delayMs, n, message);
            await sleep(delayMs, undefined, { signal: stop.signal });
            continue;
          }
          channels.objectFailure.publish({ name: p.name, uri, objectId: p.index, attempts: n, error: err });
          debug('failure %s after %d attempts: %s', uri, n, message);
          record(p, { ok: false, attempts: n, error: err });
          if (failFast) stop.abort(err);
          return;
        }
        record(p, { ok: true, result });
        return;
      }
    };

    // The stream data plane (run-bounded.ts): `concurrency` objects in flight, the next one taken from the
    // plan only after the records' backpressure lets it (a failure to write them stops the run).
    async function* whileRecording(planned: Iterator<Planned>): AsyncGenerator<Planned> {
      for (;;) {
        try {
          await writer.flushIfNeeded();
        } catch (err) {
          if (!stop.signal.aborted) stopFatally(err);
          return;
        }
        if (stop.signal.aborted) return;
        const next = planned.next();
        if (next.done) return;
        yield next.value;
      }
    }
    const streams = () =>
      runBounded(
        whileRecording(plan),
        (p: Planned) =>
          putOne(p).catch((err: unknown) => {
            // putOne rejects only when the run stops: the objects in flight of a stopped run are no failure.
            if (!stop.signal.aborted) stopFatally(err);
          }),
        { concurrency: Math.max(1, Math.min(concurrency, totals.objects)), signal: stop.signal, collect: false },
      );

    /** The native data plane: the plan goes to the worker pool in batches; results are recorded as their
     * batch completes. */
    const native = async (root: string) => {
      const uriOf = (p: Planned) => formatTarget(childTarget(prefix, p.name));
      const t0 = performance.now();
      try {
        await putLocalObjects(announced(withoutKept(plan), uriOf), {
          data,
          datasetUnits: dataset ? datasetUnits : 0,
          root,
          direct: prefix.scheme === 'direct',
          fsync: sinkOptions.fsync === true,
          chunkSize: prefix.scheme === 'direct' ? Math.ceil(chunkBytes / 4096) * 4096 : chunkBytes,
          attempts,
          retryBaseMs,
          signal: stop.signal,
          ensureDir,
          beforeBatch: () => writer.flushIfNeeded(),
          onCommitted: (p, r, n) => {
            // The URI costs a file URL per object: made only for whoever listens.
            if (channels.objectFinish.hasSubscribers) {
              channels.objectFinish.publish({
                name: p.name,
                uri: uriOf(p),
                objectId: p.index,
                size: r.size,
                compressedSize: r.size,
                crc32c: r.crc32c,
                attempt: n,
                seconds: (performance.now() - t0) / 1000,
              });
            }
            if (debug.enabled) debug('finish %s', uriOf(p));
            commitLatency.record(r.latencyMs);
            progress.bytesDone += r.size;
            record(p, { ok: true, result: { uri: '', size: r.size, compressedSize: r.size, crc32c: r.crc32c } });
          },
          onFailed: (p, error, n) => {
            channels.objectFailure.publish({ name: p.name, uri: uriOf(p), objectId: p.index, attempts: n, error });
            debug('failure %s after %d attempts: %s', uriOf(p), n, error.message);
            record(p, { ok: false, attempts: n, error });
            if (failFast) stop.abort(error);
          },
          onRetry: (p, error, n, delayMs) => {
            channels.objectRetry.publish({ name: p.name, uri: uriOf(p), objectId: p.index, attempt: n, delayMs, error });
            debug('retry %s in %d ms after attempt %d: %s', uriOf(p), delayMs, n, error.message);
          },
        });
      } catch (err) {
        // A callback threw (the records failed): the batches in flight have been stopped.
        stopFatally(err);
      }
    };

    try {
      if (local && compression.algorithm === 'none' && nativeWrites && pace === undefined) await native(prefix.path);
      else await streams();
    } finally {
      signal?.removeEventListener('abort', onOuterAbort);
      besideStop.abort();
    }
    // 4. The manifest: the records closed, the manifest stored, the result.
    return await storeRun(putPlan, {
      writer,
      progress,
      failures,
      committedObjects,
      fatal,
      objectsTotal: totals.objects,
      datasetUnits,
      taken,
      started,
      stopped: stop.signal.aborted,
      latency: latencyNow(),
      dedupSums,
      resumed,
      partialsRemoved,
    });
  } finally {
    for (const c of ownClients) c.destroy();
  }
}

/** How the run went, as the manifest step needs it. */
interface RunOutcome {
  writer: ManifestWriter;
  progress: PutProgress;
  failures: PutFailure[];
  committedObjects: CommittedObject[];
  /** A failure that stopped the run without a manifest (the records failed, or a callback threw). */
  fatal: { error: unknown; callback?: boolean } | undefined;
  objectsTotal: number;
  datasetUnits: number;
  /** Objects taken from the plan (a time-based run's count). */
  taken: number;
  /** performance.now() at the run's start (after the preflight). */
  started: number;
  /** The run was stopped (signal, failFast, a fatal failure). */
  stopped: boolean;
  latency: PutLatency | undefined;
  dedupSums: { units: number; unique: number };
  resumed: number;
  partialsRemoved: SweepResult;
}

/**
 * The manifest step: closes the records and stores the manifest (version 2) at the plan's manifest
 * location, then builds the result. A run stopped by a fatal failure stores nothing.
 * @throws {@link ManifestNotStoredError} when the records or the manifest cannot be stored; a callback's
 *   own error as it was thrown; the signal's reason when the caller's signal aborted the run.
 */
async function storeRun(plan: PutPlan, run: RunOutcome): Promise<PutResult> {
  const {
    prefix,
    manifestAt,
    data,
    durationMs,
    shard,
    count,
    sizes,
    template,
    scope,
    compression,
    sinkOptions,
    signal,
    concurrencyLimit,
  } = plan;
  const {
    writer,
    progress,
    failures,
    committedObjects,
    fatal,
    datasetUnits,
    taken,
    started,
    dedupSums,
    resumed,
    partialsRemoved,
  } = run;
  const totals = { objects: run.objectsTotal };
  const dataset = scope === 'dataset';
  const notStored = (error: unknown, what: string): ManifestNotStoredError => {
    const reason = error instanceof Error ? error.message : String(error);
    return Object.assign(
      new Error(
        `the ${what} could not be stored at ${formatTarget(what === 'records' ? recordsTargetFor(manifestAt) : manifestAt)}: ${reason}; ${progress.objectsDone} objects committed (they stay, without a manifest), ${progress.objectsFailed} failed`,
        { cause: error },
      ),
      {
        code: 'ERR_DGEN_MANIFEST_NOT_STORED' as const,
        manifestUri: formatTarget(manifestAt),
        committed: progress.objectsDone,
        failed: progress.objectsFailed,
        bytes: writer.bytes,
        committedObjects,
        failures: failures.sort((a, b) => Number(a.objectId) - Number(b.objectId)),
        interrupted: progress.objectsDone + progress.objectsFailed < totals.objects,
      },
    );
  };
  if (fatal) {
    await writer.abort(fatal.error instanceof Error ? fatal.error : new Error(String(fatal.error)));
    // The records failed: say what committed. A callback's own error is the caller's to see as it is.
    if (!fatal.callback) throw notStored(fatal.error, 'records');
    throw fatal.error;
  }

  let recordsUri: string;
  try {
    recordsUri = await writer.close();
  } catch (err) {
    throw notStored(err, 'records');
  }
  const manifest = orderManifest({
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: TOOL,
    createdAt: new Date().toISOString(),
    target: formatTarget(prefix),
    seed: data.seed.toString(),
    // Unsharded time-based runs: the objects taken (ids 0 to taken - 1).
    count: durationMs !== undefined && !shard ? Math.max(1, taken) : count,
    size: sizes.spec,
    nameTemplate: template,
    dedupRatio: data.dedupRatio,
    compressRatio: data.compressRatio,
    ...(data.ratioCodec !== undefined && { ratioCodec: data.ratioCodec }),
    dedupUnit: data.dedupUnit,
    dedupScope: scope,
    ...(dataset && { datasetUnits }),
    compression,
    ...(shard && { shard }),
    seconds: (performance.now() - started) / 1000,
    records: writer.name,
    committed: writer.committed,
    failed: writer.failed,
    bytes: writer.bytes,
    ...(compression.algorithm !== 'none' && { compressedBytes: writer.compressedBytes }),
    ...((durationMs === undefined
      ? writer.committed + writer.failed < totals.objects
      : run.stopped || writer.committed + writer.failed < taken) && { interrupted: true as const }),
  });
  let manifestUri: string;
  try {
    manifestUri = await storeManifestAt(manifestAt, manifest, sinkOptions);
  } catch (err) {
    throw notStored(err, 'manifest');
  }
  if (signal?.aborted) throw signal.reason;
  failures.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  const latency = run.latency;
  // Dataset scope: the data set's units dedup as one (the generator's N / K).
  const realizedDedupRatio =
    dataset && dedupSums.units > 0
      ? datasetUnits / uniqueUnits(datasetUnits, data.dedupRatio)
      : dedupSums.unique === 0
        ? 1
        : dedupSums.units / dedupSums.unique;
  const stored = manifest.compressedBytes;
  return {
    ...manifest,
    failures,
    manifestUri,
    recordsUri,
    partialsRemoved,
    resumed,
    concurrency: concurrencyLimit,
    ...(latency && { latency }),
    realizedDedupRatio,
    ...(stored !== undefined && stored > 0 && { realizedCompressionRatio: manifest.bytes / stored }),
  };
}

export { storeManifest, storeManifestAt };
export { DEFAULT_NAME_TEMPLATE, DEFAULT_PUT_SIZE, objectName, parseShard } from './put-plan.js';

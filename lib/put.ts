import { dirname } from 'node:path';
import type { DataOptions, SizeInput } from './params.js';
import { formatTarget, type SinkOptions, type Target } from './backends/index.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  orderManifest,
  recordsTargetFor,
  storeManifest,
  storeManifestAt,
  type ManifestFailure,
  type ManifestV2,
} from './manifest.js';
import type { ConcurrencyLimit } from './limits.js';
import { sweepPartials, type SweepResult } from './partials.js';
import { probeTarget, refuseExistingManifest, type PreflightClients } from './preflight.js';
import { azureBackend, s3Backend } from './sinks/backends.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobServiceClient } from '@azure/storage-blob';
import { debug } from './observe.js';
import { TOOL } from './version.js';
import type { LatencySummary } from './latency.js';
import { runPut, type RunOutcome } from './put-run.js';
import { invalidRange } from './errors.js';
import { planPut, relativeName, uniqueUnits, type PutPlan } from './put-plan.js';

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
  const plan = await planPut(putOptions);
  const { prefix, manifestAt, sinkOptions } = plan;
  // The clients the run shares (one per backend; the caller's when given).
  const clients: PreflightClients = runClients(prefix, sinkOptions);
  const manifestClients: PreflightClients = manifestAt.scheme === prefix.scheme ? clients : runClients(manifestAt, sinkOptions);
  const ownClients = [
    clients.client !== sinkOptions.client && clients.client,
    manifestClients.client !== sinkOptions.client && manifestClients !== clients && manifestClients.client,
  ].filter((c): c is S3Client => !!c);
  try {
    // 2. The preflight: the target takes writes, no manifest is in the way, stale partial files removed.
    const partialsRemoved = await preflight(plan, clients, manifestClients);
    // 3. The run with its retries (put-run.ts).
    const run = await runPut(plan, clients, partialsRemoved);
    // 4. The manifest: the records closed, the manifest stored, the result.
    return await storeRun(plan, run);
  } finally {
    for (const c of ownClients) c.destroy();
  }
}

/**
 * The manifest step: closes the records and stores the manifest (version 2) at the plan's manifest
 * location, then builds the result. A run stopped by a fatal failure stores nothing.
 * @throws {@link ManifestNotStoredError} when the records or the manifest cannot be stored; a callback's
 *   own error as it was thrown; the signal's reason when the caller's signal aborted the run.
 */
async function storeRun(plan: PutPlan, run: RunOutcome): Promise<PutResult> {
  // The fields used more than once; the others are read where they are used.
  const { manifestAt, data, durationMs, shard, scope, compression, signal } = plan;
  const { writer, progress, failures, fatal, datasetUnits, taken, dedupSums } = run;
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
        committedObjects: run.committedObjects,
        failures: failures.sort((a, b) => Number(a.objectId) - Number(b.objectId)),
        interrupted: progress.objectsDone + progress.objectsFailed < run.objectsTotal,
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
    target: formatTarget(plan.prefix),
    seed: data.seed.toString(),
    // Unsharded time-based runs: the objects taken (ids 0 to taken - 1).
    count: durationMs !== undefined && !shard ? Math.max(1, taken) : plan.count,
    size: plan.sizes.spec,
    nameTemplate: plan.template,
    dedupRatio: data.dedupRatio,
    compressRatio: data.compressRatio,
    ...(data.ratioCodec !== undefined && { ratioCodec: data.ratioCodec }),
    dedupUnit: data.dedupUnit,
    dedupScope: scope,
    ...(dataset && { datasetUnits }),
    compression,
    ...(shard && { shard }),
    seconds: (performance.now() - run.started) / 1000,
    records: writer.name,
    committed: writer.committed,
    failed: writer.failed,
    bytes: writer.bytes,
    ...(compression.algorithm !== 'none' && { compressedBytes: writer.compressedBytes }),
    ...((durationMs === undefined
      ? writer.committed + writer.failed < run.objectsTotal
      : run.stopped || writer.committed + writer.failed < taken) && { interrupted: true as const }),
  });
  let manifestUri: string;
  try {
    manifestUri = await storeManifestAt(manifestAt, manifest, plan.sinkOptions);
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
    partialsRemoved: run.partialsRemoved,
    resumed: run.resumed,
    concurrency: plan.concurrencyLimit,
    ...(latency && { latency }),
    realizedDedupRatio,
    ...(stored !== undefined && stored > 0 && { realizedCompressionRatio: manifest.bytes / stored }),
  };
}

export { storeManifest, storeManifestAt };
export { DEFAULT_NAME_TEMPLATE, DEFAULT_PUT_SIZE, objectName, parseShard } from './put-plan.js';

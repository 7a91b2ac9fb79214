/**
 * The run step of a bulk put (see `putObjects`, put.ts): after the plan (put-ts) and the preflight, the
 * plan's objects are written, each with its retries, and recorded as they finish; the manifest step
 * (put.ts) then stores what the run returns. Two data planes: the native one of local targets (put-local.ts)
 * and the stream one (a DataSource piped into its sink, or an object store's generated parts,
 * object-store-put.ts), `concurrency` objects in flight (run-bounded.ts).
 * @module
 */
import { setMaxListeners } from 'node:events';
import { lstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from './source.js';
import { childTarget, createSink, formatTarget, type Target } from './backends/index.js';
import type { ObjectWriteResult } from './sinks/object-writer.js';
import { ManifestWriter, recordsTargetFor, type ManifestRecord } from './manifest.js';
import { backoffMs, isResourceExhausted, isTransient, MAX_RESOURCE_WAITS, resourceWaitMs } from './retry.js';
import type { SweepResult } from './partials.js';
import { objectSize, type PreflightClients } from './preflight.js';
import { putLocalObjects } from './put-local.js';
import type { putGeneratedObject as PutGeneratedObject } from './object-store-put.js';
import { DataGenerator } from './generator.js';
import { channels, debug } from './observe.js';
import { LatencyRecorder } from './latency.js';
import { Pacer } from './pacing.js';
import { runBounded } from './run-bounded.js';
import { fixedSize, ONE_BYTE, objectName, planObjects, planTotals, uniqueUnits, type Planned, type PutPlan } from './put-plan.js';
import {
  MAX_FAILURES_KEPT,
  putFailure,
  type CommittedObject,
  type PutFailure,
  type PutLatency,
  type PutProgress,
} from './put.js';

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

/** The plan, publishing `dgen:object:start` as each object is taken (where anyone subscribes). */
function* announced(plan: Iterable<Planned>, uriOf: (p: Planned) => string): Generator<Planned> {
  for (const p of plan) {
    if (channels.objectStart.hasSubscribers)
      channels.objectStart.publish({ name: p.name, uri: uriOf(p), objectId: p.index, size: p.size, attempt: 1 });
    if (debug.enabled) debug('start %s (%d bytes, attempt 1)', uriOf(p), p.size);
    yield p;
  }
}

/** How the run went, as the manifest step needs it. */
export interface RunOutcome {
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
 * The run step: writes the plan's objects (this shard's, those of a resumed run not kept, until the
 * deadline of a time-based run) with their retries, and records each as it ends (the records file, the
 * counters, the kept failures, progress). Stops at the plan's signal, at the first permanent failure with
 * `failFast`, and when the records fail or a callback throws (`fatal`). Resolves with how the run went,
 * for the manifest step; never stores the manifest.
 * @param clients - the run's object-store clients (used for the generated parts, and the resume's stats).
 * @param partialsRemoved - what the preflight removed (handed on to the result).
 * @throws the errors of creating the records file and the target's directory.
 */
export async function runPut(plan: PutPlan, clients: PreflightClients, partialsRemoved: SweepResult): Promise<RunOutcome> {
  const { prefix } = plan;
  // Narrows the prefix for the local paths below.
  const local = prefix.scheme === 'file' || prefix.scheme === 'direct';
  const dataset = plan.scope === 'dataset';
  // Dataset scope needs the data set's units before its first object, and a fixed size costs nothing to
  // sum; a size distribution in object scope has its bytes summed beside the writes (a count of 10^9
  // would take half an hour first), so the first objects are written at once.
  // A time-based run has no totals (objectsTotal and bytesTotal stay 0) but dataset scope's units.
  const beside = !dataset && fixedSize(plan.sizes) === undefined && plan.durationMs === undefined;
  const besideStop = new AbortController();
  const totals =
    plan.durationMs !== undefined && !dataset
      ? {
          objects: plan.openEnded
            ? Number.MAX_SAFE_INTEGER
            : (await planTotals(plan.count, plan.shard, false, ONE_BYTE, plan.data.seed, plan.data.dedupUnit, plan.signal))
                .objects,
          bytes: 0,
          datasetUnits: 0,
        }
      : beside
        ? {
            ...(await planTotals(plan.count, plan.shard, false, ONE_BYTE, plan.data.seed, plan.data.dedupUnit, plan.signal)),
            bytes: 0,
          }
        : await planTotals(plan.count, plan.shard, dataset, plan.sizes, plan.data.seed, plan.data.dedupUnit, plan.signal);
  const datasetUnits = totals.datasetUnits;
  // Objects taken from the plan: a time-based run stops taking them at its deadline (at least one is
  // taken); the unsharded manifest's count is how many it took.
  let taken = 0;
  const pastDeadline = () => plan.durationMs !== undefined && taken > 0 && performance.now() - started >= plan.durationMs;
  function* untilDeadline(planned: Iterable<Planned>): Generator<Planned> {
    for (const p of planned) {
      if (pastDeadline()) return;
      taken++;
      yield p;
    }
  }
  const objects = untilDeadline(
    planObjects(plan.count, plan.shard, dataset, plan.sizes, plan.data.seed, plan.data.dedupUnit, (index) =>
      objectName(index, plan.nameCount, plan.extension, plan.template),
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
  const writer = await ManifestWriter.create(recordsTargetFor(plan.manifestAt), plan.sinkOptions);

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
    const n = Math.ceil(size / plan.data.dedupUnit);
    dedupSums.units += n;
    dedupSums.unique += uniqueUnits(n, plan.data.dedupRatio);
  };
  let started = performance.now();
  const progress: PutProgress = {
    objectsDone: 0,
    objectsFailed: 0,
    objectsTotal: plan.durationMs === undefined ? totals.objects : 0,
    bytesDone: 0,
    bytesTotal: plan.durationMs === undefined ? totals.bytes : 0,
    get elapsedMs() {
      return performance.now() - started;
    },
    get latency() {
      return latencyNow();
    },
  };
  if (beside) {
    planTotals(plan.count, plan.shard, false, plan.sizes, plan.data.seed, plan.data.dedupUnit, besideStop.signal).then(
      (t) => (progress.bytesTotal = t.bytes),
      () => {}, // stopped with the run
    );
  }
  const stop = new AbortController();
  // Every object in flight listens on it (its source, and its retry backoff): not a leak at high
  // concurrency, so no MaxListenersExceededWarning.
  setMaxListeners(2 * plan.concurrency + 1, stop.signal);
  // The run's rate: one schedule for the bytes of every object (pacing.ts), waited on before each chunk
  // (stream plane) or part (generated-parts plane).
  const pacer = plan.rate === undefined ? undefined : new Pacer(plan.rate);
  let pacedBytes = 0;
  const pace = pacer && ((bytes: number): Promise<void> => pacer.wait((pacedBytes += bytes), stop.signal));
  const onOuterAbort = () => stop.abort(plan.signal!.reason);
  plan.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (plan.signal?.aborted) onOuterAbort();
  started = performance.now();
  // Object stores without compression: parts generated into reused buffers and sent with the SDKs' own
  // requests, one client per run (unless the caller gave one).
  const generatedParts = !local && plan.compression.algorithm === 'none' && plan.nativeWrites;
  const storeClients: PreflightClients = generatedParts ? clients : {};
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
    if (!plan.onProgress || fatal) return;
    try {
      plan.onProgress(progress);
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
        ...(plan.compression.algorithm !== 'none' && { compressedSize: r.compressedSize }),
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
    const r = plan.kept.get(p.index);
    if (!r) return undefined;
    plan.kept.delete(p.index);
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
  function* withoutKept(planned: Iterable<Planned>): Generator<Planned> {
    const sizeOnDisk = (p: Planned) => {
      try {
        const st = lstatSync(join((prefix as { path: string }).path, p.name));
        return st.isFile() ? st.size : undefined;
      } catch {
        return undefined;
      }
    };
    for (const p of planned) {
      const r = plan.kept.size > 0 ? keptRecord(p, sizeOnDisk) : undefined;
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
      ...plan.data,
      size: p.size,
      objectId: p.index,
      chunkSize: plan.chunkBytes,
      signal: stop.signal,
      ...(dataset && { datasetUnits, unitOffset: p.unitOffset }),
    });
    const sink = createSink(target, { ...plan.sinkOptions, compression: plan.compression });
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
      ...plan.data,
      size: p.size,
      objectId: p.index,
      ...(dataset && { datasetUnits, unitOffset: p.unitOffset }),
    });
    let bytes = 0;
    let firstAck: number | undefined;
    try {
      const result = await putGeneratedObject!(target, generator, {
        ...plan.sinkOptions,
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
      if (p.size > plan.partBytes && firstAck !== undefined) firstByteLatency.record(firstAck - t0);
      return result;
    } catch (err) {
      progress.bytesDone -= bytes;
      throw err;
    }
  };

  /** One object, with its retries; records how it ended. Rejects only when the run is stopped. */
  const putOne = async (p: Planned): Promise<void> => {
    if (plan.kept.size > 0) {
      const target = childTarget(prefix, p.name);
      const stored = plan.kept.has(p.index) ? await objectSize(target, clients, plan.retryOptions) : undefined;
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
        if (n < plan.attempts && isTransient(err)) {
          const delayMs = backoffMs(n + 1, plan.retryBaseMs);
          channels.objectRetry.publish({ name: p.name, uri, objectId: p.index, attempt: n, delayMs, error: err });
          debug('retry %s in %d ms after attempt %d: %s', uri, delayMs, n, message);
          await sleep(delayMs, undefined, { signal: stop.signal });
          continue;
        }
        channels.objectFailure.publish({ name: p.name, uri, objectId: p.index, attempts: n, error: err });
        debug('failure %s after %d attempts: %s', uri, n, message);
        record(p, { ok: false, attempts: n, error: err });
        if (plan.failFast) stop.abort(err);
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
      whileRecording(objects),
      (p: Planned) =>
        putOne(p).catch((err: unknown) => {
          // putOne rejects only when the run stops: the objects in flight of a stopped run are no failure.
          if (!stop.signal.aborted) stopFatally(err);
        }),
      { concurrency: Math.max(1, Math.min(plan.concurrency, totals.objects)), signal: stop.signal, collect: false },
    );

  /** The native data plane: the plan goes to the worker pool in batches; results are recorded as their
   * batch completes. */
  const native = async (root: string) => {
    const uriOf = (p: Planned) => formatTarget(childTarget(prefix, p.name));
    const t0 = performance.now();
    try {
      await putLocalObjects(announced(withoutKept(objects), uriOf), {
        data: plan.data,
        datasetUnits: dataset ? datasetUnits : 0,
        root,
        direct: prefix.scheme === 'direct',
        fsync: plan.sinkOptions.fsync === true,
        chunkSize: prefix.scheme === 'direct' ? Math.ceil(plan.chunkBytes / 4096) * 4096 : plan.chunkBytes,
        attempts: plan.attempts,
        retryBaseMs: plan.retryBaseMs,
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
          if (plan.failFast) stop.abort(error);
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
    if (local && plan.compression.algorithm === 'none' && plan.nativeWrites && pace === undefined) await native(prefix.path);
    else await streams();
  } finally {
    plan.signal?.removeEventListener('abort', onOuterAbort);
    besideStop.abort();
  }
  return {
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
  };
}

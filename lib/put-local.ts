/**
 * The native data plane of bulk puts to local targets (`file://`, `direct://`) when nothing transforms
 * the bytes: objects go to the worker pool in batches ({@link writeLocalObjects}), with no Readable,
 * Writable or chunk per object in JavaScript.
 *
 * A batch closes at {@link BATCH_OBJECTS} objects, or once it holds {@link BATCH_BYTES} bytes and at least
 * one object per pool worker (so that large objects are written one per worker, never two workers on one
 * file; a single object is cut over all workers). Two batches are in flight, so the pool starts on the
 * next one while JavaScript records the results of the last. Memory: one chunk buffer per worker
 * (reused), plus the batch descriptions; flat whatever the number or size of objects.
 * @module
 */
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeLocalObjects, type LocalWriteResult } from './local-writer.js';
import { binding } from './native.js';
import type { DataConfig } from './params.js';
import { backoffMs, isResourceExhausted, isTransient, MAX_RESOURCE_WAITS, resourceWaitMs } from './retry.js';

/** Most objects in one batch: 256 (1,024 held 15 MiB more RSS in a put of 20,000 small objects, for no
 * more speed). */
export const BATCH_OBJECTS = 256;
/** Bytes after which a batch closes once it has an object per worker: 64 MiB. */
export const BATCH_BYTES = 64 * 1024 * 1024;

/** One object of the run's plan. */
export interface LocalPlanned {
  /** Index in the data set (the object's identity). */
  index: number;
  /** Name under the target directory (may contain `/`). */
  name: string;
  /** Bytes. */
  size: number;
  /** Dataset scope: the object's first dedup unit in the data set. */
  unitOffset: number;
}

/** Options of {@link putLocalObjects}. */
export interface LocalPutOptions {
  data: DataConfig;
  /** Dedup units in the whole data set in dataset scope; 0 in object scope. */
  datasetUnits: number;
  /** The target directory (absolute). */
  root: string;
  direct: boolean;
  fsync: boolean;
  /** Makes a directory (and its parents) exist; called for each object's directory before its batch. */
  ensureDir(dir: string): Promise<void>;
  /** Bytes per worker write; default that of {@link writeLocalObjects}. */
  chunkSize?: number;
  /** Attempts per object for transient failures (>= 1). */
  attempts: number;
  /** First backoff in ms before a retry. */
  retryBaseMs?: number;
  /** Stops the run: no new batch starts, objects in flight are removed unless already committed. */
  signal: AbortSignal;
  /** An object committed: its path, size, CRC-32C (8 hex digits) and latency (ms from the open of its
   * temporary file to the rename). */
  onCommitted(
    object: LocalPlanned,
    result: { path: string; size: number; crc32c: string; latencyMs: number },
    attempts: number,
  ): void;
  /** An object failed for good (after `attempts` attempts); nothing of it is on disk. */
  onFailed(object: LocalPlanned, error: Error, attempts: number): void;
  /** Awaited before each batch is handed to the pool (backpressure from whoever records the results);
   * a rejection stops the run as a throwing callback does. */
  beforeBatch?(): Promise<void>;
  /** An object is about to be retried after a transient failure. */
  onRetry?(object: LocalPlanned, error: Error, attempt: number, delayMs: number): void;
}

/** Cuts the plan into batches by {@link BATCH_OBJECTS}, {@link BATCH_BYTES} and the pool's workers. */
function* batches(plan: Iterable<LocalPlanned>, workers: number): Generator<LocalPlanned[]> {
  let batch: LocalPlanned[] = [];
  let bytes = 0;
  for (const p of plan) {
    if (batch.length >= BATCH_OBJECTS || (bytes >= BATCH_BYTES && batch.length >= workers)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(p);
    bytes += p.size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * Writes every object of `plan` (an iterable, consumed lazily) under `options.root` through the native
 * pool, reporting each object through `onCommitted` or `onFailed` as its batch completes. Transient
 * failures (see retry.ts) are retried with backoff, regenerated from the first byte.
 * @returns once every object is reported, or (after an abort) once the batches in flight have settled;
 *   objects removed by the abort are reported neither way.
 * @throws what a callback throws, after the batches in flight have been stopped and have settled.
 */
export async function putLocalObjects(plan: Iterable<LocalPlanned>, options: LocalPutOptions): Promise<void> {
  // Stops our own batches when a callback throws, as well as on the caller's abort.
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal.reason);
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  // `waits`: how often these objects already waited for free descriptors (EMFILE/ENFILE), which does not
  // use up their attempts.
  const run = async (objects: LocalPlanned[], attempt: number, waits = 0): Promise<void> => {
    if (stop.signal.aborted) return;
    // An object whose directory cannot be made fails on its own, as a failed open would.
    const ready: LocalPlanned[] = [];
    const outcomes = new Map<LocalPlanned, LocalWriteResult>();
    for (const o of objects) {
      const path = join(options.root, o.name);
      try {
        await options.ensureDir(dirname(path));
        ready.push(o);
      } catch (error) {
        outcomes.set(o, { ok: false, path, error: error as Error });
      }
    }
    const written = await writeLocalObjects(
      options.data,
      ready.map((o) => ({ objectId: o.index, size: o.size, unitOffset: o.unitOffset, path: join(options.root, o.name) })),
      {
        datasetUnits: options.datasetUnits,
        chunkSize: options.chunkSize,
        direct: options.direct,
        fsync: options.fsync,
        signal: stop.signal,
      },
    );
    ready.forEach((o, i) => outcomes.set(o, written[i]!));
    const retry: LocalPlanned[] = [];
    const again: LocalPlanned[] = [];
    const delayMs = backoffMs(attempt + 1, options.retryBaseMs);
    for (const o of objects) {
      const r = outcomes.get(o)!;
      if (r.ok) options.onCommitted(o, r, attempt);
      else if (stop.signal.aborted && r.error === stop.signal.reason)
        continue; // removed by the abort
      else if (waits < MAX_RESOURCE_WAITS && isResourceExhausted(r.error)) again.push(o);
      else if (attempt < options.attempts && isTransient(r.error)) {
        retry.push(o);
        options.onRetry?.(o, r.error, attempt, delayMs);
      } else options.onFailed(o, r.error, attempt);
    }
    if (again.length > 0) {
      await sleep(resourceWaitMs(waits + 1), undefined, { signal: stop.signal }).catch(() => {});
      await run(again, attempt, waits + 1);
    }
    if (retry.length === 0) return;
    await sleep(delayMs, undefined, { signal: stop.signal }).catch(() => {});
    await run(retry, attempt + 1);
  };

  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort(error);
  };
  try {
    for (const batch of batches(plan, binding.poolInfo().threads)) {
      if (!stop.signal.aborted && !failure) await options.beforeBatch?.();
      if (stop.signal.aborted || failure) break;
      const p: Promise<void> = run(batch, 1).then(
        () => void inFlight.delete(p),
        (error: unknown) => {
          inFlight.delete(p);
          fail(error);
        },
      );
      inFlight.add(p);
      if (inFlight.size >= 2) await Promise.race(inFlight);
    }
  } catch (error) {
    fail(error); // the plan or beforeBatch threw
  } finally {
    await Promise.all(inFlight);
    options.signal.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
}

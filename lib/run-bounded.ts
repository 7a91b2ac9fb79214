/**
 * The bounded-concurrency runner put and verify share: items taken one at a time from a (lazy, possibly
 * async) iterable, at most `concurrency` tasks in flight, no new task launched once the run stops.
 * @module
 */
import { optionalBoolean, validateFunction, validateInteger, validateSignal } from './validators.js';

/** How one task ended. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Options of {@link runBounded}. */
export interface RunBoundedOptions {
  /** Most tasks in flight at once: a whole number >= 1. */
  concurrency: number;
  /** Stops launching: once aborted, no item is taken from the iterable and none already taken is launched;
   * the tasks in flight are awaited, not cancelled (pass the same signal into them to stop them). */
  signal?: AbortSignal;
  /** Stop launching at the first task that rejects (the tasks in flight are awaited). Default false: every
   * item is run and each rejection is recorded. */
  failFast?: boolean;
  /** Keep every task's outcome in {@link RunBoundedResult.settled}. Default true; false for runs whose
   * item count is unbounded (memory then stays O(concurrency)). */
  collect?: boolean;
}

/** What {@link runBounded} resolves to. */
export interface RunBoundedResult<R> {
  /** Each launched task's outcome at its launch index (the item's position in the iterable); empty when
   * `collect` is false. */
  settled: Settled<R>[];
  /** Tasks launched (= items taken and run). */
  launched: number;
  /** Tasks that rejected. */
  failed: number;
  /** The first task to reject (in time), with its launch index; undefined when none did. */
  firstError?: { index: number; error: unknown };
  /** The run stopped before the iterable ran out: `'abort'` (the signal) or `'fail-fast'`; undefined when
   * every item was run. */
  stopped?: 'abort' | 'fail-fast';
}

/**
 * Runs `task(item, index)` for the items of `items`, at most `concurrency` at once, launching them in the
 * iterable's order (index 0, 1, 2, ...). Items are taken lazily, one at a time (never two `next()` calls
 * at once, so an async generator is safe), only when a task slot is free.
 *
 * Errors:
 * - A task that rejects (or throws synchronously) does not reject the run: its error is recorded
 *   (`settled[index]`, `failed`, `firstError`). Without `failFast` the run goes on; with it, no further
 *   item is taken and the run resolves once the tasks in flight settle, `stopped: 'fail-fast'`.
 * - The iterable throwing (from `next()`) stops launching; the tasks in flight are awaited and the run
 *   then rejects with the iterable's error (a task's error is never thrown).
 * - An `AbortSignal` that aborts (or is aborted already) stops launching; the run resolves once the tasks
 *   in flight settle, with `stopped: 'abort'`. It never rejects with the signal's reason: whether an abort
 *   is an error is the caller's choice.
 * When the run stops before the iterable is done, the iterator's `return()` is called (a generator's
 * `finally` runs). The run resolves only after every task it launched has settled.
 * @throws TypeError / RangeError `ERR_DGEN_INVALID_OPTION` (synchronously checked, as a rejection) for a
 *   `concurrency` that is not a whole number >= 1, a `signal` that is not an AbortSignal, a non-boolean
 *   `failFast` / `collect`, or a `task` that is not a function.
 */
export async function runBounded<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  task: (item: T, index: number) => R | Promise<R>,
  options: RunBoundedOptions,
): Promise<RunBoundedResult<Awaited<R>>> {
  const concurrency = validateInteger('concurrency', options.concurrency, { min: 1 });
  const signal = validateSignal(options.signal);
  const failFast = optionalBoolean('failFast', options.failFast, false);
  const collect = optionalBoolean('collect', options.collect, true);
  validateFunction('task', task);
  const iterator: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();

  const result: RunBoundedResult<Awaited<R>> = { settled: [], launched: 0, failed: 0 };
  let exhausted = false;
  let sourceError: { error: unknown } | undefined;
  const stopping = (): boolean => {
    if (exhausted || sourceError !== undefined) return true;
    if (signal?.aborted) result.stopped ??= 'abort';
    else if (failFast && result.firstError) result.stopped ??= 'fail-fast';
    return result.stopped !== undefined;
  };

  // One next() at a time: each pull waits for the one before it.
  let pulls: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<T> | undefined> => {
    const next = pulls.then(async () => {
      if (stopping()) return undefined;
      try {
        const r = await iterator.next();
        if (r.done) exhausted = true;
        return r.done ? undefined : r;
      } catch (error) {
        sourceError ??= { error };
        return undefined;
      }
    });
    pulls = next;
    return next;
  };

  const slot = async (): Promise<void> => {
    for (;;) {
      const taken = await pull();
      // An item taken while the run stopped (the signal aborted during next()) is not launched.
      if (taken === undefined || stopping()) return;
      const index = result.launched++;
      try {
        const value = await task(taken.value, index);
        if (collect) result.settled[index] = { ok: true, value };
      } catch (error) {
        result.failed++;
        result.firstError ??= { index, error };
        if (collect) result.settled[index] = { ok: false, error };
      }
    }
  };

  await Promise.all(Array.from({ length: concurrency }, slot));
  if (!exhausted && sourceError === undefined) {
    try {
      await iterator.return?.();
    } catch (error) {
      sourceError = { error };
    }
  }
  if (sourceError) throw sourceError.error;
  return result;
}

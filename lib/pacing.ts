/**
 * A byte rate for sources that play a slow producer (an ETL feed, a client uploading at a set speed):
 * the bytes up to offset E are handed out no earlier than start + E / rate, so after any whole chunk the
 * average rate since the start is at most `rate`, and a consumer that keeps up sees exactly it. Waiting is
 * a timer, never a busy loop.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidRange } from './errors.js';
import { parseSize } from './params.js';

/**
 * Parses a rate in bytes per second: a positive number, or a size string with an optional `/s`
 * (`'100MiB'`, `'100MiB/s'`, `'1.5GB/s'`).
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` naming `parameter` when it is not a positive rate.
 */
export function parseRate(parameter: string, value: unknown): number {
  const text = typeof value === 'string' ? value.trim().replace(/\/s$/i, '') : value;
  let rate: number | undefined;
  if (typeof text === 'number') rate = Number.isFinite(text) ? text : undefined;
  else if (typeof text === 'string') {
    try {
      rate = parseSize(parameter, text, 'ERR_DGEN_INVALID_OPTION');
    } catch {
      rate = undefined;
    }
  }
  if (rate === undefined || !(rate > 0)) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      parameter,
      value,
      'a positive rate in bytes per second, e.g. 104857600 or "100MiB/s"',
    );
  }
  return rate;
}

/** Chunk size for a paced source when the user gave none: about a tenth of a second of data (a multiple
 * of 512 bytes, from 512 bytes to `max`), so the rate holds over short runs too. */
export function pacedChunkSize(rate: number, max: number): number {
  return Math.max(512, Math.min(max, Math.floor(rate / 10 / 512) * 512));
}

/** Times the hand-out of bytes at `rate` bytes per second from the first call of {@link Pacer.wait}. */
export class Pacer {
  readonly rate: number;
  #start: number | undefined;

  constructor(rate: number) {
    this.rate = rate;
  }

  /** Milliseconds to wait before the bytes up to `end` (counted from the first call) may go out. */
  delay(end: number): number {
    const now = performance.now();
    this.#start ??= now;
    return Math.max(0, this.#start + (end / this.rate) * 1000 - now);
  }

  /** Resolves when the bytes up to `end` may go out (at once when they are not early). */
  async wait(end: number, signal?: AbortSignal): Promise<void> {
    const ms = this.delay(end);
    if (ms > 0) await sleep(ms, undefined, signal ? { signal } : undefined);
  }
}

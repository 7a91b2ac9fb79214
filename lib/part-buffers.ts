/**
 * Reused part buffers for object-store uploads.
 *
 * Fresh memory is expensive (every new 4 KiB page faults when first written, ~13 us each on the
 * development VMs), so uploads that generate parts straight into memory take that memory from a
 * {@link PartBufferPool}: buffers of one size, allocated the first time they are needed (native memory,
 * 4 KiB-aligned, no page touched until it is written) and handed out again once returned. A buffer is
 * returned only after the request that sends it has settled (every retry of it included), so a buffer
 * is never refilled while it is being sent.
 * @module
 */
import { binding } from './native.js';
import { dgenError } from './errors.js';
import { validateInteger, validateSignal } from './validators.js';

/** Alignment of every pool buffer's memory: 4096 bytes (a page; generation runs fastest 64-byte aligned). */
export const PART_BUFFER_ALIGNMENT = 4096;

/** Options of {@link PartBufferPool}. */
export interface PartBufferPoolOptions {
  /** Most buffers the pool ever allocates; beyond it {@link PartBufferPool.acquire} waits for a
   * {@link PartBufferPool.release}. Default `Infinity`: as many as are in use at once (each upload takes
   * at most its part concurrency + 1), kept for reuse afterwards. */
  maxBuffers?: number;
}

/** Counters of a {@link PartBufferPool}. */
export interface PartBufferPoolStats {
  /** Buffers allocated so far (free + lent); never decreases except through `trim()`. */
  allocated: number;
  /** Buffers handed out and not yet returned. */
  lent: number;
  /** Buffers waiting in the pool to be handed out again. */
  free: number;
  /** Callers waiting in `acquire()` for a buffer. */
  waiting: number;
  /** Buffers handed out so far; `acquisitions - allocated` of them were reused. */
  acquisitions: number;
}

interface Waiter {
  resolve(buffer: Buffer): void;
  reject(reason: unknown): void;
  cleanup(): void;
}

/**
 * A pool of reusable buffers of `bufferSize` bytes. Share one per run (or per client) between every
 * upload of the run: memory is allocated once and reused, and the RSS it costs is only the pages ever
 * written. Waiters are served first come, first served; the most recently returned buffer is handed out
 * first (it is the warmest in the caches).
 */
export class PartBufferPool {
  /** Bytes of every buffer. */
  readonly bufferSize: number;
  /** Most buffers allocated at once (`Infinity`: no limit). */
  readonly maxBuffers: number;
  #free: Buffer[] = [];
  readonly #lent = new Set<Buffer>();
  #waiters: Waiter[] = [];
  #allocated = 0;
  #acquisitions = 0;

  /**
   * @param bufferSize - bytes per buffer, a whole number >= 1 (e.g. the S3 part size or Azure block size).
   * @throws RangeError `ERR_DGEN_INVALID_OPTION` (`parameter` `bufferSize` or `maxBuffers`) for a size
   *   under 1 byte or above 2^53 - 1, or a buffer count that is not a whole number >= 1 (or `Infinity`).
   */
  constructor(bufferSize: number, options: PartBufferPoolOptions = {}) {
    validateInteger('bufferSize', bufferSize, { min: 1, unit: ' of bytes' });
    const maxBuffers = options.maxBuffers ?? Infinity;
    if (maxBuffers !== Infinity) validateInteger('maxBuffers', maxBuffers, { min: 1 });
    this.bufferSize = bufferSize;
    this.maxBuffers = maxBuffers;
  }

  /** The pool's counters. */
  get stats(): PartBufferPoolStats {
    return {
      allocated: this.#allocated,
      lent: this.#lent.size,
      free: this.#free.length,
      waiting: this.#waiters.length,
      acquisitions: this.#acquisitions,
    };
  }

  #take(): Buffer | undefined {
    let buffer = this.#free.pop();
    if (buffer === undefined && this.#allocated < this.maxBuffers) {
      buffer = binding.allocAligned(this.bufferSize, PART_BUFFER_ALIGNMENT);
      this.#allocated++;
    }
    if (buffer !== undefined) {
      this.#lent.add(buffer);
      this.#acquisitions++;
    }
    return buffer;
  }

  /**
   * A buffer of `bufferSize` bytes (contents undefined) that nobody else holds until it is given back
   * with {@link release}: a free one, a new one while fewer than `maxBuffers` exist, else the next one
   * released (callers are served in the order they asked).
   * @param signal - stops waiting: the promise rejects with `signal.reason` and no buffer is taken.
   * @throws TypeError `ERR_DGEN_INVALID_OPTION` (synchronously) when signal is not an AbortSignal.
   */
  acquire(signal?: AbortSignal): Promise<Buffer> {
    validateSignal(signal);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ready = this.#waiters.length === 0 ? this.#take() : undefined;
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Gives a buffer back (the very Buffer {@link acquire} handed out, not a slice of it). Call it only once
   * nothing uses the buffer any more: for an upload, once the request sending it has settled.
   * @throws Error `ERR_DGEN_BUFFER_NOT_LENT` for a buffer this pool did not hand out, or one already
   *   given back.
   */
  release(buffer: Buffer): void {
    if (!this.#lent.delete(buffer)) {
      throw dgenError(
        'ERR_DGEN_BUFFER_NOT_LENT',
        'release: this buffer was not handed out by this pool, or was already released',
      );
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.cleanup();
      this.#lent.add(buffer);
      this.#acquisitions++;
      waiter.resolve(buffer);
    } else {
      this.#free.push(buffer);
    }
  }

  /** Drops the free buffers (their memory is freed when they are garbage-collected); buffers lent out
   * stay valid and come back as usual. */
  trim(): void {
    this.#allocated -= this.#free.length;
    this.#free = [];
  }
}

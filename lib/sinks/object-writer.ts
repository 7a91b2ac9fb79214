/**
 * The object-writer contract shared by every sink (file now; S3 and Azure Blob build on it).
 *
 * A sink is a `Writable`:
 * - `write()` honours backpressure; `end()` finalizes (commits) the object; `destroy(err)`, an error
 *   from upstream under `pipeline`, or the `signal` aborts it: nothing half-written is ever visible at
 *   the destination, and a failure of the cleanup never hides the original error.
 * - Counters: `bytesWritten` (bytes accepted, before compression), `compressedBytes`, `compressionRatio`.
 * - Integrity: `crc32c` of all bytes accepted (CRC-32C/Castagnoli, by `@node-rs/crc32`).
 * - `result()`: a promise of {@link ObjectWriteResult} once the object is committed, rejected if it is not.
 *
 * Subclasses implement three steps: `_writeBytes` (store accepted bytes), `_commit` (make the object
 * visible, return its URI and stored size), `_abort` (remove every trace). The base keeps the counters,
 * the checksum and the state machine, so every backend behaves the same.
 * @module
 */
import { Writable } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import { invalidType } from '../errors.js';

/** What a sink reports once the object is committed. */
export interface ObjectWriteResult {
  /** Where the object is, e.g. `file:///data/obj-000000.bin`. */
  uri: string;
  /** Bytes accepted (the object's logical size, before compression). */
  size: number;
  /** Bytes stored at the destination (equal to size without compression). */
  compressedSize: number;
  /** CRC-32C of the bytes accepted, as 8 lowercase hex digits. */
  crc32c: string;
  /** Backend version tag (S3 ETag, Azure ETag) where the backend returns one. */
  etag?: string;
}

/** Options every sink takes. */
export interface ObjectWriterOptions {
  /** Aborts the write: the sink is destroyed with an `AbortError` and the destination is left untouched. */
  signal?: AbortSignal;
  /** Bytes the sink buffers before `write()` returns false (backpressure). Default 16 MiB. */
  highWaterMark?: number;
}

/** Formats a CRC-32C value as 8 lowercase hex digits. */
export function formatCrc32c(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** Base class of every sink; see the module documentation for the contract. */
export abstract class ObjectWriter extends Writable {
  #bytesWritten = 0;
  #crc = 0;
  #result: ObjectWriteResult | undefined;
  #failure: Error | undefined;

  constructor(options: ObjectWriterOptions = {}) {
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw invalidType('ERR_DGEN_INVALID_OPTION', 'signal', options.signal, 'an AbortSignal');
    }
    super({ highWaterMark: options.highWaterMark ?? 16 * 1024 * 1024, signal: options.signal, decodeStrings: true });
  }

  /** Bytes accepted so far (before compression). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }
  /** Bytes stored so far (after compression, if any). */
  abstract get compressedBytes(): number;
  /** bytesWritten / compressedBytes (1 when nothing was written). */
  get compressionRatio(): number {
    return this.compressedBytes === 0 ? 1 : this.bytesWritten / this.compressedBytes;
  }
  /** CRC-32C of the bytes accepted so far (unsigned 32-bit integer). */
  get crc32c(): number {
    return this.#crc >>> 0;
  }

  /** Stores accepted bytes; called in order, one at a time. */
  protected abstract _writeBytes(chunk: Buffer): Promise<void>;
  /** Makes the object visible at its destination. */
  protected abstract _commit(): Promise<{ uri: string; compressedSize: number; etag?: string }>;
  /** Removes every trace of an uncommitted object. Must not throw for "nothing to remove". */
  protected abstract _abort(reason: Error | null): Promise<void>;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#crc = crc32c(chunk, this.#crc);
    this.#bytesWritten += chunk.length;
    this._writeBytes(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this._commit().then(
      (done) => {
        this.#result = { uri: done.uri, size: this.#bytesWritten, compressedSize: done.compressedSize, crc32c: formatCrc32c(this.#crc) };
        if (done.etag !== undefined) this.#result.etag = done.etag;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.#failure ??= error;
    if (this.#result) {
      callback(error);
      return;
    }
    // Not committed: abort. The original error wins over a failure of the cleanup, which is attached.
    this._abort(error).then(
      () => callback(error),
      (abortError: Error) => {
        if (error) {
          (error as Error & { abortError?: Error }).abortError = abortError;
          callback(error);
        } else {
          this.#failure ??= abortError;
          callback(abortError);
        }
      },
    );
  }

  /**
   * Resolves once the object is committed (after `end()`). Rejects once an aborted object has been
   * cleaned up, with the error that stopped it, or `ERR_STREAM_PREMATURE_CLOSE` after a plain
   * `destroy()`. Await it rather than `pipeline()` to know the destination is in its final state:
   * `pipeline()` rejects as soon as a stream fails, before the sink has finished removing its traces.
   */
  result(): Promise<ObjectWriteResult> {
    const settle = (): Promise<ObjectWriteResult> | undefined => {
      if (this.#result && this.writableFinished) return Promise.resolve(this.#result);
      // A failed or destroyed sink settles once its cleanup is over ('close').
      if (this.closed) return Promise.reject(this.#failure ?? prematureClose());
      return undefined;
    };
    return (
      settle() ??
      new Promise((resolve, reject) => {
        const done = () => {
          this.off('finish', done);
          this.off('close', done);
          settle()?.then(resolve, reject);
        };
        this.on('finish', done);
        this.on('close', done);
      })
    );
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('the object was not committed: the sink was destroyed before end()'), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });
}

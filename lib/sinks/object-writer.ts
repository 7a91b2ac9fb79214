/**
 * The object-writer contract shared by every sink (file, direct I/O, S3, Azure Blob).
 *
 * A sink is a `Writable`:
 * - `write()` honours backpressure; `end()` finalizes (commits) the object; `destroy(err)`, an error
 *   from upstream under `pipeline`, or the `signal` aborts it: nothing half-written is ever visible at
 *   the destination, and a failure of the cleanup never hides the original error (it is attached as
 *   `abortError`). The input ending is not enough to commit: only `end()` commits.
 * - Counters: `bytesWritten` (bytes accepted, before compression), `compressedBytes` (bytes stored),
 *   `compressionRatio`.
 * - Integrity: `crc32c` of all bytes accepted (CRC-32C/Castagnoli, by the addon: Intel ISA-L's
 *   `crc32_iscsi` where it was built with libisal, a table-driven fallback otherwise); backends add
 *   their own checksum of what they store where the protocol has one.
 * - Compression: with `compression: 'zstd' | 'gzip'` the sink compresses inside itself, so the CRC-32C
 *   covers the uncompressed bytes and the backend's checksum the stored ones.
 * - `result()`: a promise of {@link ObjectWriteResult} once the object is committed, rejected (after
 *   cleanup) if it is not.
 *
 * Subclasses implement `_open` (optional), `_writeBytes` (store bytes), `_commit` (make the object
 * visible) and `_abort` (remove every trace). The base keeps the counters, the checksum, the compression
 * and the state machine, so every backend behaves the same.
 * @module
 */
import { Writable, addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { binding } from '../native.js';
import { kChunkProgress, type ChunkProgress } from '../chunk-recycling.js';
import { dgenError, type DgenRuntimeError } from '../errors.js';
import { createCompressor, parseCompression, type CodecTransform, type CompressionSpec } from '../compression.js';
import type { SizeInput } from '../params.js';
import { optionKeys } from '../option-keys.js';
import { validateSignal } from '../validators.js';
import { MAX_HIGH_WATER_MARK, sizeOption } from './sink-options.js';

/** A checksum computed by the backend (or for it) over the stored bytes. */
export interface BackendChecksum {
  /** e.g. `CRC32C` (S3), `MD5` (Azure). */
  algorithm: string;
  /** As the backend spells it (base64 for S3 and Azure). */
  value: string;
}

/** What a sink reports once the object is committed. */
export interface ObjectWriteResult {
  /** Where the object is, e.g. `file:///data/obj-000000.bin`, `s3://bucket/key`. */
  uri: string;
  /** Bytes accepted (the object's logical size, before compression). */
  size: number;
  /** Bytes stored at the destination (equal to size without compression). */
  compressedSize: number;
  /** CRC-32C of the bytes accepted (uncompressed), as 8 lowercase hex digits. */
  crc32c: string;
  /** The backend's checksum of the stored bytes, where it has one. */
  backendChecksum?: BackendChecksum;
  /** Backend version tag (S3 or Azure ETag) where the backend returns one. */
  etag?: string;
  /** Backend version id (S3 versioned buckets, Azure blob versioning) where it returns one. */
  versionId?: string;
}

/** What a backend's `_commit` reports. */
export interface CommitInfo {
  uri: string;
  backendChecksum?: BackendChecksum;
  etag?: string;
  versionId?: string;
}

/** Options every sink takes. */
export interface ObjectWriterOptions {
  /** Aborts the write: the sink is destroyed with an `AbortError` and the destination is left untouched. */
  signal?: AbortSignal;
  /** Bytes the sink buffers before `write()` returns false (backpressure): a number or a size string such as
   * `'8MiB'`, from 1 byte to 2 GiB - 1. Default 16 MiB. */
  highWaterMark?: SizeInput;
  /** Compress inside the sink: `"zstd"`, `"gzip"`, `"zstd:19"`, `{ algorithm, level }`. Default none. */
  compression?: string | Partial<CompressionSpec>;
}

/** The keys of {@link ObjectWriterOptions} as a record, spread into every sink's key list (each key named once). */
export const OBJECT_WRITER_KEYS = { signal: true, highWaterMark: true, compression: true } as const;

/** The keys of {@link ObjectWriterOptions} (every sink takes them). */
export const OBJECT_WRITER_OPTION_KEYS = optionKeys<ObjectWriterOptions>(OBJECT_WRITER_KEYS);

/** Default `highWaterMark` of a sink: 16 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 16 * 1024 * 1024;

/** Formats a CRC-32C value as 8 lowercase hex digits. */
export function formatCrc32c(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** Wraps a backend failure so that its message names the backend and the object. `code`:
 * `ERR_DGEN_BACKEND`; the original error is `cause`. */
export function backendError(backend: string, uri: string, action: string, cause: unknown): DgenRuntimeError {
  const reason = cause instanceof Error ? cause.message || cause.name : String(cause);
  return dgenError('ERR_DGEN_BACKEND', `${backend}: ${action} ${uri} failed: ${reason}`, cause);
}

/** Base class of every sink; see the module documentation for the contract. */
export abstract class ObjectWriter extends Writable {
  /** The compression applied inside the sink (`algorithm: 'none'` when off). */
  readonly compression: CompressionSpec;
  #bytesWritten = 0;
  #stored = 0;
  #crc = 0;
  #compressor: CodecTransform | undefined;
  #compressed: Promise<void> | undefined;
  #result: ObjectWriteResult | undefined;
  #failure: Error | undefined;
  #acknowledged = 0;

  /** @throws TypeError `ERR_DGEN_INVALID_OPTION` for a signal that is not an AbortSignal; TypeError /
   *   RangeError `ERR_DGEN_INVALID_OPTION` for a `highWaterMark` that is not a size from 1 byte to 2 GiB - 1;
   *   `ERR_DGEN_INVALID_COMPRESSION` for a bad compression option. */
  constructor(options: ObjectWriterOptions = {}) {
    validateSignal(options.signal);
    const highWaterMark =
      sizeOption(options as Record<string, unknown>, 'highWaterMark', 1, MAX_HIGH_WATER_MARK) ?? DEFAULT_HIGH_WATER_MARK;
    const compression = parseCompression(options.compression);
    super({ highWaterMark, decodeStrings: true });
    this.compression = compression;
    // Attached here rather than through super(): a signal already aborted destroys the stream at once,
    // and this class's fields must exist by then to record why.
    if (options.signal) addAbortSignal(options.signal, this);
  }

  /** Bytes accepted so far (before compression). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }
  /** Bytes stored so far (after compression, if any). */
  get compressedBytes(): number {
    return this.#stored;
  }
  /** bytesWritten / compressedBytes (1 when nothing was stored). */
  get compressionRatio(): number {
    return this.#stored === 0 ? 1 : this.#bytesWritten / this.#stored;
  }
  /** CRC-32C of the bytes accepted so far (unsigned 32-bit integer). */
  get crc32c(): number {
    return this.#crc >>> 0;
  }

  /** Whether `_writeBytes` is done with a chunk's memory once it resolves (the bytes are in the file, or
   * copied). Sinks that keep references to chunks after that (queued for an upload) leave it false. */
  protected get releasesChunks(): boolean {
    return false;
  }

  /** Bytes acknowledged (write callback fired) and released (memory no longer referenced), for sources
   * that reuse chunk memory (see chunk-recycling.ts); undefined when this sink cannot tell. */
  [kChunkProgress](): ChunkProgress | undefined {
    const compressor = this.#compressor;
    if (!compressor) return this.releasesChunks ? { acknowledged: this.#acknowledged, released: this.#acknowledged } : undefined;
    const released = (compressor as unknown as { bytesReleased?: unknown }).bytesReleased;
    return typeof released === 'number' ? { acknowledged: this.#acknowledged, released } : undefined;
  }

  /** Prepares the destination (open a file, create a client). Default: nothing. */
  protected async _open(): Promise<void> {}
  /** Stores bytes (compressed, if compression is on); called in order, one call at a time. */
  protected abstract _writeBytes(chunk: Buffer): Promise<void>;
  /** Makes the object visible at its destination. */
  protected abstract _commit(): Promise<CommitInfo>;
  /** Removes every trace of an uncommitted object. Must not throw for "nothing to remove". */
  protected abstract _abort(reason: Error | null): Promise<void>;

  #store(chunk: Buffer): Promise<void> {
    this.#stored += chunk.length;
    return this._writeBytes(chunk);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    // Destroyed before construction started (a signal already aborted when the sink was made: Writable
    // destroys at once, and its cleanup ran with nothing to remove): create nothing.
    if (this.destroyed) {
      callback();
      return;
    }
    this._open().then(() => {
      if (this.compression.algorithm !== 'none') {
        const compressor = createCompressor(this.compression);
        let stored = 0; // compressed bytes whose _writeBytes has resolved
        const store = new Writable({
          write: (chunk: Buffer, _e, cb) =>
            void this.#store(chunk).then(() => {
              stored += chunk.length;
              cb();
            }, cb),
        });
        // A sink done with each chunk once it is stored tells the compressor so, which then compresses into
        // output memory already stored instead of fresh memory (compression.ts; fewer full GCs).
        if (this.releasesChunks) {
          Object.defineProperty(store, kChunkProgress, {
            value: (): ChunkProgress => ({ acknowledged: stored, released: stored }),
          });
        }
        this.#compressor = compressor;
        this.#compressed = pipeline(compressor, store);
        this.#compressed.catch((err: Error) => this.destroy(err));
      }
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#crc = binding.crc32c(chunk, this.#crc);
    this.#bytesWritten += chunk.length;
    const compressor = this.#compressor;
    const acknowledge = () => {
      this.#acknowledged += chunk.length;
      callback();
    };
    if (!compressor) {
      this.#store(chunk).then(acknowledge, callback);
    } else if (compressor.write(chunk)) {
      acknowledge();
    } else {
      compressor.once('drain', acknowledge);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const compressed = this.#compressor ? (this.#compressor.end(), this.#compressed!) : Promise.resolve();
    compressed
      .then(() => this._commit())
      .then(
        (done) => {
          this.#result = {
            uri: done.uri,
            size: this.#bytesWritten,
            compressedSize: this.#stored,
            crc32c: formatCrc32c(this.#crc),
            ...(done.backendChecksum && { backendChecksum: done.backendChecksum }),
            ...(done.etag !== undefined && { etag: done.etag }),
            ...(done.versionId !== undefined && { versionId: done.versionId }),
          };
          callback();
        },
        (err: Error) => callback(err),
      );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.#failure ??= error;
    this.#compressor?.destroy();
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
          // destroy() without an error asked for no 'error' event: result() reports the cleanup failure.
          this.#failure ??= abortError;
          callback(null);
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

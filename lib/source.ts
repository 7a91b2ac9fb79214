/**
 * Node `Readable` data source.
 *
 * Built on Node's own `stream.Readable` rather than streamx: streamx streams are not `instanceof
 * Readable`, and `Readable.toWeb()` rejects them (`init.highWaterMark is required`, measured with streamx
 * 2.28 on Node 20), while users of this package pipe into `stream.pipeline`, `Readable.toWeb` and
 * SDKs that check for Node streams. Node's Readable already counts its buffer in bytes and takes an
 * `AbortSignal`.
 * @module
 */
import { Readable } from 'node:stream';
import { DataGenerator } from './generator.js';
import { invalidType } from './errors.js';
import { parseSectorMultiple, type GeneratorOptions } from './params.js';

/** Default chunk size: 4 MiB, large enough to amortize per-chunk costs, small enough for the CPU cache. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
/** Largest chunk size accepted: 256 MiB. */
export const MAX_CHUNK_SIZE = 256 * 1024 * 1024;

/** Options of {@link DataSource} and of the Web stream source. */
export interface SourceOptions extends GeneratorOptions {
  /** Bytes per chunk handed downstream (the last chunk may be shorter): a multiple of 512, default 4 MiB. */
  chunkSize?: number | string;
  /** Bytes the stream buffers ahead of the consumer (generation runs ahead up to this): a multiple of
   * 512, default 2 x chunkSize, so one chunk is generated while the consumer handles the previous. */
  highWaterMark?: number | string;
  /** Aborts the stream: it is destroyed with an `AbortError`. */
  signal?: AbortSignal;
}

/** Validated chunk size and high-water mark.
 * @throws RangeError `ERR_DGEN_INVALID_CHUNK_SIZE` for either when not a multiple of 512 up to 256 MiB. */
export function parseChunking(options: Pick<SourceOptions, 'chunkSize' | 'highWaterMark'>): { chunkSize: number; highWaterMark: number } {
  const chunkSize =
    options.chunkSize === undefined
      ? DEFAULT_CHUNK_SIZE
      : parseSectorMultiple('chunkSize', options.chunkSize, 'ERR_DGEN_INVALID_CHUNK_SIZE', MAX_CHUNK_SIZE);
  const highWaterMark =
    options.highWaterMark === undefined
      ? 2 * chunkSize
      : parseSectorMultiple('highWaterMark', options.highWaterMark, 'ERR_DGEN_INVALID_CHUNK_SIZE', 4 * MAX_CHUNK_SIZE);
  return { chunkSize, highWaterMark };
}

/**
 * A `Readable` of exactly `size` bytes of generated data, in chunks of `chunkSize` bytes (the last one
 * may be shorter). Generation of large chunks runs on worker threads while the consumer works; memory
 * stays under highWaterMark + chunkSize whatever the size. Honours backpressure, `destroy()` and
 * `signal`.
 *
 * @example
 * ```ts
 * await pipeline(new DataSource({ size: '1GiB', compressRatio: 3 }), createWriteStream('out.bin'));
 * ```
 */
export class DataSource extends Readable {
  /** The generator behind the stream (seed, layout, realized dedup ratio). */
  readonly generator: DataGenerator;
  /** Bytes per chunk. */
  readonly chunkSize: number;
  #offset = 0;
  #generating = false;

  /**
   * @throws the errors of {@link DataGenerator} and of {@link parseChunking}; TypeError
   *   `ERR_DGEN_INVALID_OPTION` when signal is not an AbortSignal.
   */
  constructor(options: SourceOptions) {
    const generator = new DataGenerator(options);
    const { chunkSize, highWaterMark } = parseChunking(options);
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw invalidType('ERR_DGEN_INVALID_OPTION', 'signal', options.signal, 'an AbortSignal');
    }
    super({ highWaterMark, signal: options.signal });
    this.generator = generator;
    this.chunkSize = chunkSize;
  }

  /** Bytes generated and pushed so far. */
  get bytesGenerated(): number {
    return this.#offset;
  }

  override _read(): void {
    if (this.#generating) return;
    const remaining = this.generator.size - this.#offset;
    if (remaining === 0) {
      this.push(null);
      return;
    }
    const chunk = Buffer.allocUnsafe(Math.min(this.chunkSize, remaining));
    const offset = this.#offset;
    this.#offset += chunk.length;
    this.#generating = true;
    this.generator.fill(chunk, offset).then(
      () => {
        this.#generating = false;
        if (this.destroyed) return;
        // push() returns whether to go on; Readable calls _read again when the consumer wants more.
        if (this.push(chunk) && this.#offset === this.generator.size) this.push(null);
      },
      (err: Error) => this.destroy(err),
    );
  }
}

/** Shorthand for `new DataSource(options)`. */
export function createDataSource(options: SourceOptions): DataSource {
  return new DataSource(options);
}

/**
 * The data generator: an object's bytes as a pure function of (parameters, byte offset).
 * @module
 */
import { getSystemErrorMap } from 'node:util';
import { binding, type NativeGenerator } from './native.js';
import { Pacer, pacedChunkSize, parseRate } from './pacing.js';
import { invalidRange, invalidType } from './errors.js';
import { validateInteger, validateSignal } from './validators.js';
import { layoutCompressRatio } from './ratio-codec.js';
import {
  GENERATOR_OPTION_KEYS,
  MAX_CHUNK_SIZE,
  parseGeneratorOptions,
  parseSectorMultiple,
  type GeneratorConfig,
  type GeneratorOptions,
} from './params.js';
import { checkOptionKeys } from './option-keys.js';

/** Fills at or below this many bytes run on the calling thread even through the async API: handing them
 * to a worker thread costs more than generating them. */
export { SYNC_FILL_LIMIT } from './limits.js';
import { SYNC_FILL_LIMIT } from './limits.js';

/** Default bytes each worker generates per write in {@link DataGenerator.writeToFd}: 4 MiB, which stays
 * in the CPU cache between being generated and being written. */
export const DEFAULT_WRITE_CHUNK = 4 * 1024 * 1024;

/** Options of {@link DataGenerator.writeToFd}. */
export interface WriteToFdOptions {
  /** Byte offset in the object where writing starts; default 0. */
  offset?: number;
  /** Bytes to write; default the rest of the object from `offset`. */
  length?: number;
  /** Bytes per write(2) call and per worker buffer: a multiple of 512 up to 256 MiB, or a size string;
   * default {@link DEFAULT_WRITE_CHUNK}. */
  chunkSize?: number | string;
  /** Stops the run: the workers stop before their next chunk (or their next wait on a non-blocking
   * descriptor) and the promise rejects with `signal.reason`. A write(2) already blocked in the kernel on
   * a blocking descriptor finishes first. */
  signal?: AbortSignal;
  /** Writes at this rate, in bytes per second (a number or a size string with an optional `/s`): the run
   * is cut into pieces of about a tenth of a second, each written by the workers as usual, and the piece
   * ending at byte E starts no earlier than E / rate seconds after the call. Default: as fast as the
   * descriptor takes it. */
  rate?: number | string;
}

/** A failed write in {@link DataGenerator.writeToFd}: a Node system error (`code` such as `EPIPE`, negative
 * `errno`, `syscall` 'write') that also says how many bytes were written before it. */
export interface FdWriteError extends Error {
  code: string;
  errno: number;
  syscall: 'write';
  fd: number;
  bytesWritten: number;
}

/** The keystream kernels this CPU can run, slowest first (`"scalar"` always, then `"avx2"`, `"avx512"`). */
export function availableKernels(): string[] {
  return binding.kernels();
}

/** Everything that determines one object's bytes, in JSON-safe form (seed and objectId as decimal strings;
 * datasetUnits and unitOffset only in dataset scope). */
export interface ObjectSpec {
  seed: string;
  objectId: string;
  size: number;
  dedupRatio: number;
  compressRatio: number;
  /** The named codec `compressRatio` is calibrated for (canonical form); absent: none. */
  ratioCodec?: string;
  dedupUnit: number;
  datasetUnits?: number;
  unitOffset?: number;
}

/**
 * Generates the bytes of one object.
 *
 * Layout (see cpp/layout.h): the object is cut into n = ceil(size / dedupUnit) units; K = max(1, round(n /
 * dedupRatio)) are unique and the others are byte-exact copies of them, scattered by a keyed permutation.
 * Inside a unit every 512-byte sector begins with keystream bytes (xoshiro256++, seeded per unique unit
 * from a hash of seed, object identity and unit index) and ends with zeros, in the proportion that makes
 * real compressors measure `compressRatio` (with `ratioCodec`, exactly the named codec: see
 * lib/ratio-codec.ts).
 *
 * Any byte range can be generated on its own, in any order, on any thread: the result is the same as
 * generating the whole object at once.
 */
export class DataGenerator {
  /** The validated parameters (seed as bigint). */
  readonly config: Readonly<GeneratorConfig>;
  readonly #native: NativeGenerator;

  /**
   * @param options - see {@link GeneratorOptions}; `size` is required.
   * @throws RangeError/TypeError with the codes listed in {@link parseGeneratorOptions}, and
   *   `ERR_DGEN_INVALID_OPTION` for a kernel this CPU cannot run.
   */
  constructor(options: GeneratorOptions) {
    const config = parseGeneratorOptions(options);
    const kernels = binding.kernels();
    if (config.kernel !== 'auto' && !kernels.includes(config.kernel)) {
      throw invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        'kernel',
        config.kernel,
        `"auto" or one of ${kernels.join(', ')} on this CPU`,
      );
    }
    this.config = Object.freeze(config);
    this.#native = new binding.Generator({
      seed: config.seed,
      objectId: config.objectId,
      size: config.size,
      unitBytes: config.dedupUnit,
      dedupRatio: config.dedupRatio,
      // With a named codec, the layout ratio that makes that codec measure compressRatio (once per object).
      compressRatio: layoutCompressRatio(config.compressRatio, config.ratioCodec),
      kernel: config.kernel,
      ...(config.threads !== 0 && { threads: config.threads }),
      ...(config.datasetUnits !== 0 && { datasetUnits: config.datasetUnits, unitOffset: config.unitOffset }),
    });
  }

  /** Object size in bytes. */
  get size(): number {
    return this.config.size;
  }
  /** The seed (64 bits), given or drawn at random. */
  get seed(): bigint {
    return this.config.seed;
  }
  /** n: dedup units in the object (the last may be partial). */
  get units(): number {
    return this.#native.units;
  }
  /** K: unique dedup units in the object. */
  get uniqueUnits(): number {
    return this.#native.uniqueUnits;
  }
  /** The dedup ratio the object really has, n / K (1 for an empty object); in dataset scope, the data
   * set's N / K. It differs from the requested one by rounding, noticeably on few units. */
  get realizedDedupRatio(): number {
    const span = this.config.datasetUnits || this.units;
    return span === 0 ? 1 : span / this.uniqueUnits;
  }
  /** Keystream bytes per 512-byte sector (the rest is compressible filler), after calibration. */
  get randomBytesPerSector(): number {
    return this.#native.randomBytesPerSector;
  }
  /** The keystream kernel in use (`"scalar"`, `"avx2"` or `"avx512"`). */
  get kernel(): string {
    return this.#native.kernel;
  }
  /** Threads a large fill is split over. */
  get threads(): number {
    return this.#native.threads;
  }
  /** Which unique unit dedup unit `unit` (0 <= unit < units) is a copy of. */
  uniqueUnitOf(unit: number): number {
    return this.#native.uniqueOf(unit);
  }

  /** The JSON-safe description from which the object can be generated again. */
  spec(): ObjectSpec {
    const c = this.config;
    return {
      seed: c.seed.toString(),
      objectId: c.objectId.toString(),
      size: c.size,
      dedupRatio: c.dedupRatio,
      compressRatio: c.compressRatio,
      ...(c.ratioCodec !== undefined && { ratioCodec: c.ratioCodec }),
      dedupUnit: c.dedupUnit,
      ...(c.datasetUnits !== 0 && { datasetUnits: c.datasetUnits, unitOffset: c.unitOffset }),
    };
  }

  #checkOffset(offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.size) {
      throw invalidRange('ERR_DGEN_INVALID_OFFSET', 'offset', offset, `an integer from 0 to the object size (${this.size})`);
    }
  }

  #check(target: ArrayBufferView, offset: number): void {
    if (!ArrayBuffer.isView(target)) {
      throw invalidType('ERR_DGEN_INVALID_TARGET', 'target', target, 'a Buffer, TypedArray or DataView');
    }
    this.#checkOffset(offset);
    if (target.byteLength > this.size - offset) {
      throw invalidRange(
        'ERR_DGEN_INVALID_TARGET',
        'target.byteLength',
        target.byteLength,
        `at most size - offset = ${this.size - offset} bytes (the object ends there)`,
      );
    }
  }

  /**
   * Writes the object's bytes [offset, offset + target.byteLength) into target. Fills of 1 MiB and more are
   * split over the worker pool (the calling thread waits and helps); smaller ones run on the calling thread.
   * @param target - the caller's memory (zero-copy): Buffer, any TypedArray or DataView.
   * @param offset - byte offset in the object; default 0.
   * @returns the number of bytes written (target.byteLength).
   * @throws TypeError `ERR_DGEN_INVALID_TARGET`; RangeError `ERR_DGEN_INVALID_OFFSET` or
   *   `ERR_DGEN_INVALID_TARGET` when the range does not lie inside the object.
   */
  fillSync(target: ArrayBufferView, offset = 0): number {
    this.#check(target, offset);
    return this.#native.fillSync(target, offset);
  }

  /**
   * Like {@link fillSync}, but fills larger than {@link SYNC_FILL_LIMIT} run on the addon's worker threads
   * (split over `threads` of them), leaving the event loop free. Do not touch target until the promise
   * settles.
   * @returns a promise of the number of bytes written. Throws (synchronously) as {@link fillSync}.
   */
  fill(target: ArrayBufferView, offset = 0): Promise<number> {
    this.#check(target, offset);
    if (target.byteLength <= SYNC_FILL_LIMIT) return Promise.resolve(this.#native.fillSync(target, offset));
    return this.#native.fill(target, offset);
  }

  /**
   * Writes the object's bytes [offset, offset + length) to an open file descriptor (a file, a pipe, a
   * socket or a device), in order, without passing through JavaScript: each worker of the pool (at most
   * the generator's `threads`, when set) fills its own reused chunk buffer and writes it when the chunk before it has been written, so generation on all
   * cores overlaps the writes and memory stays at one chunk per worker. The event loop stays free.
   * Descriptors in non-blocking mode are waited on with poll(). The descriptor's file position moves as
   * with write(2); keep fd open until the promise settles.
   * @param fd - an open descriptor, e.g. 1 for standard output.
   * @returns a promise of the bytes written (length).
   * @throws TypeError or RangeError `ERR_DGEN_INVALID_OPTION` for a bad fd (not a whole number from 0 to 2^31 - 1), `ERR_DGEN_INVALID_OFFSET` /
   *   `ERR_DGEN_INVALID_TARGET` for a range outside the object, `ERR_DGEN_INVALID_CHUNK_SIZE` for a bad
   *   chunkSize, TypeError `ERR_DGEN_INVALID_OPTION` when signal is not an AbortSignal (synchronously);
   *   the promise rejects with an {@link FdWriteError} when a write fails (for example `EPIPE` when the
   *   reader of a pipe went away, `ENOSPC`), and with `signal.reason` when the signal aborts it.
   */
  writeToFd(fd: number, options: WriteToFdOptions = {}): Promise<number> {
    validateInteger('fd', fd, { max: 0x7fffffff });
    const offset = options.offset ?? 0;
    this.#checkOffset(offset);
    const length = options.length ?? this.size - offset;
    if (!Number.isSafeInteger(length) || length < 0 || length > this.size - offset) {
      throw invalidRange(
        'ERR_DGEN_INVALID_TARGET',
        'length',
        length,
        `an integer from 0 to size - offset = ${this.size - offset}`,
      );
    }
    const chunkSize =
      options.chunkSize === undefined
        ? DEFAULT_WRITE_CHUNK
        : parseSectorMultiple('chunkSize', options.chunkSize, 'ERR_DGEN_INVALID_CHUNK_SIZE', MAX_CHUNK_SIZE);
    const signal = validateSignal(options.signal);
    const rate = options.rate === undefined ? undefined : parseRate('rate', options.rate);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (length === 0) return Promise.resolve(0);
    if (rate !== undefined) return this.#writeToFdPaced(fd, offset, length, chunkSize, rate, signal);
    // The workers look at this byte between chunks; the abort listener sets it.
    const cancel = signal ? new Uint8Array(1) : undefined;
    const onAbort = () => (cancel![0] = 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    return this.#native.writeToFd(fd, offset, length, chunkSize, cancel).then(({ bytesWritten, errno }) => {
      signal?.removeEventListener('abort', onAbort);
      if (errno === 0) return bytesWritten; // done before the abort took effect
      if (signal?.aborted) throw signal.reason;
      const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
      const err = new Error(`write to fd ${fd} failed after ${bytesWritten} bytes: ${code} (${description})`) as FdWriteError;
      throw Object.assign(err, { code, errno: -errno, syscall: 'write' as const, fd, bytesWritten });
    });
  }

  /** writeToFd in pieces of about a tenth of a second of data, each released by a {@link Pacer}. */
  async #writeToFdPaced(
    fd: number,
    offset: number,
    length: number,
    chunkSize: number,
    rate: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const piece = pacedChunkSize(rate, 64 * 1024 * 1024);
    const pacer = new Pacer(rate);
    let done = 0;
    while (done < length) {
      const n = Math.min(piece, length - done);
      // The piece ending at done + n goes out once its bytes are due.
      await pacer.wait(done + n, signal);
      try {
        done += await this.writeToFd(fd, {
          offset: offset + done,
          length: n,
          chunkSize: Math.min(chunkSize, piece),
          ...(signal && { signal }),
        });
      } catch (err) {
        if (err && typeof err === 'object' && 'bytesWritten' in err) (err as FdWriteError).bytesWritten += done;
        throw err;
      }
    }
    return done;
  }

  /** The whole object in a new Buffer (off the main thread when large). Mind memory for large objects:
   * stream them instead (see `DataSource`). */
  async generate(): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(this.size);
    await this.fill(buf, 0);
    return buf;
  }

  /** The whole object in a new Buffer, on the calling thread. */
  generateSync(): Buffer {
    const buf = Buffer.allocUnsafe(this.size);
    this.fillSync(buf, 0);
    return buf;
  }
}

/**
 * `new DataGenerator(options)`, after checking that `options` has no key other than those of
 * {@link GeneratorOptions}.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` for an unknown key (naming it, with the closest known key
 *   when one is close); the errors of `new DataGenerator(options)`.
 */
export function createGenerator(options: GeneratorOptions): DataGenerator {
  checkOptionKeys(options, GENERATOR_OPTION_KEYS, 'generator options');
  return new DataGenerator(options);
}

/**
 * Compression and decompression `Transform`s (zstd, gzip) that count bytes in and out.
 *
 * Compressors are native (cpp/codecs.cc), on the addon's worker pool: zstd from libzstd; gzip from Intel
 * ISA-L igzip at levels 1 to 3, libdeflate at 4 to 9, and zlib where the build lacks either (Debian
 * packages found with pkg-config, see CMakeLists.txt). Measured on 2 cores (benchmarks/compression.ts,
 * c = 2 data, one core each): ISA-L level 1 0.45-0.5 GB/s, libdeflate level 1 0.15-0.18, zlib level 1
 * 0.08; libdeflate level 6 0.10-0.15, zlib level 6 0.06; same compression ratio within 1%. The event loop
 * only copies small chunks into block buffers and pushes the results.
 *
 * Decompressors: gzip from `node:zlib`; zstd native on every runtime: libzstd's streaming decoder on the
 * worker pool (cpp/codecs.cc `ZstdDecoder`; see {@link zstdImplementation} for why not node:zlib's).
 * @module
 */
import { ChunkRecycler, ConsumerTracker, kChunkProgress, progressReader, type ChunkProgress } from './chunk-recycling.js';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import zlib from 'node:zlib';
import { dgenError, invalidRange, invalidType } from './errors.js';
import { binding } from './native.js';
import { chunkMemory, freshChunk } from './source.js';

/** Compression algorithms. `none` passes bytes through. */
export type CompressionAlgorithm = 'none' | 'zstd' | 'gzip';

/** A compressor as a string: an algorithm, optionally with its level after a colon (`'zstd'`, `'gzip:9'`).
 * A closed set, so `createCompressor('brotli')` fails to type-check (and throws at run time). */
export type CompressorName = Exclude<CompressionAlgorithm, 'none'> | `${Exclude<CompressionAlgorithm, 'none'>}:${number}`;

/** A compression choice: an algorithm and its level. */
export interface CompressionSpec {
  algorithm: CompressionAlgorithm;
  /** zstd: 1 to 19 (default 3); gzip: 1 to 9 (default 6); ignored for none. */
  level: number;
}

const LEVELS = { none: [0, 0, 0], zstd: [1, 19, 3], gzip: [1, 9, 6] } as const;

/** File-name extension of each algorithm, as the command-line tools write it. */
export const COMPRESSION_EXTENSIONS: Record<CompressionAlgorithm, string> = { none: '', zstd: '.zst', gzip: '.gz' };

/**
 * Parses a compression choice: `"zstd"`, `"gzip:9"`, `{ algorithm, level }`, or undefined (none).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_COMPRESSION` for an unknown algorithm or a level out of range.
 */
export function parseCompression(value: unknown, level?: unknown): CompressionSpec {
  let algorithm: unknown = value;
  let lvl: unknown = level;
  if (value === undefined || value === null) algorithm = 'none';
  else if (typeof value === 'string' && value.includes(':'))
    [algorithm, lvl] = [value.slice(0, value.indexOf(':')), level ?? value.slice(value.indexOf(':') + 1)];
  else if (typeof value === 'object') ({ algorithm, level: lvl = level } = value as { algorithm?: unknown; level?: unknown });
  if (typeof algorithm !== 'string')
    throw invalidType('ERR_DGEN_INVALID_COMPRESSION', 'compression', value, '"none", "zstd" or "gzip"');
  if (!(algorithm in LEVELS))
    throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compression', value, '"none", "zstd" or "gzip"');
  const [min, max, dflt] = LEVELS[algorithm as CompressionAlgorithm];
  if (lvl === undefined || lvl === '' || algorithm === 'none')
    return { algorithm: algorithm as CompressionAlgorithm, level: dflt };
  const n = typeof lvl === 'string' ? Number(lvl) : lvl;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidRange(
      'ERR_DGEN_INVALID_COMPRESSION',
      'compressionLevel',
      lvl,
      `an integer from ${min} to ${max} for ${algorithm}`,
    );
  }
  return { algorithm: algorithm as CompressionAlgorithm, level: n };
}

type ZlibWithZstd = typeof zlib & {
  createZstdCompress?: (o: object) => Transform;
  createZstdDecompress?: (o?: object) => Transform;
};
const z = zlib as ZlibWithZstd;

/** Where zstd decompression comes from: `"libzstd"` (native, on the worker pool) on every runtime. node:zlib's
 * zstd decompressor (Node >= 22.15) is not used: on Node 22.23 a stream of concatenated frames holding an
 * empty frame and a skippable frame (what `zstd -d` reads) never finished (test/codecs-zstd-decompress.test.ts),
 * and one decoder everywhere keeps the limits and errors the same. `"node:zlib"` stays in the type for
 * compatibility. */
export const zstdImplementation: 'node:zlib' | 'libzstd' = 'libzstd';

/** Output buffer of node:zlib streams: 256 KiB instead of the default 16 KiB, so a 4 MiB chunk costs a
 * few thread-pool round trips instead of hundreds. */
const ZLIB_CHUNK = 256 * 1024;

function innerDecompressor(algorithm: CompressionAlgorithm): Transform {
  if (algorithm === 'gzip') return zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  if (algorithm === 'zstd') return z.createZstdDecompress!({ chunkSize: ZLIB_CHUNK });
  throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compression', algorithm, '"zstd" or "gzip"');
}

/**
 * A codec as a `Transform` that counts what passes: `bytesIn`, `bytesOut`, `bytesReleased`, and `ratio`
 * (in / out for a compressor). Backpressure flows through: a chunk's write callback fires once the codec
 * has taken it (copied it, or handed it to a job of bounded count).
 */
export abstract class CodecTransform extends Transform {
  /** Bytes written into the transform. */
  bytesIn = 0;
  /** Bytes the transform has produced. */
  bytesOut = 0;
  // Written chunks not yet released, oldest first: where each ends in the input, whether its write callback
  // has fired, and how many codec jobs still read its memory.
  readonly #held: { end: number; accepted: boolean; jobs: number }[] = [];
  #released = 0;
  #submitted = 0; // bytes given to write(), for kChunkProgress

  constructor(
    /** `compress` or `decompress`. */
    readonly direction: 'compress' | 'decompress',
    /** The algorithm and level (level 0 for decompressors). */
    readonly spec: CompressionSpec,
    /** The library doing the work: `libzstd`, `isa-l`, `libdeflate` or `zlib` for compressors (native, on
     * the worker pool); `node:zlib` or `libzstd` for decompressors. */
    readonly implementation: string,
  ) {
    super();
  }

  /** Compression ratio so far: uncompressed bytes / compressed bytes (1 before any output). */
  get ratio(): number {
    const [plain, packed] = this.direction === 'compress' ? [this.bytesIn, this.bytesOut] : [this.bytesOut, this.bytesIn];
    return packed === 0 ? 1 : plain / packed;
  }

  /**
   * Input bytes, counted from the first byte written and in order, whose memory this transform no longer
   * references: their write callbacks have fired and the codec has either copied them into its own buffers
   * (node:zlib's decompressors) or finished the jobs that read them in place (the native
   * compressors, which never copy on the main thread: a chunk counts once the last block holding a piece
   * of it is compressed). A writer may reuse the memory of every chunk that ends at or before this count. A
   * chunk is counted only when it and every chunk before it are released. (The native zstd decompressor reads
   * a chunk in place and calls back once it has read all of it.) Never exceeds {@link CodecTransform.bytesIn}; after `'finish'` it equals it
   * (unless the stream was destroyed). Each advance emits `'release'` with the new count.
   */
  get bytesReleased(): number {
    return this.#released;
  }

  /**
   * Most input bytes this transform references at once beyond {@link CodecTransform.bytesReleased} (plus
   * the chunk being written): a writer that reuses chunk memory once released needs at least this much
   * memory in rotation, or it waits for a release that only more input brings. A native compressor
   * holds the block being gathered (it is compressed when full or at the end) and the blocks in flight:
   * block bytes x (workers + 2), e.g. 4 MiB for gzip and 8 MiB for zstd levels 1-5 on 2 workers. 0 for the
   * decompressors, which copy what they are given.
   */
  get maxHeldBytes(): number {
    return 0;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (chunk instanceof Uint8Array) this.#submitted += chunk.byteLength;
    return (super.write as (...args: unknown[]) => boolean)(chunk, encoding, callback);
  }

  /** Bytes acknowledged (written and called back) and released (see {@link CodecTransform.bytesReleased}),
   * so a `DataSource` piped into this transform reuses chunk memory it has released (chunk-recycling.ts). */
  [kChunkProgress](): ChunkProgress {
    return { acknowledged: this.#submitted - this.writableLength, released: this.#released };
  }

  /** Records a written chunk of `length` bytes; returns its handle for {@link CodecTransform.holdChunk}. */
  protected takeChunk(length: number): object {
    this.bytesIn += length;
    const record = { end: this.bytesIn, accepted: false, jobs: 0 };
    this.#held.push(record);
    return record;
  }

  /** The codec reads `chunk` in place until the matching {@link CodecTransform.dropChunk}. */
  protected holdChunk(chunk: object): void {
    (chunk as { jobs: number }).jobs++;
  }

  /** A job that read `chunk` in place is done. */
  protected dropChunk(chunk: object): void {
    (chunk as { jobs: number }).jobs--;
    this.#advance();
  }

  /** The chunk's write callback is about to fire: the codec holds no copy-pending reference any more. */
  protected acceptChunk(chunk: object): void {
    (chunk as { accepted: boolean }).accepted = true;
    this.#advance();
  }

  #advance(): void {
    const held = this.#held;
    const before = this.#released;
    while (held.length > 0 && held[0]!.accepted && held[0]!.jobs === 0) this.#released = held.shift()!.end;
    if (this.#released !== before) this.emit('release', this.#released);
  }
}

/** A codec from another library, as a `Transform` (node:zlib's): the gzip decompressor, and zstd's where
 * the runtime has it. */
class WrappedCodec extends CodecTransform {
  readonly #inner: Transform;

  constructor(inner: Transform, direction: 'compress' | 'decompress', spec: CompressionSpec, implementation: string) {
    super(direction, spec, implementation);
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => {
      this.bytesOut += chunk.length;
      this.push(chunk);
    });
    inner.on('error', (err: Error) => this.destroy(corrupt(err, spec.algorithm, direction)));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const record = this.takeChunk(chunk.length);
    // node:zlib consumes a chunk before it calls its write callback; then it holds no reference.
    this.#inner.write(chunk, (err?: Error | null) => {
      if (err) return callback(corrupt(err, this.spec.algorithm, this.direction));
      this.acceptChunk(record);
      callback();
    });
  }

  override _flush(callback: TransformCallback): void {
    this.#inner.once('end', () => callback());
    this.#inner.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner.destroy();
    callback(error);
  }
}

/** Output buffers of the native zstd decompressor: 4 MiB from the chunk pool (source.ts chunkMemory: huge
 * pages, reused once collected, so no page faults per buffer); a step fills the rest of the current one,
 * and a new one starts when less than {@link ZSTD_OUT_MIN} is left, so small outputs do not each pin one. */
const ZSTD_OUT = 4 << 20;
const ZSTD_OUT_MIN = 256 * 1024;

/**
 * zstd decompression with libzstd's streaming decoder (ZSTD_decompressStream) on the worker pool, for
 * runtimes whose node:zlib lacks zstd (Node < 22.15). A written chunk is read in place, in steps that each
 * fill at most the rest of a 4 MiB output buffer, one step in flight at a time; the chunk's write callback
 * fires once it is all read. Reads concatenated and skippable frames as `zstd -d` does. Memory: the frame's
 * window (at most 128 MiB, the zstd CLI's default limit; a frame asking for more is corrupt data here) and
 * the output of the chunk being decoded, which is pushed as it comes (as node:zlib does).
 */
class NativeZstdDecompressor extends CodecTransform {
  readonly #decoder = binding.zstdDecoder();
  #out: Buffer = chunkMemory(ZSTD_OUT);
  #outAt = 0;
  #frameDone = true;
  #stopped = false;

  constructor() {
    super('decompress', { algorithm: 'zstd', level: 0 }, 'libzstd');
  }

  // Steps over `input` until it is read and the decoder has nothing more to give, then calls `done`.
  #decode(input: Buffer, done: (err?: Error) => void): void {
    if (this.#out.length - this.#outAt < ZSTD_OUT_MIN) {
      this.#out = chunkMemory(ZSTD_OUT);
      this.#outAt = 0;
    }
    const room = this.#out.subarray(this.#outAt);
    binding.zstdDecompress(this.#decoder, input, room, (err, consumed, produced, frameDone) => {
      if (this.#stopped) return;
      if (err !== null) return done(corruptZstd(typeof err === 'string' ? err : err.message));
      this.#frameDone = frameDone;
      if (produced > 0) {
        this.bytesOut += produced;
        this.push(this.#out.subarray(this.#outAt, (this.#outAt += produced)));
      }
      // Output filled the room: the decoder may hold more, even if every input byte is read.
      if (consumed < input.length || produced === room.length) return this.#decode(input.subarray(consumed), done);
      done();
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const record = this.takeChunk(chunk.length);
    this.holdChunk(record);
    this.#decode(chunk, (err) => {
      this.dropChunk(record);
      if (err) return callback(err);
      this.acceptChunk(record);
      callback();
    });
  }

  override _flush(callback: TransformCallback): void {
    this.#decode(Buffer.alloc(0), (err) => {
      binding.zstdDecoderFree(this.#decoder);
      if (err) return callback(err);
      // Input that ends inside a frame (a truncated file) is corrupt, as `zstd -d` says.
      if (!this.#frameDone) return callback(corruptZstd('truncated input: it ends inside a frame'));
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopped = true; // a step in flight finishes on the pool; its result is dropped
    binding.zstdDecoderFree(this.#decoder);
    callback(error);
  }
}

function corruptZstd(message: string): CorruptDataError {
  return dgenError('ERR_DGEN_CORRUPT_DATA', `zstd data is corrupt: ${message}`, new Error(`libzstd: ${message}`), {
    algorithm: 'zstd' as const,
  }) as CorruptDataError;
}

/** Error of a decompressor given data that is not a valid stream of its algorithm. */
export type CorruptDataError = Error & { code: 'ERR_DGEN_CORRUPT_DATA'; algorithm: CompressionAlgorithm; cause: unknown };

function corrupt(err: Error, algorithm: CompressionAlgorithm, direction: string): Error {
  if (direction !== 'decompress' || (err as Partial<CorruptDataError>).code === 'ERR_DGEN_CORRUPT_DATA') return err;
  return dgenError('ERR_DGEN_CORRUPT_DATA', `${algorithm} data is corrupt: ${err.message}`, err, { algorithm });
}

/**
 * Block size of the native compressors: each block becomes one zstd frame or gzip member, compressed on
 * the worker pool. 1 MiB for gzip (its window is 32 KiB, so a block boundary costs at most 32 KiB of
 * history in 1 MiB; pigz uses 128 KiB); for zstd, one window of the level and at least 2 MiB: 2 MiB up to
 * level 5, 4 MiB at 6-12, 8 MiB from 13. Measured at level 3 on c = 2 data: 2 MiB blocks took 5-10% less
 * CPU than 8 MiB (4 windows, as zstd -T0 cuts its jobs) at the same compression ratio (2.014), and they
 * keep what a compressor holds small.
 */
function blockBytes(spec: CompressionSpec): number {
  if (spec.algorithm === 'gzip') return 1 << 20;
  // windowLog of zstd's level table for inputs above 256 KiB: 19 (level 1), 20 (2), 21 (3-5), 22 (6-12),
  // 23 (13+).
  const windowLog = spec.level <= 1 ? 19 : spec.level === 2 ? 20 : spec.level <= 5 ? 21 : spec.level <= 12 ? 22 : 23;
  return Math.max(2 << 20, 1 << windowLog);
}

/**
 * The native library for a compression choice: libzstd for zstd; for gzip ISA-L igzip at levels 1 to 3
 * (several times libdeflate and zlib there), libdeflate at 4 to 9, zlib where the build has neither
 * (`binding.codecLibraries.gzip` lists what it has).
 */
export function compressionLibrary(spec: CompressionSpec): string {
  if (spec.algorithm === 'zstd') return 'libzstd';
  const have = binding.codecLibraries.gzip.split(',');
  if (spec.level <= 3 && have.includes('isa-l')) return 'isa-l';
  if (have.includes('libdeflate')) return 'libdeflate';
  return 'zlib';
}

/**
 * Output buffers left by finished compressors whose consumer released them, by size, for the next
 * compressor: a put that compresses many objects makes a compressor per object, and each would otherwise
 * take 5-10 fresh buffers of 1-8 MiB (measured: 10 per 256 MiB at zstd level 1), external memory that
 * brings full garbage collections closer (see {@link NativeCompressor}). At most 32 MiB of each size is kept.
 */
const spareOutputs = {
  bySize: new Map<number, Buffer[]>(),
  take(size: number): Buffer | undefined {
    return this.bySize.get(size)?.pop();
  },
  put(memory: Buffer): void {
    const list = this.bySize.get(memory.length) ?? [];
    this.bySize.set(memory.length, list);
    if ((list.length + 1) * memory.length <= 32 << 20) list.push(memory);
  },
};

/**
 * A compressor on the native worker pool: the input is cut into blocks, each compressed on a pool worker
 * into one complete zstd frame or gzip member, and the outputs are pushed in input order. The stream is
 * therefore a series of frames or members, which `zstd -d`, `gunzip`, `pigz -d` and node:zlib read as one
 * (the way pigz parallelizes, except that pigz chains its blocks into one member). The main thread copies
 * nothing: a block is a list of pieces of the written chunks, referenced until its job is done (a worker
 * gathers them). Blocks in flight are bounded (workers + 1), so memory is too: a write's callback waits
 * while that many are out.
 *
 * Output memory is reused where that is provably safe, as `DataSource` reuses chunk memory
 * (chunk-recycling.ts): when the compressor is piped to one consumer that reports what it has released
 * (`kChunkProgress`, an `fs.WriteStream`, the package's file sinks), each block is compressed into a
 * buffer whose previous output that consumer has released, and pushed as a view of it. Otherwise every
 * output is fresh memory from the worker. Why it matters: every fresh Buffer counts as V8 external memory,
 * and about every 64 MiB of it starts a full garbage collection on the main thread, which at c = 2 meant
 * 3-6 mark-compacts of 10-170 ms (under load) per 256 MiB compressed: the event-loop delay of this stream.
 */
class NativeCompressor extends CodecTransform {
  readonly #library: string;
  readonly #block: number;
  readonly #maxInFlight: number;
  // The block being gathered: pieces of written chunks, their bytes, and the chunks they belong to.
  #pieces: Buffer[] = [];
  #pieceBytes = 0;
  #pieceChunks: object[] = [];
  #inFlight = 0;
  #submitted = 0;
  #nextOut = 0;
  readonly #outputs = new Map<number, Buffer>();
  #resume: (() => void) | undefined;
  #finish: TransformCallback | undefined;
  #stopped = false;
  // Output memory reuse (see the class comment): output buffers go round through the one piped consumer
  // that reports its progress (chunk-recycling.ts's ConsumerTracker, as DataSource's chunks do).
  readonly #outCapacity: number;
  readonly #outRecycler: ChunkRecycler;
  readonly #consumer: ConsumerTracker;
  #dest: Writable | undefined;

  constructor(spec: CompressionSpec, library: string, block = blockBytes(spec)) {
    super('compress', spec, library);
    this.#library = library;
    this.#block = block;
    this.#maxInFlight = binding.poolInfo().threads + 1;
    // Above every library's worst-case bound for a block (zstd: n + n/256 + a few bytes; libdeflate
    // n + n/1000; ISA-L and zlib less): a block never falls back to fresh memory for want of room.
    this.#outCapacity = block + (block >> 7) + 64 * 1024;
    this.#outRecycler = new ChunkRecycler(this.#outCapacity, (n) => spareOutputs.take(n) ?? freshChunk(n));
    this.#consumer = new ConsumerTracker(this, this.#outRecycler);
  }

  /** Pipes as `Readable.pipe` does; when `dest` is the only consumer and reports what it has released,
   * output memory it has released is reused (see the class comment). */
  override pipe<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T {
    this.#dest ??= dest as unknown as Writable;
    return this.#consumer.pipe(dest, () => super.pipe(dest, options));
  }

  override unpipe(dest?: NodeJS.WritableStream): this {
    this.#retire();
    return super.unpipe(dest);
  }

  // Every output leaves through a 'data' event (pipe, read() and async iteration all emit it).
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') this.#consumer.handOut(args[0] as Buffer);
    return super.emit(event, ...args);
  }

  /** Unpiped (pipe() unpipes when the consumer finishes): output buffers the consumer has released go to
   * {@link spareOutputs} for the next compressor, and output reuse ends for this one. None of them is in a
   * job: a job's buffer goes round only once its output is handed out. */
  #retire(): void {
    const dest = this.#dest;
    const progress = this.#consumer.tracking && dest ? progressReader(dest)?.(dest) : undefined;
    if (progress) {
      const recycler = this.#outRecycler;
      recycler.reclaim(progress.released);
      while (recycler.stats().free > 0) spareOutputs.put(recycler.take(this.#outCapacity));
    }
    this.#consumer.untrack();
  }

  override get maxHeldBytes(): number {
    return this.#block * (this.#maxInFlight + 2);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const record = this.takeChunk(chunk.length);
    let at = 0;
    const step = (): void => {
      this.#resume = undefined;
      while (at < chunk.length) {
        if (this.#stopped) return;
        if (this.#inFlight >= this.#maxInFlight) {
          this.#resume = step; // a finishing job calls it again
          return;
        }
        const n = Math.min(chunk.length - at, this.#block - this.#pieceBytes);
        this.#pieces.push(chunk.subarray(at, (at += n)));
        this.#pieceBytes += n;
        this.#pieceChunks.push(record);
        this.holdChunk(record);
        if (this.#pieceBytes === this.#block) this.#submit();
      }
      this.acceptChunk(record);
      callback();
    };
    step();
  }

  override _flush(callback: TransformCallback): void {
    // The last (partial) block; an empty input still gets one empty frame or member, a valid file.
    if (this.#pieceBytes > 0 || this.#submitted === 0) this.#submit();
    this.#finish = callback;
    this.#settle();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Jobs in flight finish on the pool and let go of their pieces; their output is discarded.
    this.#stopped = true;
    this.#consumer.untrack();
    for (const record of this.#pieceChunks) this.dropChunk(record);
    this.#pieces = [];
    this.#pieceChunks = [];
    this.#outputs.clear();
    callback(error);
  }

  #submit(): void {
    const pieces = this.#pieces;
    const chunks = this.#pieceChunks;
    this.#pieces = [];
    this.#pieceChunks = [];
    this.#pieceBytes = 0;
    const seq = this.#submitted++;
    this.#inFlight++;
    // Memory for the output while a consumer is tracked (one it has released, a spare one, or fresh).
    const memory = this.#consumer.take(this.#outCapacity);
    const done = (err: Error | null, out?: Buffer | number): void => {
      this.#inFlight--;
      for (const record of chunks) this.dropChunk(record);
      if (this.#stopped) return;
      if (err) {
        this.destroy(err);
        return;
      }
      let output: Buffer;
      if (typeof out === 'number') {
        output = memory!.subarray(0, out);
        this.#consumer.mark(output, memory!);
      } else {
        output = out!; // did not fit the buffer (never, by its size): handing it out ends output reuse
      }
      this.#outputs.set(seq, output);
      this.#settle();
    };
    if (memory) binding.compressBlock(this.#library, this.spec.level, pieces, done, memory);
    else binding.compressBlock(this.#library, this.spec.level, pieces, done);
  }

  // Pushes finished outputs in order, resumes a waiting write, and ends the stream once all are out.
  #settle(): void {
    for (let out; (out = this.#outputs.get(this.#nextOut)) !== undefined; this.#nextOut++) {
      this.#outputs.delete(this.#nextOut);
      this.bytesOut += out.length;
      this.push(out);
    }
    if (this.#resume && this.#inFlight < this.#maxInFlight) this.#resume();
    if (this.#finish && this.#nextOut === this.#submitted) {
      const finish = this.#finish;
      this.#finish = undefined;
      finish();
    }
  }
}

/**
 * A compressing `Transform` on the native worker pool (see {@link compressionLibrary} for which library
 * serves which level). Its output is a series of zstd frames or gzip members, one per block of input
 * (1 MiB for gzip, 2 to 8 MiB for zstd by level), which every zstd and gzip reader decodes as one stream.
 * @param compression - `"zstd"`, `"gzip"`, `"zstd:19"`, or a {@link CompressionSpec}.
 * @param options.level - level, overriding one given in `compression`.
 * @throws `ERR_DGEN_INVALID_COMPRESSION` (also for `"none"`: there is nothing to create).
 */
export function createCompressor(
  compression: CompressorName | Partial<CompressionSpec>,
  options: { level?: number } = {},
): CodecTransform {
  const spec = parseCompression(compression, options.level);
  if (spec.algorithm === 'none')
    throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compression', spec.algorithm, '"zstd" or "gzip"');
  return new NativeCompressor(spec, compressionLibrary(spec));
}

/**
 * A decompressing `Transform` for `"zstd"` or `"gzip"` data (several concatenated frames or members, as
 * the compressors write, read as one stream).
 * @throws `ERR_DGEN_INVALID_COMPRESSION` for other algorithms. Data that is not valid zstd or gzip
 * destroys the stream with a {@link CorruptDataError} (`code: 'ERR_DGEN_CORRUPT_DATA'`, the library's
 * error as `cause`).
 */
export function createDecompressor(algorithm: CompressionAlgorithm | string): CodecTransform {
  const spec = parseCompression(algorithm);
  if (spec.algorithm === 'zstd' && zstdImplementation === 'libzstd') return new NativeZstdDecompressor();
  return new WrappedCodec(innerDecompressor(spec.algorithm), 'decompress', { algorithm: spec.algorithm, level: 0 }, 'node:zlib');
}

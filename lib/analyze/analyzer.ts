/**
 * Measures data the way storage systems see it: dedup by fixed-size chunks at several sizes and by
 * content-defined chunks (FastCDC), within and across inputs; compression per codec over each whole
 * input, and in the storage model "dedup first, then compress each unique chunk alone"; all-zero chunks.
 *
 * Defaults (chosen so that analyzing costs about what compressing the data once does, issue 13): dedup
 * is exact at every chunking (fingerprints are cheap); compression is measured with zstd-1 only: over
 * each whole input exactly, and per distinct chunk on a uniform sample by fingerprint of at most
 * {@link PER_CHUNK_BUDGET} bytes per chunking (exact while the distinct chunks fit; an estimate with a
 * 95 % interval beyond). `full` restores every codec on every distinct chunk; `perChunk: false` leaves
 * compression out (hashing only).
 *
 * The work runs in the native addon on the worker pool (cpp/analyze.h): XXH3-128 (or SHA-256) chunk
 * fingerprints in a sharded hash set, FastCDC cut points, per-chunk compression with libzstd, libdeflate
 * (or zlib) and liblz4, and whole-stream compression of each input in 4 MiB segments, each compressed
 * against the bytes before it (512 KiB for zstd, 32 KiB for deflate; lz4 frames are independent 4 MiB
 * blocks, as lz4's CLI writes). Bytes are copied into the addon in any buffer sizes ({@link Analyzer.update})
 * or read straight into two batch buffers ({@link Analyzer.updateFrom}), and processed in batches of 16 MiB
 * while the next ones are read; results do not depend on how the input is split. The main thread copies
 * and plans nothing of a batch (the workers do), so the event loop stays responsive (issue 13).
 * With `codecs` given, the JavaScript {@link ReferenceAnalyzer} does the work instead.
 *
 * Memory: the chunk index holds 16 bytes (XXH3-128) or 32 (SHA-256) per distinct chunk and chunking, at
 * a load of 3/8 to 3/4; see the README's analyze section for the figure per TiB. Everything else is
 * bounded (about 40 MiB, and 32 MiB more of batch buffers with {@link Analyzer.updateFrom}).
 * @module
 */
import { binding } from '../native.js';
import { DEFAULT_CDC, FastCdc, type CdcParameters } from './fastcdc.js';
import { ReferenceAnalyzer } from './reference-analyzer.js';
import {
  ANALYZE_OPTION_KEYS,
  DEFAULT_CHUNK_SIZES,
  PER_CHUNK_BUDGET,
  checkChunkSizes,
  type AnalyzeOptions,
  type AnalyzeReport,
  type Interval,
} from './options.js';
import { dedupEstimate, ratioEstimate, type RatioMoments } from './sample.js';
import { invalidRange } from '../errors.js';
import { checkOptionKeys } from '../option-keys.js';
import { optionalBoolean, validateNumber, validateOneOf, validateOptionsObject } from '../validators.js';

export { DEFAULT_CHUNK_SIZES, PER_CHUNK_BUDGET, type AnalyzeOptions, type AnalyzeReport } from './options.js';

/** The native analyzer's codecs, in its report order. */
const NATIVE_CODECS = ['zstd-1', 'zstd-3', 'gzip-6', 'lz4'];

/** Bytes gathered before a batch goes to the pool. */
const BATCH_BYTES = 16 * 1024 * 1024;
/** Bytes {@link Analyzer.updateFrom} asks for per read. */
const READ_BYTES = 4 * 1024 * 1024;

/** What the addon's report() returns (cpp/addon_analyze.cc). */
interface NativeReport {
  bytes: number;
  inputs: number;
  chunkings: {
    key: string;
    chunks: number;
    zero: number;
    uniqueChunks: number;
    uniqueBytes: number;
    compressed: number[];
    moments: RatioMoments;
    countSum: number;
    countSquares: number;
    indexBytes: number;
    perChunkRate: number;
  }[];
  wholeCompressed: number[];
  segments: RatioMoments;
}

/** Options of the addon's analyzer (cpp/addon_analyze.cc); the last three are optional there. */
interface NativeOptions {
  chunkSizes: number[];
  cdc: CdcParameters | null;
  perChunk: boolean;
  hash: string;
  sample: number;
  /** Whole-stream compression of each input. */
  whole: boolean;
  /** How many of zstd-1, zstd-3, gzip-6, lz4 (in that order) to measure with. */
  codecs: number;
  /** Bytes of sampled distinct chunks per chunking (0: every kept distinct chunk). */
  perChunkBudget: number;
}

/** The addon's analyzer (cpp/addon_analyze.cc). */
export interface NativeAnalyzer {
  /** Copies `data` in; returns the bytes waiting for the next process(). */
  append(data: Uint8Array): number;
  /**
   * Processes what was appended, then `data` (read in place: unchanged until the callback), on the pool;
   * `final` ends the input. One call at a time; returns at once.
   */
  process(final: boolean, callback: (err: Error | null) => void, data?: Uint8Array): void;
  report(): NativeReport;
}

/**
 * Accumulates measurements over any number of inputs: for each input call {@link beginInput}, then
 * {@link update} with its bytes in order, then {@link endInput}; finally {@link report}.
 */
export class Analyzer {
  readonly #native: NativeAnalyzer | undefined;
  readonly #reference: ReferenceAnalyzer | undefined;
  readonly #cdc: CdcParameters | undefined;
  readonly #perChunk: boolean;
  readonly #whole: boolean;
  readonly #codecs: string[];
  readonly #rate: number;
  readonly #hash: 'xxh3' | 'sha256';
  #inflight: Promise<void> = Promise.resolve();
  /** The two batch buffers of {@link updateFrom}: one read into while the workers process the other. */
  #batches: [Buffer, Buffer] | undefined;
  #bytes = 0;

  /**
   * @throws TypeError `ERR_DGEN_INVALID_OPTION` for an options key no option has (naming the closest one),
   *   or an option of the wrong type. RangeError `ERR_DGEN_INVALID_OPTION` for chunk sizes that are not
   *   whole numbers of 1 B to 1 GiB, bad CDC sizes (see {@link FastCdc}), a `sample` outside (0, 1], a
   *   `hash` other than `xxh3` or `sha256`, or `codecs` together with `sample`, `hash` or `full`.
   */
  constructor(options: AnalyzeOptions = {}) {
    options = validateOptionsObject('options', options);
    checkOptionKeys(options, ANALYZE_OPTION_KEYS, 'Analyzer options');
    const sizes = options.chunkSizes ?? DEFAULT_CHUNK_SIZES;
    checkChunkSizes(sizes);
    this.#cdc = options.cdc === false ? undefined : (options.cdc ?? DEFAULT_CDC);
    if (this.#cdc) new FastCdc(this.#cdc); // validates the sizes with the reference's rules and error
    this.#perChunk = optionalBoolean('perChunk', options.perChunk, true);
    const full = optionalBoolean('full', options.full, false);
    this.#rate = options.sample === undefined ? 1 : validateNumber('sample', options.sample, 0, 1);
    if (this.#rate === 0)
      throw invalidRange('ERR_DGEN_INVALID_OPTION', 'sample', options.sample, 'a fraction in (0, 1], e.g. 0.01');
    this.#hash = options.hash === undefined ? 'xxh3' : validateOneOf('hash', options.hash, ['xxh3', 'sha256'] as const);
    if (options.codecs) {
      if (options.sample !== undefined || options.hash !== undefined || options.full !== undefined)
        throw invalidRange(
          'ERR_DGEN_INVALID_OPTION',
          'codecs',
          'custom codecs',
          'left out with sample, hash or full (the native analyzer has its own codecs)',
        );
      this.#reference = new ReferenceAnalyzer(options);
      this.#whole = true;
      this.#codecs = [];
      return;
    }
    // Without `full`: zstd-1 only; per chunk on a budget; no whole streams when perChunk is false.
    this.#codecs = full ? NATIVE_CODECS : NATIVE_CODECS.slice(0, 1);
    this.#whole = full || this.#perChunk;
    this.#native = new (binding.Analyzer as unknown as new (options: NativeOptions) => NativeAnalyzer)({
      chunkSizes: sizes,
      cdc: this.#cdc ?? null,
      perChunk: this.#perChunk,
      hash: this.#hash,
      sample: this.#rate,
      whole: this.#whole,
      codecs: this.#codecs.length,
      perChunkBudget: full ? 0 : PER_CHUNK_BUDGET,
    });
  }

  #process(final: boolean, data?: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.#native!.process(final, (err) => (err ? reject(err) : resolve()), data));
  }

  /** Starts the next batch once the one before is done; a failure surfaces at the next await. */
  async #submit(data?: Uint8Array): Promise<void> {
    await this.#inflight;
    this.#inflight = this.#process(false, data);
    // Awaited by the next batch or endInput(); a failure is not unhandled meanwhile.
    this.#inflight.catch(() => {});
  }

  /** Starts an input (a file or object): whole-stream compression and chunking restart. */
  beginInput(): void {
    this.#reference?.beginInput();
  }

  /**
   * Feeds the next bytes of the current input (copied: the caller may reuse `data` at once). Resolves
   * when they are taken: at once, or after the batch before them is done (which bounds memory).
   * @throws Error from the native analyzer if a codec fails (out of memory).
   */
  async update(data: Buffer): Promise<void> {
    this.#bytes += data.length;
    if (this.#reference) return this.#reference.update(data);
    if (this.#native!.append(data) < BATCH_BYTES) return;
    await this.#submit();
  }

  /**
   * Feeds the rest of the current input from `read`, which fills `length` bytes of `buffer` from `offset`
   * with the input's next bytes and resolves to how many it wrote (0 at the end); `onRead` is called
   * after each read. The same as {@link update} with each piece read, but the native analyzer has the
   * reads land straight in two batch buffers of 16 MiB that the workers process in place, so the main
   * thread copies nothing: a copy of each 4 MiB read into the analyzer cost up to 37 ms of event-loop
   * delay, faulting fresh pages in while the workers held both cores (issue 13: p99 under 10 ms).
   * @throws Error from `read`, or from the native analyzer if a codec fails (out of memory).
   */
  async updateFrom(
    read: (buffer: Buffer, offset: number, length: number) => Promise<number>,
    onRead?: () => void,
  ): Promise<void> {
    if (this.#reference) {
      // A fresh buffer per read: the reference's codec streams still hold the last one.
      for (let buffer = Buffer.allocUnsafe(READ_BYTES), n; (n = await read(buffer, 0, buffer.length)) > 0; onRead?.()) {
        await this.update(buffer.subarray(0, n));
        buffer = Buffer.allocUnsafe(READ_BYTES);
      }
      return;
    }
    // Allocated here and filled by the reads: their pages are faulted in by libuv's threads, not this one.
    this.#batches ??= [Buffer.allocUnsafeSlow(BATCH_BYTES), Buffer.allocUnsafeSlow(BATCH_BYTES)];
    for (let which = 0, end = false; !end; which ^= 1) {
      const batch = this.#batches[which]!;
      let filled = 0;
      // The batch that last used this buffer is done: #submit() awaited it before starting the other one.
      while (filled < batch.length) {
        const n = await read(batch, filled, Math.min(READ_BYTES, batch.length - filled));
        if (n === 0) {
          end = true;
          break;
        }
        filled += n;
        this.#bytes += n;
        onRead?.();
      }
      if (filled > 0) await this.#submit(batch.subarray(0, filled));
    }
  }

  /** Ends the current input. */
  async endInput(): Promise<void> {
    if (this.#reference) return this.#reference.endInput();
    await this.#inflight;
    this.#inflight = Promise.resolve();
    await this.#process(true);
  }

  /** Bytes analyzed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The measurements so far (call between inputs). */
  report(): AnalyzeReport {
    if (this.#reference) return this.#reference.report();
    const n = this.#native!.report();
    const rate = this.#rate;
    const perChunkRate: Record<string, number> = this.#perChunk
      ? Object.fromEntries(n.chunkings.map((c) => [c.key, c.perChunkRate]))
      : {};
    const sampled = rate < 1 || Object.values(perChunkRate).some((r) => r < 1);
    const exact = (v: number): Interval => [v, v];
    const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
    const dedup: Record<string, number> = {};
    const uniqueBytes: Record<string, number> = {};
    const zeroChunks: Record<string, number> = {};
    const dedupIntervals: Record<string, Interval> = {};
    for (const c of n.chunkings) {
      if (rate < 1) {
        const e = dedupEstimate(c.uniqueChunks, c.countSum, c.countSquares, rate);
        dedup[c.key] = e.estimate;
        dedupIntervals[c.key] = e.interval;
        uniqueBytes[c.key] = Math.round(c.uniqueBytes / rate);
      } else {
        dedup[c.key] = ratio(c.chunks, c.uniqueChunks);
        dedupIntervals[c.key] = exact(dedup[c.key]!);
        uniqueBytes[c.key] = c.uniqueBytes;
      }
      zeroChunks[c.key] = c.zero;
    }
    const compression: AnalyzeReport['compression'] = {};
    const compressionIntervals: NonNullable<AnalyzeReport['sample']>['compression'] = {};
    if (this.#whole)
      this.#codecs.forEach((name, i) => {
        const perChunk: Record<string, number> = {};
        const perChunkIntervals: Record<string, Interval> = {};
        if (this.#perChunk) {
          for (const c of n.chunkings) {
            if (c.perChunkRate < 1) {
              const e = ratioEstimate(c.moments, i, c.perChunkRate);
              perChunk[c.key] = c.moments.n === 0 && n.bytes > 0 ? Number.NaN : e.estimate; // none sampled: unknown
              perChunkIntervals[c.key] = e.interval;
            } else {
              perChunk[c.key] = ratio(c.uniqueBytes, c.compressed[i]!);
              perChunkIntervals[c.key] = exact(perChunk[c.key]!);
            }
          }
        }
        if (rate < 1) {
          const e = ratioEstimate(n.segments, i, rate);
          // No segment in the sample (inputs under about 4 MiB / RATE): the whole-stream ratio is unknown,
          // not 1. NaN, which JSON writes as null and the CLI as n/a (the same for a chunking none of whose
          // distinct chunks was sampled, above).
          const whole = n.segments.n === 0 && n.bytes > 0 ? Number.NaN : e.estimate;
          compression[name] = { whole, perChunk };
          compressionIntervals[name] = { whole: e.interval, perChunk: perChunkIntervals };
        } else {
          compression[name] = { whole: ratio(n.bytes, n.wholeCompressed[i]!), perChunk };
          compressionIntervals[name] = { whole: exact(compression[name].whole), perChunk: perChunkIntervals };
        }
      });
    const cdc = n.chunkings.find((c) => c.key === 'cdc');
    return {
      bytes: n.bytes,
      inputs: n.inputs,
      dedup,
      uniqueBytes,
      ...(this.#cdc && cdc && { cdc: { ...this.#cdc, chunks: cdc.chunks } }),
      compression,
      zeroChunks,
      index: { hash: this.#hash === 'sha256' ? 'sha-256' : 'xxh3-128', bytes: n.chunkings.reduce((a, c) => a + c.indexBytes, 0) },
      ...(sampled && {
        sample: { rate, perChunkRate, confidence: 0.95, dedup: dedupIntervals, compression: compressionIntervals },
      }),
    };
  }
}

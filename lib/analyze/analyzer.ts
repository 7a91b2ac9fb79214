/**
 * Measures data the way storage systems see it: dedup by fixed-size chunks at several sizes and by
 * content-defined chunks (FastCDC), within and across inputs; compression per codec over each whole
 * input, and in the storage model "dedup first, then compress each unique chunk alone"; all-zero chunks.
 *
 * The work runs in the native addon on the worker pool (cpp/analyze.h): XXH3-128 (or SHA-256) chunk
 * fingerprints in a sharded hash set, FastCDC cut points, per-chunk compression with libzstd, libdeflate
 * (or zlib) and liblz4, and whole-stream compression of each input in 4 MiB segments, each compressed
 * against the bytes before it (512 KiB for zstd, 32 KiB for deflate; lz4 frames are independent 4 MiB
 * blocks, as lz4's CLI writes). Bytes are copied into the addon in any buffer sizes and processed in
 * batches of 16 MiB while the next ones are read; results do not depend on how the input is split.
 * With `codecs` given, the JavaScript {@link ReferenceAnalyzer} does the work instead.
 *
 * Memory: the chunk index holds 16 bytes (XXH3-128) or 32 (SHA-256) per distinct chunk and chunking, at
 * a load of 3/8 to 3/4; see the README's analyze section for the figure per TiB. Everything else is
 * bounded (about 40 MiB).
 * @module
 */
import { binding } from '../native.js';
import { DEFAULT_CDC, FastCdc, type CdcParameters } from './fastcdc.js';
import { ReferenceAnalyzer } from './reference-analyzer.js';
import { DEFAULT_CHUNK_SIZES, checkChunkSizes, type AnalyzeOptions, type AnalyzeReport, type Interval } from './options.js';
import { dedupEstimate, ratioEstimate, type RatioMoments } from './sample.js';
import { invalidRange } from '../errors.js';

export { DEFAULT_CHUNK_SIZES, type AnalyzeOptions, type AnalyzeReport } from './options.js';

/** The native analyzer's codecs, in its report order. */
const NATIVE_CODECS = ['zstd-1', 'zstd-3', 'gzip-6', 'lz4'];

/** Bytes gathered before a batch goes to the pool. */
const BATCH_BYTES = 16 * 1024 * 1024;

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
  }[];
  wholeCompressed: number[];
  segments: RatioMoments;
}

/** The addon's analyzer (cpp/addon_analyze.cc). */
export interface NativeAnalyzer {
  /** Copies `data` in; returns the bytes waiting for the next process(). */
  append(data: Uint8Array): number;
  /** Processes what was appended on the pool; `final` ends the input. One call at a time. */
  process(final: boolean, callback: (err: Error | null) => void): void;
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
  readonly #rate: number;
  readonly #hash: 'xxh3' | 'sha256';
  #inflight: Promise<void> = Promise.resolve();
  #bytes = 0;

  /**
   * @throws RangeError `ERR_DGEN_INVALID_OPTION` for chunk sizes that are not whole numbers of 1 B to
   *   1 GiB, bad CDC sizes (see {@link FastCdc}), a `sample` outside (0, 1], a `hash` other than `xxh3`
   *   or `sha256`, or `codecs` together with `sample` or `hash`.
   */
  constructor(options: AnalyzeOptions = {}) {
    const sizes = options.chunkSizes ?? DEFAULT_CHUNK_SIZES;
    checkChunkSizes(sizes);
    this.#cdc = options.cdc === false ? undefined : (options.cdc ?? DEFAULT_CDC);
    if (this.#cdc) new FastCdc(this.#cdc); // validates the sizes with the reference's rules and error
    this.#perChunk = options.perChunk ?? true;
    this.#rate = options.sample ?? 1;
    if (typeof this.#rate !== 'number' || !(this.#rate > 0 && this.#rate <= 1)) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'sample', options.sample, 'a fraction in (0, 1], e.g. 0.01');
    this.#hash = options.hash ?? 'xxh3';
    if (this.#hash !== 'xxh3' && this.#hash !== 'sha256') throw invalidRange('ERR_DGEN_INVALID_OPTION', 'hash', options.hash, "'xxh3' or 'sha256'");
    if (options.codecs) {
      if (options.sample !== undefined || options.hash !== undefined) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'codecs', 'custom codecs', 'left out with sample or hash (the native analyzer has its own codecs)');
      this.#reference = new ReferenceAnalyzer(options);
      return;
    }
    this.#native = new binding.Analyzer({
      chunkSizes: sizes,
      cdc: this.#cdc ?? null,
      perChunk: this.#perChunk,
      hash: this.#hash,
      sample: this.#rate,
    });
  }

  #process(final: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.#native!.process(final, (err) => (err ? reject(err) : resolve())));
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
    await this.#inflight;
    this.#inflight = this.#process(false);
    // Awaited by the next batch or endInput(); a failure is not unhandled meanwhile.
    this.#inflight.catch(() => {});
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
    const sampled = rate < 1;
    const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
    const dedup: Record<string, number> = {};
    const uniqueBytes: Record<string, number> = {};
    const zeroChunks: Record<string, number> = {};
    const dedupIntervals: Record<string, Interval> = {};
    for (const c of n.chunkings) {
      if (sampled) {
        const e = dedupEstimate(c.uniqueChunks, c.countSum, c.countSquares, rate);
        dedup[c.key] = e.estimate;
        dedupIntervals[c.key] = e.interval;
        uniqueBytes[c.key] = Math.round(c.uniqueBytes / rate);
      } else {
        dedup[c.key] = ratio(c.chunks, c.uniqueChunks);
        uniqueBytes[c.key] = c.uniqueBytes;
      }
      zeroChunks[c.key] = c.zero;
    }
    const compression: AnalyzeReport['compression'] = {};
    const compressionIntervals: NonNullable<AnalyzeReport['sample']>['compression'] = {};
    NATIVE_CODECS.forEach((name, i) => {
      const perChunk: Record<string, number> = {};
      const perChunkIntervals: Record<string, Interval> = {};
      if (this.#perChunk) {
        for (const c of n.chunkings) {
          if (sampled) {
            const e = ratioEstimate(c.moments, i, rate);
            perChunk[c.key] = e.estimate;
            perChunkIntervals[c.key] = e.interval;
          } else perChunk[c.key] = ratio(c.uniqueBytes, c.compressed[i]!);
        }
      }
      if (sampled) {
        const e = ratioEstimate(n.segments, i, rate);
        compression[name] = { whole: e.estimate, perChunk };
        compressionIntervals[name] = { whole: e.interval, perChunk: perChunkIntervals };
      } else compression[name] = { whole: ratio(n.bytes, n.wholeCompressed[i]!), perChunk };
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
      ...(sampled && { sample: { rate, confidence: 0.95, dedup: dedupIntervals, compression: compressionIntervals } }),
    };
  }
}

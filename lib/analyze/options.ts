/**
 * Options and report shape of {@link Analyzer} (lib/analyze/analyzer.ts), shared with the JavaScript
 * reference analyzer (lib/analyze/reference-analyzer.ts).
 * @module
 */
import type { CdcParameters } from './fastcdc.js';
import type { Codec } from './codecs.js';
import { invalidType } from '../errors.js';
import { optionKeys } from '../option-keys.js';
import { validateInteger } from '../validators.js';

/** Default fixed chunk sizes: 4, 8, 16, 32, 64 and 128 KiB. */
export const DEFAULT_CHUNK_SIZES = [4096, 8192, 16384, 32768, 65536, 131072];

/** Options of {@link Analyzer}. */
export interface AnalyzeOptions {
  /** Fixed chunk sizes in bytes (1 B to 1 GiB). Default {@link DEFAULT_CHUNK_SIZES}. */
  chunkSizes?: number[];
  /** Content-defined chunking sizes, or false for none. Default 2 KiB / 8 KiB / 64 KiB. */
  cdc?: CdcParameters | false;
  /**
   * Codecs to measure with, in JavaScript on the main thread (the reference analyzer). Default: the native
   * analyzer's zstd-1, zstd-3, gzip-6, lz4 on the worker pool. Cannot be combined with `hash` or `sample`.
   */
  codecs?: Codec[];
  /**
   * Measure compression. Default true: whole-stream zstd-1 over each input, and each distinct chunk
   * compressed alone with zstd-1 on a uniform sample by fingerprint of at most {@link PER_CHUNK_BUDGET}
   * bytes per chunking (every distinct chunk while they fit; see {@link AnalyzeReport.sample}). False:
   * no compression at all, only chunking, fingerprints and the chunk index (dedup ratios, zero chunks);
   * with `full`, whole-stream compression by every codec stays.
   */
  perChunk?: boolean;
  /**
   * Every measurement, exactly: every codec (zstd-1, zstd-3, gzip-6, lz4) over each whole input and on
   * every distinct chunk of every chunking (about 15 compression passes over the data; 0.01-0.02x the
   * speed of `zstd -1 -T0`). This was the default before 2026-12. Default false.
   */
  full?: boolean;
  /**
   * Chunk fingerprint of the chunk index: `xxh3` (XXH3-128 from libxxhash, 16 bytes a distinct chunk; a
   * chance collision needs about 2^64 distinct chunks, but anyone can craft one) or `sha256` (OpenSSL,
   * 32 bytes a distinct chunk, collision resistant for data an adversary may have shaped). Default `xxh3`.
   */
  hash?: 'xxh3' | 'sha256';
  /**
   * Fraction of the data measured, in (0, 1]; below 1 the dedup and compression ratios are estimates with
   * 95 % confidence intervals in the report's `sample` field (see lib/analyze/sample.ts). Default 1.
   */
  sample?: number;
}

/**
 * Bytes of distinct chunks compressed alone per chunking by default (without `full`): 4 MiB, and at least
 * 256 chunks. While the distinct chunks of a chunking fit, every one is compressed and the per-chunk ratio
 * is exact; beyond, the fingerprint threshold halves (adaptive sampling) and the ratio is an estimate with
 * a 95 % interval. Measured on dgen data at d = 2, c = 2 (README, analyze): the estimate is within 1 % at
 * 1 GiB, and costs about a tenth of the whole-stream zstd-1 pass.
 */
export const PER_CHUNK_BUDGET = 4 * 1024 * 1024;

/** A 95 % confidence interval [low, high] of an estimated ratio; null where the sample holds too few items;
 * [v, v] for a value measured exactly. */
export type Interval = [number, number] | null;

/** The result, in the shape `dgen analyze --json` prints. Ratios are logical / distinct chunks (dedup) and
 * input bytes / compressed bytes (compression); keys are chunk sizes in bytes, or `cdc`. */
export interface AnalyzeReport {
  bytes: number;
  inputs: number;
  dedup: Record<string, number>;
  /** Bytes of the distinct chunks (estimated as sampled bytes / rate under `sample`). */
  uniqueBytes: Record<string, number>;
  cdc?: CdcParameters & { chunks: number };
  /**
   * Per codec: by default only `zstd-1`; every codec with `full` or custom `codecs`; empty when `perChunk`
   * is false without `full`. Ratios are uncompressed / compressed bytes. Under `sample`, `whole` is NaN
   * (JSON: null) when no 4 MiB segment fell in the sample (inputs under about 4 MiB / `sample` bytes), and
   * a `perChunk` entry is NaN when none of its distinct chunks did.
   */
  compression: Record<string, { whole: number; perChunk: Record<string, number> }>;
  zeroChunks: Record<string, number>;
  /** The chunk index (native analyzer only): fingerprint and memory held at the end, in bytes. */
  index?: { hash: 'xxh3-128' | 'sha-256'; bytes: number };
  /**
   * When any ratio is estimated (under `sample`, or when per-chunk compression was sampled to its budget):
   * the rate of `sample` (1 without it), the fraction of distinct chunks compressed alone per chunking,
   * and 95 % confidence intervals of every ratio ([v, v] where a ratio is exact).
   */
  sample?: {
    rate: number;
    /** Fraction of the distinct chunks of each chunking compressed alone (1 = all of them). */
    perChunkRate?: Record<string, number>;
    confidence: number;
    dedup: Record<string, Interval>;
    compression: Record<string, { whole: Interval; perChunk: Record<string, Interval> }>;
  };
}

/** Every key of {@link AnalyzeOptions}, for {@link checkOptionKeys}. */
export const ANALYZE_OPTION_KEYS = optionKeys<AnalyzeOptions>({
  chunkSizes: true,
  cdc: true,
  codecs: true,
  perChunk: true,
  full: true,
  hash: true,
  sample: true,
});

/**
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when `sizes` is not an array of numbers; RangeError for chunk
 *   sizes that are not whole numbers of 1 B to 1 GiB.
 */
export function checkChunkSizes(sizes: unknown): asserts sizes is number[] {
  if (!Array.isArray(sizes)) throw invalidType('ERR_DGEN_INVALID_OPTION', 'chunkSizes', sizes, 'an array of sizes in bytes');
  for (const s of sizes) validateInteger('chunkSizes', s, { min: 1, max: 2 ** 30, unit: ' bytes' });
}

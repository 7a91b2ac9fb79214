/**
 * Options and report shape of {@link Analyzer} (lib/analyze/analyzer.ts), shared with the JavaScript
 * reference analyzer (lib/analyze/reference-analyzer.ts).
 * @module
 */
import type { CdcParameters } from './fastcdc.js';
import type { Codec } from './codecs.js';
import { invalidRange } from '../errors.js';

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
  /** Measure per-chunk compression (costly: every unique chunk, every chunk size, every codec). Default true. */
  perChunk?: boolean;
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

/** A 95 % confidence interval [low, high] of an estimated ratio; null where the sample holds too few items. */
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
  compression: Record<string, { whole: number; perChunk: Record<string, number> }>;
  zeroChunks: Record<string, number>;
  /** The chunk index (native analyzer only): fingerprint and memory held at the end, in bytes. */
  index?: { hash: 'xxh3-128' | 'sha-256'; bytes: number };
  /** Under `sample`: the rate and 95 % confidence intervals of every estimated ratio. */
  sample?: {
    rate: number;
    confidence: number;
    dedup: Record<string, Interval>;
    compression: Record<string, { whole: Interval; perChunk: Record<string, Interval> }>;
  };
}

/** @throws RangeError `ERR_DGEN_INVALID_OPTION` for chunk sizes that are not whole numbers of 1 B to 1 GiB. */
export function checkChunkSizes(sizes: number[]): void {
  for (const s of sizes) {
    if (!Number.isSafeInteger(s) || s < 1 || s > 2 ** 30) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'chunkSizes', s, 'whole numbers of bytes from 1 to 1 GiB');
  }
}

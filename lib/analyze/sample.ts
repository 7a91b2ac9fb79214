/**
 * Estimators of `dgen analyze --sample RATE` and their 95 % confidence intervals.
 *
 * What is sampled (cpp/analyze.h): every byte is still read and every chunk fingerprinted (the dedup
 * ratio of data one has not read cannot be estimated without bias: Harnik, Margalit, Naor, Sotnikov and
 * Vernik, "Estimation of Deduplication Ratios in Large Data Sets", IEEE MSST 2012, show that a small
 * uniform sample of chunks cannot tell a chunk seen once from one seen many times). What is skipped is
 * the costly part: the chunk index holds, per chunking, only fingerprints below RATE x 2^64, and only those
 * chunks are compressed alone; whole-stream compression runs on the 4 MiB segments a hash of (input,
 * segment index) selects at RATE. This is content-based sampling ("sample by fingerprint"; Xie, Condict
 * and Shete, "Estimating Duplication by Content-based Sampling", USENIX ATC 2013): every copy of a chunk
 * is kept or dropped together, so the kept fingerprints are a Bernoulli(RATE) sample of the distinct
 * chunks, each with its exact count of copies.
 *
 * - Dedup ratio (logical chunks / distinct chunks = the mean number of copies of a distinct chunk): the
 *   mean count over the kept distinct chunks; interval mean +- z * sqrt((1 - RATE) * s^2 / n), s^2 the
 *   counts' sample variance, n the kept distinct chunks.
 * - Compression ratios (per chunk: over kept distinct chunks; whole: over kept segments): the ratio
 *   estimator R = sum(bytes) / sum(compressed) with its delta-method (linearization) variance
 *   (1 - RATE) / (n * mean(compressed)^2) * sum((bytes_i - R * compressed_i)^2) / (n - 1)
 *   (Cochran, "Sampling Techniques", 3rd ed., Wiley 1977, section 6.3-6.4).
 *
 * Intervals use Student's t quantile for fewer than 31 items, z beyond. Both are normal approximations: they hold when the sample has many items and no single item weighs
 * much. A chunk with a huge count (a run of zeros) is either in the sample or not; zeroChunks stays exact,
 * as every chunk is still counted.
 * @module
 */
import type { Interval } from './options.js';

/** z of a two-sided 95 % normal interval. */
export const Z95 = 1.959963984540054;

// Student's t, two-sided 95 %, for 1 to 30 degrees of freedom: with few sampled items (whole-stream
// segments of a small input) the variance is itself uncertain, and z would give intervals too narrow.
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 95 % two-sided quantile for an estimate from `n` items (Student's t with n - 1 degrees of freedom). */
export function quantile95(n: number): number {
  return T95[n - 2] ?? Z95;
}

/** Sums over sampled items: n items, x bytes, y[c] compressed bytes per codec (cpp/analyze.h RatioMoments). */
export interface RatioMoments {
  n: number;
  x: number;
  xx: number;
  y: number[];
  yy: number[];
  xy: number[];
}

/** An estimate and its interval; the interval is null with fewer than 2 items. */
export interface Estimate {
  estimate: number;
  interval: Interval;
}

/**
 * Ratio estimator sum(x) / sum(y) over a Bernoulli(`rate`) sample with its delta-method 95 % interval.
 * @param m sums over the sampled items; `codec` picks y.
 */
export function ratioEstimate(m: RatioMoments, codec: number, rate: number): Estimate {
  const y = m.y[codec]!;
  const r = y === 0 ? 1 : m.x / y;
  if (m.n < 2 || y === 0) return { estimate: r, interval: null };
  const residual = Math.max(0, (m.xx - 2 * r * m.xy[codec]! + r * r * m.yy[codec]!) / (m.n - 1));
  const meanY = y / m.n;
  const se = Math.sqrt(((1 - rate) * residual) / (m.n * meanY * meanY));
  const q = quantile95(m.n);
  return { estimate: r, interval: [Math.max(0, r - q * se), r + q * se] };
}

/**
 * Dedup ratio from the kept distinct chunks: the mean of their counts, with its 95 % interval.
 * @param n kept distinct chunks; `sum`, `squares`: sum of their counts and of the counts' squares.
 */
export function dedupEstimate(n: number, sum: number, squares: number, rate: number): Estimate {
  const mean = n === 0 ? 1 : sum / n;
  if (n < 2) return { estimate: mean, interval: null };
  const variance = Math.max(0, (squares - n * mean * mean) / (n - 1));
  const se = Math.sqrt(((1 - rate) * variance) / n);
  const q = quantile95(n);
  return { estimate: mean, interval: [Math.max(1, mean - q * se), mean + q * se] };
}

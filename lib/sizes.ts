/**
 * Object sizes of a bulk put: fixed, or drawn from a distribution, deterministically from the seed and
 * the object's index (so a run, or one shard of it, can be repeated exactly).
 *
 * Forms (sizes as in {@link parseSize}):
 * - `SIZE`: every object is SIZE bytes.
 * - `uniform:MIN,MAX`: uniform on [MIN, MAX].
 * - `lognormal:MEAN,STDDEV[,MIN,MAX]`: log-normal with that mean and standard deviation of the size
 *   itself (sigma^2 = ln(1 + STDDEV^2/MEAN^2), mu = ln(MEAN) - sigma^2/2), clamped to [MIN, MAX]
 *   (default [0, 2^53-1]).
 * - `SIZE:WEIGHT%,SIZE:WEIGHT%,...`: a weighted list, e.g. `4KiB:50%,1MiB:40%,64MiB:10%` (weights need not
 *   add up to 100; they are normalized).
 *
 * Object i's uniforms come from SplitMix64 outputs keyed by hash(seed, i), never from a running stream.
 * @module
 */
import { invalidRange } from './errors.js';
import { parseSize, MAX_SIZE } from './params.js';
import { GOLDEN_GAMMA, MASK64 as M64, mix64 } from './splitmix64.js';

/** A parsed size specification. */
export interface SizeDistribution {
  /** The specification as given (normalized), e.g. `uniform:4096,1048576`. */
  readonly spec: string;
  /** Size in bytes of object `index` in a run with `seed`. */
  sizeOf(seed: bigint, index: number): number;
  /** Mean size in bytes (the clamped lognormal's is approximate). */
  readonly mean: number;
}

const DOMAIN_SIZES = 0x9b05688c2b3e6c1fn; // sqrt(13), beside the native code's domain separators

/** The k-th uniform in [0, 1) of object `index` (53 bits). */
function uniform(seed: bigint, index: number, k: number): number {
  const key = mix64(mix64(seed ^ DOMAIN_SIZES) ^ mix64((BigInt(index) + GOLDEN_GAMMA) & M64));
  const z = mix64((key + BigInt(k + 1) * GOLDEN_GAMMA) & M64);
  return Number(z >> 11n) / 2 ** 53;
}

/**
 * Rewrites the one-letter suffixes of fio and dd (`k`, `m`, `g`, `t`, either case) as the binary units
 * they mean there: `4k` -> `4KiB` (4096), `1g` -> `1GiB` (2^30), `1.5M` -> `1.5MiB`. Every size in the text
 * is rewritten (`uniform:4k,1m` -> `uniform:4KiB,1MiB`); `KiB`, `kB`, `kb` and plain numbers are left as
 * they are, so `kB`/`kb`/`KB`, `MB`, `GB`, `TB` stay SI (powers of 1000) as {@link parseSize} reads them.
 * @param text - a size or size specification as a person typed it.
 * @returns the text with every one-letter suffix spelled as its binary unit.
 */
export function binarySuffixes(text: string): string {
  return text.replace(/(\d|\.)\s*([kmgt])(?![a-z])/gi, (_, digit: string, unit: string) => `${digit}${unit.toUpperCase()}iB`);
}

function bad(value: unknown): RangeError {
  return invalidRange(
    'ERR_DGEN_INVALID_SIZE',
    'size',
    value,
    'a size (e.g. 1MiB), uniform:MIN,MAX, lognormal:MEAN,STDDEV[,MIN,MAX], or a weighted list like 4KiB:50%,1MiB:50%',
  );
}

/**
 * Parses a size specification (see the module documentation).
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_SIZE` when it does not parse or its bounds are inverted.
 */
export function parseSizeDistribution(value: unknown): SizeDistribution {
  if (typeof value === 'number' || (typeof value === 'string' && !/[:%]/.test(value))) {
    const size = parseSize('size', value);
    return { spec: String(size), mean: size, sizeOf: () => size };
  }
  if (typeof value !== 'string') throw bad(value);
  const text = value.trim();
  const size = (s: string | undefined) => {
    if (s === undefined) throw bad(value);
    try {
      return parseSize('size', s.trim());
    } catch {
      throw bad(value);
    }
  };
  if (text.startsWith('uniform:')) {
    const parts = text.slice(8).split(',');
    if (parts.length !== 2) throw bad(value);
    const [min, max] = [size(parts[0]), size(parts[1])];
    if (min > max) throw bad(value);
    return {
      spec: `uniform:${min},${max}`,
      mean: (min + max) / 2,
      sizeOf: (seed, i) => min + Math.floor(uniform(seed, i, 0) * (max - min + 1)),
    };
  }
  if (text.startsWith('lognormal:')) {
    const parts = text.slice(10).split(',');
    if (parts.length !== 2 && parts.length !== 4) throw bad(value);
    const [mean, sd] = [size(parts[0]), size(parts[1])];
    const [min, max] = parts.length === 4 ? [size(parts[2]), size(parts[3])] : [0, MAX_SIZE];
    if (mean <= 0 || min > max) throw bad(value);
    const sigma2 = Math.log(1 + (sd * sd) / (mean * mean));
    const mu = Math.log(mean) - sigma2 / 2;
    const sigma = Math.sqrt(sigma2);
    return {
      spec: `lognormal:${mean},${sd},${min},${max}`,
      mean,
      sizeOf: (seed, i) => {
        // Box-Muller on two of the object's uniforms.
        const u1 = 1 - uniform(seed, i, 0);
        const u2 = uniform(seed, i, 1);
        const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        return Math.min(max, Math.max(min, Math.round(Math.exp(mu + sigma * z))));
      },
    };
  }
  const entries = text.split(',').map((part) => {
    const m = /^(.+):\s*(\d+(?:\.\d+)?)\s*%?$/.exec(part.trim());
    if (!m) throw bad(value);
    return { size: size(m[1]), weight: Number(m[2]) };
  });
  const total = entries.reduce((a, e) => a + e.weight, 0);
  if (!(total > 0)) throw bad(value);
  let acc = 0;
  const cumulative = entries.map((e) => (acc += e.weight / total));
  return {
    spec: entries.map((e) => `${e.size}:${e.weight}%`).join(','),
    mean: entries.reduce((a, e) => a + (e.size * e.weight) / total, 0),
    sizeOf: (seed, i) => {
      const u = uniform(seed, i, 0);
      const k = cumulative.findIndex((c) => u < c);
      return entries[k === -1 ? entries.length - 1 : k]!.size;
    },
  };
}

/** The size of every object when the distribution is a plain size, else undefined. */
function fixedSizeOf(sizes: SizeDistribution): number | undefined {
  return /^\d+$/.test(sizes.spec) ? Number(sizes.spec) : undefined;
}

/**
 * Dedup units of the objects before object `index` of a run: in dataset scope, the object's first unit
 * in the data set (a put's `unitOffset`). Objects take whole units (the last one partial): the sum of
 * ceil(size / unit) over indexes 0 to index - 1. Arithmetic for a fixed size, O(index) otherwise.
 * @param unitBytes - the dedup unit in bytes.
 */
export function unitsBefore(sizes: SizeDistribution, seed: bigint, index: number, unitBytes: number): number {
  const fixed = fixedSizeOf(sizes);
  if (fixed !== undefined) return index * Math.ceil(fixed / unitBytes);
  let units = 0;
  for (let i = 0; i < index; i++) units += Math.ceil(sizes.sizeOf(seed, i) / unitBytes);
  return units;
}

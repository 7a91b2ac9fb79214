/**
 * `ratioCodec`: makes `compressRatio` exact for one named codec instead of the average over codecs the
 * layout is calibrated for by default (cpp/layout.cc).
 *
 * Method: benchmarks/calibrate-ratio-codec.ts generates samples at a grid of layout ratios c' (the ratio
 * the native generator is given) and measures, with the real codecs (the zstd, gzip and lz4 command-line
 * tools for whole streams; python-zstandard, zlib and python-lz4 per chunk), the ratio r(c') each named
 * codec reaches: at 33 points from 1 to 102.4, and every 2% of c' for whole-stream zstd and lz4, whose
 * ratio is jagged in c' (about +-0.5% over a few percent). The table it writes (lib/ratio-codec-table.ts, with the codec versions measured with) is
 * inverted here: for a requested c, the c' with r(c') = c, by piecewise-linear interpolation of 1/r
 * against 1/c' (both are compressed and keystream bytes per input byte, and nearly proportional: a codec
 * adds a roughly constant cost per sector), which is monotone because the table is.
 *
 * A checked-in table rather than a self-calibration at start-up: the bytes of an object stay a pure
 * function of (seed, parameters including `ratioCodec`, object, offset) on every machine, whatever codec
 * versions it has installed, so `verify` and `cat --manifest` regenerate the same bytes anywhere. The price
 * is that a codec release that compresses differently makes the table stale; test/ratio-codec.test.ts
 * fails when the installed codecs drift from it by more than the tolerance, and the script regenerates it.
 *
 * What each name means (see benchmarks/calibrate-ratio-codec-measure.ts):
 * - `zstd-1`, `zstd-3`, `gzip-6`, `lz4`: the whole object through `zstd -1`, `zstd -3`, `gzip -6`, `lz4`
 *   (lz4's default: level 1, one LZ4 frame), container headers included.
 * - `CODEC-LEVEL@CHUNK` with CHUNK in 4, 8, 16, 32, 64 KiB: the object cut into aligned chunks of CHUNK
 *   bytes, duplicates dropped, each unique chunk compressed alone: `zstd-1`/`zstd-3` as one zstd frame,
 *   `deflate-6` as raw deflate (zlib level 6, no wrapper), `lz4` as one LZ4 block (fast mode).
 * @module
 */
import bytes from 'bytes-iec';
import { invalidRange, invalidType } from './errors.js';
import { RATIO_CODEC_TABLE } from './ratio-codec-table.js';

/** Every `ratioCodec` accepted, in canonical form (`CODEC[-LEVEL][@CHUNK]`, the chunk in bytes). */
export const RATIO_CODECS: readonly string[] = Object.freeze(Object.keys(RATIO_CODEC_TABLE));

const WHOLE_NAMES = RATIO_CODECS.filter((n) => !n.includes('@'));
const CHUNK_NAMES = [...new Set(RATIO_CODECS.filter((n) => n.includes('@')).map((n) => n.split('@')[0]!))];
const CHUNK_SIZES = [...new Set(RATIO_CODECS.filter((n) => n.includes('@')).map((n) => Number(n.split('@')[1])))].sort(
  (a, b) => a - b,
);
const ALLOWED =
  `one of ${WHOLE_NAMES.join(', ')} (whole stream), or ${CHUNK_NAMES.join(', ')} followed by ` +
  `@CHUNK with CHUNK one of ${CHUNK_SIZES.map((c) => `${c / 1024}KiB`).join(', ')} (each chunk alone, after dedup)`;

/**
 * Parses a ratio codec name into its canonical form.
 *
 * Accepted: `CODEC[-LEVEL][@CHUNK]`, case-insensitive, CHUNK a size in bytes or a binary size string
 * (`4096`, `4KiB`); `lz4-1` is `lz4`. Canonical: lower case, the chunk in bytes, e.g. `zstd-1`,
 * `deflate-6@4096`, `lz4@65536`. The accepted set is {@link RATIO_CODECS}.
 * @param parameter - name for the error message, e.g. `"ratioCodec"`.
 * @param value - the name as given.
 * @returns the canonical name, a member of {@link RATIO_CODECS}.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when value is not a string; RangeError
 *   `ERR_DGEN_INVALID_OPTION` (with `parameter` and `value`) when it is not a calibrated codec, level and
 *   chunk size, listing the allowed ones.
 */
export function parseRatioCodec(parameter: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType('ERR_DGEN_INVALID_OPTION', parameter, value, `a string: ${ALLOWED}`);
  const m = /^\s*([a-z][a-z0-9]*?)(?:-(\d+))?(?:@(.+?))?\s*$/i.exec(value);
  if (m) {
    const codec = m[1]!.toLowerCase();
    const level = m[2] === undefined ? undefined : Number(m[2]);
    let name =
      codec === 'lz4'
        ? level === undefined || level === 1
          ? 'lz4'
          : `lz4-${level}`
        : level === undefined
          ? codec
          : `${codec}-${level}`;
    if (m[3] !== undefined) {
      const chunk = bytes.parse(m[3].trim());
      name += `@${chunk === null ? 'x' : chunk}`;
    }
    if (RATIO_CODECS.includes(name)) return name;
  }
  throw invalidRange('ERR_DGEN_INVALID_OPTION', parameter, value, ALLOWED);
}

/**
 * The largest compression ratio the named codec reaches on the layout (at one keystream byte per
 * 512-byte sector): the upper bound of `compressRatio` with this `ratioCodec` (at least 64 for every
 * calibrated codec).
 * @param ratioCodec - a canonical name (from {@link parseRatioCodec}).
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` when the name is not canonical.
 */
export function maxCompressRatio(ratioCodec: string): number {
  const { ratio } = tableRow(ratioCodec);
  return ratio[ratio.length - 1]!;
}

function tableRow(ratioCodec: string): (typeof RATIO_CODEC_TABLE)[string] {
  const row = RATIO_CODEC_TABLE[ratioCodec];
  if (!row) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'ratioCodec', ratioCodec, ALLOWED);
  return row;
}

/**
 * The compression ratio to give the native layout so that the named codec measures `compressRatio`:
 * the inverse of the calibration table (see the module comment). Without a codec, `compressRatio` itself
 * (the layout's own calibration for all codecs). Computed once per object, not per sector.
 * @param compressRatio - the requested ratio c >= 1 (already validated); 1 stays 1 (incompressible data:
 *   no codec measures more than 1 on it, and none should be asked to).
 * @param ratioCodec - canonical name, or undefined.
 * @returns the layout ratio c' >= 1 (up to 102.4, where the layout keeps one keystream byte per sector).
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` for a name that is not canonical; RangeError
 *   `ERR_DGEN_INVALID_RATIO` when c is above {@link maxCompressRatio} for the codec.
 */
export function layoutCompressRatio(compressRatio: number, ratioCodec?: string): number {
  if (ratioCodec === undefined || compressRatio <= 1) return compressRatio;
  const { grid, ratio } = tableRow(ratioCodec);
  const last = ratio.length - 1;
  if (compressRatio > ratio[last]!) {
    throw invalidRange(
      'ERR_DGEN_INVALID_RATIO',
      'compressRatio',
      compressRatio,
      `a number from 1 to ${ratio[last]} (the most ${ratioCodec} reaches)`,
    );
  }
  // First grid point at or above c (binary search): the segment before it rises strictly, so this is the
  // smallest c' that reaches c.
  let lo = 0,
    hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ratio[mid]! < compressRatio) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return grid[0]!;
  const u0 = 1 / ratio[lo - 1]!,
    u1 = 1 / ratio[lo]!;
  const x0 = 1 / grid[lo - 1]!,
    x1 = 1 / grid[lo]!;
  const x = x0 + ((1 / compressRatio - u0) * (x1 - x0)) / (u1 - u0);
  return Math.max(1, 1 / x);
}

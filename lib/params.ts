/**
 * Validation of every public parameter, in one place. Everything that takes sizes, ratios or seeds
 * (generator, streams, sinks, CLI) goes through these functions, so each mistake gets the same typed
 * error wherever it is made.
 * @module
 */
import { randomBytes } from 'node:crypto';
import bytes from 'bytes-iec';
import { invalidRange, invalidType } from './errors.js';
import { optionKeys } from './option-keys.js';
import { validateInteger } from './validators.js';
import { MAX_DEDUP_UNIT, MAX_THREADS, SECTOR } from './limits.js';

/** The limits both the addon and this side check, defined once in cpp/limits.h (see limits.ts). */
export { SECTOR, MAX_DEDUP_UNIT, MAX_CHUNK_SIZE } from './limits.js';
import { maxCompressRatio, parseRatioCodec } from './ratio-codec.js';

/** Default dedup unit: 4 KiB, the chunk size most dedup engines use. */
export const DEFAULT_DEDUP_UNIT = 4096;
/** Largest compression ratio accepted. Past about 10 each sector's match overhead limits what real
 * compressors reach (see README, "Accuracy"); 64 still leaves 4 keystream bytes in every sector. */
export const MAX_COMPRESS_RATIO = 64;
/** Largest object size: 2^53 - 1 bytes (`Number.MAX_SAFE_INTEGER`). */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const MAX_U64 = (1n << 64n) - 1n;

/** A size in bytes: a non-negative integer, or a string such as `"4096"`, `"64MiB"`, `"1GB"`, `"1.5 KiB"`.
 * Binary prefixes (KiB, MiB, GiB, TiB) are powers of 1024, SI prefixes (kB/KB, MB, GB, TB) powers of 1000. */
export type SizeInput = number | string;

/** Number and unit of a size string; bytes-iec gives each unit's multiplier. It floors fractions itself
 * ("1.5" would be 1 byte), so the fraction is checked here: a size must come to a whole number of bytes. */
function parseSizeString(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  // fio's and dd's one-letter suffixes are binary (4k = 4096, 1g = 2^30), as the CLI reads them; bytes-iec
  // reads `kB`/`MB` as SI and `KiB`/`MiB` as binary.
  const unit = /^[kmgt]$/i.test(m[2]!) ? `${m[2]!.toUpperCase()}iB` : m[2]!;
  const multiplier = bytes.parse(`1${unit}`);
  if (multiplier === null) return null;
  const exact = Number(m[1]) * multiplier;
  const whole = Math.round(exact);
  return Math.abs(exact - whole) <= 1e-9 * Math.max(1, exact) ? whole : null;
}

/**
 * Parses a size in bytes (parsing by the `bytes-iec` package).
 * @param parameter - name used in the error message, e.g. `"size"`.
 * @param value - a number or a size string.
 * @param code - error code to throw with; default `ERR_DGEN_INVALID_SIZE`.
 * @returns the size in bytes, a safe integer >= 0.
 * @throws TypeError `ERR_DGEN_INVALID_SIZE` when the value is neither number nor string;
 *   RangeError with `code` when it does not parse, is negative, fractional or above 2^53 - 1.
 */
export function parseSize(
  parameter: string,
  value: unknown,
  code: Parameters<typeof invalidRange>[0] = 'ERR_DGEN_INVALID_SIZE',
): number {
  const allowed = 'a whole number of bytes from 0 to 2^53-1, or a size string like "4096", "4k", "64MiB" or "1GB"';
  let n: number | null;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = value <= BigInt(MAX_SIZE) && value >= 0n ? Number(value) : -1;
  else if (typeof value === 'string') n = parseSizeString(value);
  else throw invalidType(code, parameter, value, allowed);
  if (n === null || !Number.isSafeInteger(n) || n < 0) throw invalidRange(code, parameter, value, allowed);
  return n;
}

/**
 * Validates a ratio (dedup or compression).
 * @returns the ratio, a finite number in [1, max].
 * @throws RangeError `ERR_DGEN_INVALID_RATIO` when not a finite number in [1, max] (strings of numbers are accepted).
 */
export function parseRatio(parameter: string, value: unknown, max = Infinity): number {
  const allowed = `a number from 1 to ${max === Infinity ? 'any finite value' : max}`;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number') throw invalidType('ERR_DGEN_INVALID_RATIO', parameter, value, allowed);
  if (!Number.isFinite(n) || n < 1 || n > max) throw invalidRange('ERR_DGEN_INVALID_RATIO', parameter, value, allowed);
  return n;
}

/**
 * Validates a size that must be a positive multiple of the 512-byte sector (dedup unit, chunk size).
 * @throws RangeError with `code` when not a multiple of 512 in [512, max].
 */
export function parseSectorMultiple(
  parameter: string,
  value: unknown,
  code: Parameters<typeof invalidRange>[0],
  max: number,
): number {
  const allowed = `a multiple of 512 bytes from 512 to ${max}`;
  const n = parseSize(parameter, value, code);
  if (n < SECTOR || n > max || n % SECTOR !== 0) throw invalidRange(code, parameter, value, allowed);
  return n;
}

/**
 * Validates a 64-bit unsigned integer given as bigint, safe integer or decimal/hex string.
 * @throws TypeError/RangeError with `code` otherwise.
 */
export function parseU64(parameter: string, value: unknown, code: Parameters<typeof invalidRange>[0]): bigint {
  const allowed = 'an integer from 0 to 2^64-1 (bigint, safe integer, or decimal string)';
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalidRange(code, parameter, value, allowed);
    n = BigInt(value);
  } else if (typeof value === 'string' && /^\s*(\d+|0x[0-9a-f]+)\s*$/i.test(value)) n = BigInt(value.trim());
  else if (typeof value === 'string') throw invalidRange(code, parameter, value, allowed);
  else throw invalidType(code, parameter, value, allowed);
  if (n < 0n || n > MAX_U64) throw invalidRange(code, parameter, value, allowed);
  return n;
}

/** 64 random bits from the operating system's CSPRNG: the seed when none is given. */
export function randomSeed(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

/** What the data looks like; shared by every object of a run. */
export interface DataOptions {
  /** Dedup ratio d >= 1: the object holds round(n / d) unique dedup units out of n. Default 1. */
  dedupRatio?: number | string;
  /** Compression ratio c in [1, 64]: what real compressors measure on the data. Default 1. */
  compressRatio?: number | string;
  /** The codec `compressRatio` is exact for, `CODEC[-LEVEL][@CHUNK]`: `zstd-1`, `zstd-3`, `gzip-6` or `lz4`
   * for the whole object through that command-line tool, or `zstd-1`, `zstd-3`, `deflate-6` or `lz4` at
   * `@4KiB` to `@64KiB` (powers of two) for each unique chunk compressed alone (see lib/ratio-codec.ts for
   * what each means and how it is calibrated); every one reaches `compressRatio` 64. Part of the object's
   * parameters: it changes the bytes. Default: none (one calibration
   * for zstd, gzip and lz4 together, each a few percent off in its own direction). */
  ratioCodec?: string;
  /** Dedup unit U in bytes (or a size string): a multiple of 512 up to 1 GiB. Default 4 KiB. */
  dedupUnit?: SizeInput;
  /** 64-bit seed (bigint, safe integer or decimal string). Default: 64 random bits, reported back. */
  seed?: bigint | number | string;
}

/** Everything that determines one object's bytes. */
export interface GeneratorOptions extends DataOptions {
  /** Object size in bytes (or a size string), 0 to 2^53-1. Required. */
  size: SizeInput;
  /** Object identity (e.g. its index in a bulk put), 0 to 2^64-1. Objects with different identities share
   * no data. Default 0. */
  objectId?: bigint | number | string;
  /** Dataset dedup scope: the number of dedup units in the whole data set, which dedups as one (objects
   * draw their units from one pool shared by all). Set by bulk puts with `dedupScope: 'dataset'`; with it
   * `unitOffset` is this object's first unit in the data set. Default: object scope. */
  datasetUnits?: number;
  /** Index of this object's first dedup unit in the data set (dataset scope only). Default 0. */
  unitOffset?: number;
  /** Threads a large fill is split over (1: the calling thread only). Default: every pool worker. */
  threads?: number;
  /** Keystream kernel: `"auto"` (fastest this CPU runs), `"scalar"`, `"avx2"` or `"avx512"`. All give the
   * same bytes. Default `"auto"`. */
  kernel?: string;
}

/** Every key of {@link GeneratorOptions} (compile-time checked against it). */
export const GENERATOR_OPTION_KEYS = optionKeys<GeneratorOptions>({
  dedupRatio: true,
  compressRatio: true,
  ratioCodec: true,
  dedupUnit: true,
  seed: true,
  size: true,
  objectId: true,
  datasetUnits: true,
  unitOffset: true,
  threads: true,
  kernel: true,
});

/** Validated, normalized data options. */
export interface DataConfig {
  dedupRatio: number;
  compressRatio: number;
  /** The named codec `compressRatio` is calibrated for, in canonical form; absent: none. */
  ratioCodec?: string;
  dedupUnit: number;
  seed: bigint;
}

/** Validated, normalized generator options. */
export interface GeneratorConfig extends DataConfig {
  size: number;
  objectId: bigint;
  kernel: string;
  /** 0: every pool worker. */
  threads: number;
  /** 0 in object scope. */
  datasetUnits: number;
  unitOffset: number;
}

/**
 * Validates the options shared by every object of a run.
 * @throws RangeError/TypeError with codes `ERR_DGEN_INVALID_RATIO` (also for a `compressRatio` above what
 *   the `ratioCodec` reaches), `ERR_DGEN_INVALID_OPTION` (a `ratioCodec` that is not calibrated),
 *   `ERR_DGEN_INVALID_DEDUP_UNIT`, `ERR_DGEN_INVALID_SEED`.
 */
export function parseDataOptions(options: DataOptions): DataConfig {
  const ratioCodec = options.ratioCodec === undefined ? undefined : parseRatioCodec('ratioCodec', options.ratioCodec);
  return {
    dedupRatio: options.dedupRatio === undefined ? 1 : parseRatio('dedupRatio', options.dedupRatio),
    compressRatio:
      options.compressRatio === undefined
        ? 1
        : parseRatio(
            'compressRatio',
            options.compressRatio,
            ratioCodec === undefined ? MAX_COMPRESS_RATIO : Math.min(MAX_COMPRESS_RATIO, maxCompressRatio(ratioCodec)),
          ),
    ...(ratioCodec !== undefined && { ratioCodec }),
    dedupUnit:
      options.dedupUnit === undefined
        ? DEFAULT_DEDUP_UNIT
        : parseSectorMultiple('dedupUnit', options.dedupUnit, 'ERR_DGEN_INVALID_DEDUP_UNIT', MAX_DEDUP_UNIT),
    seed: options.seed === undefined ? randomSeed() : parseU64('seed', options.seed, 'ERR_DGEN_INVALID_SEED'),
  };
}

/**
 * Validates generator options.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when options is not an object; the errors of
 *   {@link parseDataOptions}; `ERR_DGEN_INVALID_SIZE`, `ERR_DGEN_INVALID_OBJECT_ID`.
 */
export function parseGeneratorOptions(options: GeneratorOptions): GeneratorConfig {
  if (options === null || typeof options !== 'object') {
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'options', options, 'an object with at least { size }');
  }
  if (options.size === undefined) throw invalidType('ERR_DGEN_INVALID_SIZE', 'size', undefined, 'given (bytes or a size string)');
  const kernel = options.kernel ?? 'auto';
  if (typeof kernel !== 'string') throw invalidType('ERR_DGEN_INVALID_OPTION', 'kernel', kernel, 'a string');
  const data = parseDataOptions(options);
  const size = parseSize('size', options.size);
  const units = Math.ceil(size / data.dedupUnit);
  const datasetUnits = options.datasetUnits === undefined ? 0 : parseCount('datasetUnits', options.datasetUnits);
  const unitOffset = options.unitOffset === undefined ? 0 : parseCount('unitOffset', options.unitOffset);
  if (datasetUnits === 0 && unitOffset !== 0) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'unitOffset', unitOffset, '0 unless datasetUnits is given');
  }
  if (datasetUnits !== 0 && unitOffset + units > datasetUnits) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'unitOffset',
      unitOffset,
      `at most datasetUnits - units = ${datasetUnits - units}`,
    );
  }
  return {
    ...data,
    size,
    objectId: options.objectId === undefined ? 0n : parseU64('objectId', options.objectId, 'ERR_DGEN_INVALID_OBJECT_ID'),
    kernel,
    threads: options.threads === undefined ? 0 : parseThreads(options.threads),
    datasetUnits,
    unitOffset,
  };
}

function parseThreads(value: unknown): number {
  return validateInteger('threads', value, { min: 1, max: MAX_THREADS });
}

function parseCount(parameter: string, value: unknown): number {
  return validateInteger(parameter, value);
}

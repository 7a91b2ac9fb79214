/**
 * Typed errors. Every error this package throws for bad input is a built-in `RangeError` or `TypeError`
 * carrying a stable `code` (in the style of Node's `ERR_*` codes), the parameter's name and the value.
 * @module
 */

/**
 * Every code this package puts on an error, with its meaning: the one place they are declared.
 * Input errors (`ERR_DGEN_INVALID_*`) are `RangeError`s or `TypeError`s thrown before anything is created;
 * the others are plain `Error`s (built by {@link dgenError}) about what happened while running.
 */
export const ERROR_CODES = {
  ERR_DGEN_INVALID_SIZE: 'a size (bytes or a size string) is out of range or malformed',
  ERR_DGEN_INVALID_RATIO: 'a dedup or compression ratio is out of range or malformed',
  ERR_DGEN_INVALID_DEDUP_UNIT: 'the dedup unit is not a multiple of 512 bytes in range',
  ERR_DGEN_INVALID_CHUNK_SIZE: 'a chunk size is not a multiple of 512 bytes in range',
  ERR_DGEN_INVALID_SEED: 'the seed is not a 64-bit unsigned integer',
  ERR_DGEN_INVALID_OBJECT_ID: 'an object id is not a 64-bit unsigned integer',
  ERR_DGEN_INVALID_OFFSET: 'a byte offset is out of range',
  ERR_DGEN_INVALID_TARGET: 'a put or verify target is malformed',
  ERR_DGEN_INVALID_OPTION: 'an option has the wrong type, is out of range, unknown or conflicts with another',
  ERR_DGEN_INVALID_MANIFEST: 'a manifest (or its records) is malformed, inconsistent or untrusted beyond its limits',
  ERR_DGEN_MANIFEST_UNSUPPORTED:
    'verify cannot regenerate the files of this manifest: a format manifest (fileFormat) without the parameters needed, of an unknown format, or whose files this version writes differently',
  ERR_DGEN_INVALID_COMPRESSION: 'a compression codec or level is unknown or out of range',
  ERR_DGEN_INVALID_URI: 'a URI is malformed or names an unsupported scheme',
  ERR_DGEN_INVALID_INPUT: 'an analyze input is not something that can be read (a special file, say)',
  ERR_DGEN_INVALID_FORMAT: 'an ML file format or its parameters are unknown or inconsistent',
  ERR_DGEN_CORRUPT_DATA: 'compressed input could not be decoded',
  ERR_DGEN_BACKEND: 'a storage backend (file system, S3, Azure) refused or failed an operation; `cause` has its error',
  ERR_DGEN_NOT_FOUND: 'an object or file to read does not exist',
  ERR_DGEN_MISSING_DEPENDENCY: 'a package an operation needs (the S3 or Azure SDK) is not installed; `packageName` names it',
  ERR_DGEN_DIRECT_IO_UNSUPPORTED: 'the file system or the request does not allow O_DIRECT',
  ERR_DGEN_TARGET_UNWRITABLE: 'the put target cannot be written (checked before the first object)',
  ERR_DGEN_TARGET_IN_USE: 'another run holds the target (its lock or partial files are live)',
  ERR_DGEN_MANIFEST_NOT_STORED: 'the objects were written but the manifest could not be stored',
  ERR_DGEN_INTERRUPTED: 'the run stopped on a signal (SIGINT, SIGTERM, SIGHUP)',
  ERR_DGEN_BUFFER_NOT_LENT: 'a buffer was given back to a pool that did not lend it, or twice',
  ERR_DGEN_PUT_FAILED: 'the CLI: some objects of a put failed (each is named in the report)',
  ERR_DGEN_VERIFY_FAILED: 'the CLI: some objects did not verify (each is named in the report)',
  ERR_DGEN_NOT_MERGED: 'the CLI: verify found shard manifests and no merged one (run dgen merge first)',
  ERR_DGEN_STDOUT_TERMINAL: 'the CLI: dgen cat refuses to write binary data to a terminal without --force',
} as const;

/** Codes of the errors dgen-stream throws; see {@link ERROR_CODES} for each one's meaning. */
export type DgenErrorCode = keyof typeof ERROR_CODES;

/** An `Error` about something that happened while running (not bad input), with a stable `code`. */
export type DgenRuntimeError = Error & { code: DgenErrorCode };

/**
 * Builds a runtime error: `message`, the stable `code`, the underlying `cause` (when given) and any extra
 * fields (`uri`, `errno`, ...).
 */
export function dgenError<T extends object = object>(
  code: DgenErrorCode,
  message: string,
  cause?: unknown,
  fields?: T,
): DgenRuntimeError & T {
  const err = cause === undefined ? new Error(message) : new Error(message, { cause });
  return Object.assign(err, fields, { code }) as DgenRuntimeError & T;
}

/** Extra fields on errors thrown by dgen-stream. */
export interface DgenErrorFields {
  /** Stable machine-readable code. */
  code: DgenErrorCode;
  /** Name of the parameter that was wrong, as the caller spelled it in the options. */
  parameter?: string;
  /** The value that was rejected. */
  value?: unknown;
}

export type DgenRangeError = RangeError & DgenErrorFields;
export type DgenTypeError = TypeError & DgenErrorFields;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Object.prototype.toString.call(value);
}

/** A `RangeError` for a value of the right type outside what is allowed. */
export function invalidRange(code: DgenErrorCode, parameter: string, value: unknown, allowed: string): DgenRangeError {
  const err = new RangeError(`${parameter} must be ${allowed}; got ${describe(value)}`) as DgenRangeError;
  return Object.assign(err, { code, parameter, value });
}

/** A `TypeError` for a value of the wrong type. */
export function invalidType(code: DgenErrorCode, parameter: string, value: unknown, allowed: string): DgenTypeError {
  const err = new TypeError(`${parameter} must be ${allowed}; got ${describe(value)}`) as DgenTypeError;
  return Object.assign(err, { code, parameter, value });
}

/**
 * Typed errors. Every error this package throws for bad input is a built-in `RangeError` or `TypeError`
 * carrying a stable `code` (in the style of Node's `ERR_*` codes), the parameter's name and the value.
 * @module
 */

/** Codes of the errors thrown for bad input. */
export type DgenErrorCode =
  | 'ERR_DGEN_INVALID_SIZE'
  | 'ERR_DGEN_INVALID_RATIO'
  | 'ERR_DGEN_INVALID_DEDUP_UNIT'
  | 'ERR_DGEN_INVALID_CHUNK_SIZE'
  | 'ERR_DGEN_INVALID_SEED'
  | 'ERR_DGEN_INVALID_OBJECT_ID'
  | 'ERR_DGEN_INVALID_OFFSET'
  | 'ERR_DGEN_INVALID_TARGET'
  | 'ERR_DGEN_INVALID_OPTION'
  | 'ERR_DGEN_INVALID_MANIFEST'
  | 'ERR_DGEN_INVALID_COMPRESSION'
  | 'ERR_DGEN_INVALID_URI'
  | 'ERR_DGEN_INVALID_INPUT'
  | 'ERR_DGEN_INVALID_FORMAT'
  | 'ERR_DGEN_CORRUPT_DATA';

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

/**
 * The shared validators every public entry point uses for options that are not sizes, ratios or seeds
 * (those are in `params.ts`): whole numbers in a range, booleans, one-of-a-set strings, AbortSignals,
 * functions. Each throws the package's typed errors (`errors.ts`) naming the parameter as the caller
 * spelled it, the value as given and what is allowed, so the same mistake reads the same everywhere.
 *
 * Modelled on the role of Node's `lib/internal/validators.js` (one place, one message shape); no code
 * is taken from it.
 * @module
 */
import { invalidRange, invalidType, type DgenErrorCode } from './errors.js';

/** Bounds and error code for {@link validateInteger}. */
export interface IntegerBounds {
  /** Smallest value allowed (inclusive); default 0. */
  min?: number;
  /** Largest value allowed (inclusive); default 2^53 - 1. */
  max?: number;
  /** Code of the error thrown; default `ERR_DGEN_INVALID_OPTION`. */
  code?: DgenErrorCode;
  /** Unit named in the message, e.g. `' bytes'` or `' ms'` (leading space included); default none. */
  unit?: string;
}

function describeBounds(min: number, max: number, unit: string): string {
  if (max === Number.MAX_SAFE_INTEGER) return `a whole number${unit} >= ${min}`;
  return `a whole number${unit} from ${min} to ${max}`;
}

/**
 * Validates a whole number in `[min, max]`.
 * @returns the value.
 * @throws TypeError (`code`, default `ERR_DGEN_INVALID_OPTION`) when not a number; RangeError when not a
 *   safe integer in range.
 */
export function validateInteger(parameter: string, value: unknown, bounds: IntegerBounds = {}): number {
  const { min = 0, max = Number.MAX_SAFE_INTEGER, code = 'ERR_DGEN_INVALID_OPTION', unit = '' } = bounds;
  const allowed = describeBounds(min, max, unit);
  if (typeof value !== 'number') throw invalidType(code, parameter, value, allowed);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalidRange(code, parameter, value, allowed);
  return value;
}

/** {@link validateInteger} for an optional option: `undefined` gives `fallback`. */
export function optionalInteger(parameter: string, value: unknown, fallback: number, bounds: IntegerBounds = {}): number {
  return value === undefined ? fallback : validateInteger(parameter, value, bounds);
}

/**
 * Validates a finite number in `[min, max]` (fractions allowed), e.g. a rate or a sampling fraction.
 * @throws TypeError / RangeError `ERR_DGEN_INVALID_OPTION` (or `code`).
 */
export function validateNumber(
  parameter: string,
  value: unknown,
  min: number,
  max: number,
  code: DgenErrorCode = 'ERR_DGEN_INVALID_OPTION',
): number {
  const allowed = `a number from ${min} to ${max === Infinity ? 'any finite value' : max}`;
  if (typeof value !== 'number') throw invalidType(code, parameter, value, allowed);
  if (!Number.isFinite(value) || value < min || value > max) throw invalidRange(code, parameter, value, allowed);
  return value;
}

/**
 * Validates `true` or `false` (no truthy strings: `'yes'` is a mistake worth reporting).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (or `code`).
 */
export function validateBoolean(parameter: string, value: unknown, code: DgenErrorCode = 'ERR_DGEN_INVALID_OPTION'): boolean {
  if (typeof value !== 'boolean') throw invalidType(code, parameter, value, 'true or false');
  return value;
}

/** {@link validateBoolean} for an optional option: `undefined` gives `fallback`. */
export function optionalBoolean(parameter: string, value: unknown, fallback: boolean, code?: DgenErrorCode): boolean {
  return value === undefined ? fallback : validateBoolean(parameter, value, code);
}

/**
 * Validates one of a closed set of strings (compared exactly).
 * @throws TypeError when not a string, RangeError when not in `allowed`; `ERR_DGEN_INVALID_OPTION` (or `code`).
 */
export function validateOneOf<T extends string>(
  parameter: string,
  value: unknown,
  allowed: readonly T[],
  code: DgenErrorCode = 'ERR_DGEN_INVALID_OPTION',
): T {
  const text = allowed.map((a) => JSON.stringify(a)).join(', ');
  if (typeof value !== 'string') throw invalidType(code, parameter, value, `one of ${text}`);
  if (!(allowed as readonly string[]).includes(value)) throw invalidRange(code, parameter, value, `one of ${text}`);
  return value as T;
}

/**
 * Validates a non-empty string.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (or `code`); `what` describes what is expected.
 */
export function validateString(
  parameter: string,
  value: unknown,
  what = 'a non-empty string',
  code: DgenErrorCode = 'ERR_DGEN_INVALID_OPTION',
): string {
  if (typeof value !== 'string' || value === '') throw invalidType(code, parameter, value, what);
  return value;
}

/**
 * Validates an optional `AbortSignal` (the `signal` option of every entry point).
 * @returns the signal or `undefined`.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when set and not an `AbortSignal`.
 */
export function validateSignal(value: unknown, parameter = 'signal'): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal))
    throw invalidType('ERR_DGEN_INVALID_OPTION', parameter, value, 'an AbortSignal');
  return value;
}

/**
 * Validates a function (a callback option).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when not a function.
 */
export function validateFunction<F extends (...args: never[]) => unknown>(parameter: string, value: unknown): F {
  if (typeof value !== 'function') throw invalidType('ERR_DGEN_INVALID_OPTION', parameter, value, 'a function');
  return value as F;
}

/**
 * Validates an options argument: `undefined` gives `{}`; anything but a plain object (or class instance)
 * is a mistake such as passing a size where the options go.
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when not an object.
 */
export function validateOptionsObject<T extends object>(parameter: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidType('ERR_DGEN_INVALID_OPTION', parameter, value, 'an options object');
  return value;
}

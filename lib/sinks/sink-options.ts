/**
 * Type checks of sink options at the boundary, before a sink (or anything it makes) exists: a library
 * caller passing `fsync: 'no'` or `partSize: '5MiB'` gets a typed error naming the option, not a sink that
 * reads `'no'` as true. Each check leaves an absent option (`undefined`) to its default.
 * @module
 */
import { invalidRange, invalidType } from '../errors.js';

/** Options as a caller passed them: any object, whose fields are checked one by one. */
type Loose = Record<string, unknown>;

/**
 * Checks that the options argument itself is an object (or absent).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`parameter` `options`) otherwise.
 */
export function checkOptionsObject(options: unknown): asserts options is Loose | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw invalidType('ERR_DGEN_INVALID_OPTION', 'options', options, 'an object of sink options');
  }
}

/** @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not a boolean. */
export function checkBoolean(options: Loose, name: string): void {
  const v = options[name];
  if (v !== undefined && typeof v !== 'boolean') throw invalidType('ERR_DGEN_INVALID_OPTION', name, v, 'true or false');
}

/**
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not a number; RangeError
 *   when it is not a whole number from `min` to `max`.
 */
export function checkInteger(options: Loose, name: string, min: number, max: number, unit = ''): void {
  const v = options[name];
  if (v === undefined) return;
  const allowed = `a whole number${unit} from ${min} to ${max}`;
  if (typeof v !== 'number') throw invalidType('ERR_DGEN_INVALID_OPTION', name, v, allowed);
  if (!Number.isSafeInteger(v) || v < min || v > max) throw invalidRange('ERR_DGEN_INVALID_OPTION', name, v, allowed);
}

/** @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not a non-empty string. */
export function checkString(options: Loose, name: string, what: string): void {
  const v = options[name];
  if (v !== undefined && (typeof v !== 'string' || v === '')) throw invalidType('ERR_DGEN_INVALID_OPTION', name, v, what);
}

/** @throws RangeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not one of `values`. */
export function checkOneOf(options: Loose, name: string, values: readonly string[]): void {
  const v = options[name];
  if (v !== undefined && !values.includes(v as string)) {
    const allowed = values.map((s) => JSON.stringify(s)).join(' or ');
    if (typeof v !== 'string') throw invalidType('ERR_DGEN_INVALID_OPTION', name, v, allowed);
    throw invalidRange('ERR_DGEN_INVALID_OPTION', name, v, allowed);
  }
}

/** @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not an instance of `type`. */
export function checkInstance(options: Loose, name: string, type: abstract new (...args: never[]) => unknown, what: string): void {
  const v = options[name];
  if (v !== undefined && !(v instanceof type)) throw invalidType('ERR_DGEN_INVALID_OPTION', name, v, what);
}

/** Largest `highWaterMark` a sink takes: 2 GiB - 1 (a Buffer's safe size everywhere). */
export const MAX_HIGH_WATER_MARK = 2 ** 31 - 1;

/**
 * Checks the options every sink takes (see `ObjectWriterOptions`): `signal` an AbortSignal,
 * `highWaterMark` a whole number of bytes from 1 to {@link MAX_HIGH_WATER_MARK}. `compression` is checked
 * by the base class itself (`ERR_DGEN_INVALID_COMPRESSION`).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option.
 */
export function checkWriterOptions(options: Loose): void {
  checkInstance(options, 'signal', AbortSignal, 'an AbortSignal');
  checkInteger(options, 'highWaterMark', 1, MAX_HIGH_WATER_MARK, ' of bytes');
}

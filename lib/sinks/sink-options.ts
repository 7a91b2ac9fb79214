/**
 * Checks of sink options at the boundary, before a sink (or anything it makes) exists: a library caller
 * passing `fsync: 'no'`, `partSize: 'lots'` or a misspelt key (`partsize`) gets a typed error naming the
 * option, not a sink that reads `'no'` as true or ignores the key. The checks themselves are the shared
 * validators (`validators.ts`, `params.ts`, `option-keys.ts`); this file says which ones the sinks use.
 * Each check leaves an absent option (`undefined`) to its default.
 * @module
 */
import { checkOptionKeys, type OptionKeys } from '../option-keys.js';
import { parseSize } from '../params.js';
import {
  validateBoolean,
  validateInteger,
  validateOneOf,
  validateOptionsObject,
  validateSignal,
  validateString,
} from '../validators.js';
import { invalidRange, invalidType } from '../errors.js';

/** Options as a caller passed them: any object, whose fields are checked one by one. */
type Loose = Record<string, unknown>;

/**
 * Checks that the options argument itself is an object (or absent), and that it has no key the sink does
 * not know (`keys`, checked by the compiler against the options type where they are listed).
 * @param where - whose options, for the message (e.g. `"S3Sink options"`).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`parameter` `options`) for options that are not an object;
 *   (`parameter` the key) for an unknown key, with "did you mean ...?" when a known key is close.
 */
export function checkSinkOptions(options: unknown, keys: OptionKeys, where: string): void {
  checkOptionsObject(options);
  checkOptionKeys(options, keys, where);
}

/**
 * Checks that the options argument itself is an object (or absent).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` (`parameter` `options`) otherwise.
 */
export function checkOptionsObject(options: unknown): asserts options is Loose | undefined {
  validateOptionsObject('options', options as object | undefined);
}

/** The options of `keys` only (what one sink reads of options meant for any sink). */
export function pickOptions<T extends object>(options: T, keys: OptionKeys): T {
  const out: Loose = {};
  for (const [k, v] of Object.entries(options ?? {})) if (keys.has(k)) out[k] = v;
  return out as T;
}

/** @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not a boolean. */
export function checkBoolean(options: Loose, name: string): void {
  if (options[name] !== undefined) validateBoolean(name, options[name]);
}

/**
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not a number; RangeError
 *   when it is not a whole number from `min` to `max`.
 */
export function checkInteger(options: Loose, name: string, min: number, max: number, unit = ''): void {
  if (options[name] !== undefined) validateInteger(name, options[name], { min, max, unit });
}

/** @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not a non-empty string. */
export function checkString(options: Loose, name: string, what: string): void {
  if (options[name] !== undefined) validateString(name, options[name], what);
}

/** @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not one of `values`. */
export function checkOneOf(options: Loose, name: string, values: readonly string[]): void {
  if (options[name] !== undefined) validateOneOf(name, options[name], values);
}

/** @throws TypeError `ERR_DGEN_INVALID_OPTION` when `options[name]` is set and not an instance of `type`. */
export function checkInstance(
  options: Loose,
  name: string,
  type: abstract new (...args: never[]) => unknown,
  what: string,
): void {
  const v = options[name];
  if (v !== undefined && !(v instanceof type)) throw invalidType('ERR_DGEN_INVALID_OPTION', name, v, what);
}

/** Largest `highWaterMark` a sink takes: 2 GiB - 1 (a Buffer's safe size everywhere). */
export const MAX_HIGH_WATER_MARK = 2 ** 31 - 1;

/**
 * A size option (`highWaterMark`, `bufferSize`): a whole number of bytes or a size string (`'8MiB'`,
 * `'4k'`), from `min` to `max`; `undefined` when absent.
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option.
 */
export function sizeOption(options: Loose, name: string, min: number, max: number): number | undefined {
  const v = options[name];
  if (v === undefined) return undefined;
  const n = parseSize(name, v, 'ERR_DGEN_INVALID_OPTION');
  if (n < min || n > max)
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      name,
      v,
      `a whole number of bytes from ${min} to ${max}, or a size string such as "8MiB"`,
    );
  return n;
}

/**
 * Checks the options every sink takes (see `ObjectWriterOptions`): `signal` an AbortSignal,
 * `highWaterMark` a number of bytes or a size string from 1 to {@link MAX_HIGH_WATER_MARK}.
 * `compression` is checked by the base class itself (`ERR_DGEN_INVALID_COMPRESSION`).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` naming the option.
 */
export function checkWriterOptions(options: Loose): void {
  validateSignal(options.signal);
  sizeOption(options, 'highWaterMark', 1, MAX_HIGH_WATER_MARK);
}

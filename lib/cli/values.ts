/**
 * The values flags take on the command line: each option of every command is made by {@link option},
 * which records what kind of value it takes. Before a command runs, {@link checkValues} checks the syntax
 * of every value given (decimal numbers, whole numbers, seeds, durations) and spells fio/dd size suffixes
 * as the library reads them (`4k` -> `4KiB`); the library then checks ranges and meaning. Error messages
 * show values as they were typed: {@link asTyped} maps a rewritten size back to the text given.
 *
 * The flag of each library parameter, for error messages, comes from the same Option objects
 * ({@link flagOf}), so there is one list of flags: commander's.
 * @module
 */
import { Option, type Command } from 'commander';
import { invalidRange, type DgenErrorCode } from '../errors.js';
import { binarySuffixes } from '../sizes.js';
import type { TypedOption } from './flags.js';

/** What a flag's value is.
 * - `size`: a size (`4096`, `4k`, `64MiB`, `1GB`); `sizeSpec`: also a distribution (`uniform:4k,1m`).
 * - `rate`: a size per second (`100MiB`, `100m/s`).
 * - `decimal`: a decimal number (`2`, `1.5`); `whole`: decimal digits only.
 * - `seed`: a 64-bit integer, decimal or `0x` hex.
 * - `duration`: seconds, or a number with `ms`, `s`, `m`, `h` (`500ms`, `30s`, `5m`).
 * - `text`: anything (the library checks it). */
export type ValueKind = 'size' | 'sizeSpec' | 'rate' | 'decimal' | 'whole' | 'seed' | 'duration' | 'text';

interface Spec {
  kind: ValueKind;
  /** The library's name for the parameter when it is not the option's attribute name. */
  parameter?: string;
  code: DgenErrorCode;
}
const specs = new WeakMap<Option, Spec>();

/**
 * A commander Option that knows its kind of value, and whose flags string is a literal type (flags.ts
 * derives the command's option bag from it).
 * @param parameter - the library's name for it (`dedupRatio` for `--dedup`), where it differs.
 */
export function option<F extends string>(
  flags: F,
  description: string,
  kind: ValueKind = 'text',
  { parameter, code = 'ERR_DGEN_INVALID_OPTION' }: { parameter?: string; code?: DgenErrorCode } = {},
): TypedOption<F> {
  // The Option keeps `flags` as given: its type narrows from string to the literal F.
  const o = new Option(flags, description) as TypedOption<F>;
  specs.set(o, { kind, ...(parameter !== undefined && { parameter }), code });
  return o;
}

/** Sizes rewritten by {@link checkValues}, by parameter: the text passed on (`"4KiB"`) and the text typed (`"4k"`). */
const typedSizes = new Map<string, { rewritten: string; typed: string }>();

/** The text a person typed for a value of `parameter` that the CLI rewrote, else the value itself. */
export function asTyped(parameter: string, value: unknown): unknown {
  const t = typedSizes.get(parameter);
  return t !== undefined && value === t.rewritten ? t.typed : value;
}

/** The library's name of an option's parameter. */
function parameterOf(o: Option): string {
  return specs.get(o)?.parameter ?? o.attributeName();
}

/**
 * The flag of a library parameter (`dedupRatio` -> `--dedup`) among a command's options, or undefined.
 */
export function flagOf(cmd: Command | undefined, parameter: string): string | undefined {
  const o = cmd?.options.find((x) => parameterOf(x) === parameter || x.attributeName() === parameter);
  return o?.long;
}

/** The value of a flag as typed, when it was given on the command line (or the environment). */
export function typedValue(cmd: Command | undefined, parameter: string): string | undefined {
  const o = cmd?.options.find((x) => parameterOf(x) === parameter || x.attributeName() === parameter);
  if (!o || !cmd) return undefined;
  const source = cmd.getOptionValueSource(o.attributeName());
  const value = cmd.getOptionValue(o.attributeName());
  return (source === 'cli' || source === 'env') && typeof value === 'string' ? String(asTyped(parameterOf(o), value)) : undefined;
}

const DECIMAL = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/;
const WHOLE = /^\s*\d+\s*$/;
const SEED = /^\s*(\d+|0x[0-9a-f]+)\s*$/i;
const DURATION = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|m|min|h)?\s*$/i;
const SECONDS_PER: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/**
 * Seconds in a duration: a number of seconds, or a number with a unit (`500ms`, `30s`, `5m`, `1.5h`).
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` naming `parameter` unless it is a duration above zero.
 */
export function parseDuration(parameter: string, value: unknown): number {
  const m = typeof value === 'string' ? DURATION.exec(value) : null;
  const seconds = typeof value === 'number' ? value : m ? Number(m[1]) * SECONDS_PER[(m[2] ?? 's').toLowerCase()]! : NaN;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      parameter,
      value,
      'a time above zero: seconds, or a number with ms, s, m or h (e.g. 500ms, 30s, 5m)',
    );
  }
  return seconds;
}

/**
 * Checks the syntax of every value given to `cmd`'s options and spells size suffixes as the library reads
 * them (commander's preAction hook calls it, before the command's action).
 * @throws RangeError with the option's code, naming its library parameter, with the value as typed.
 */
export function checkValues(cmd: Command): void {
  for (const o of cmd.options) {
    const spec = specs.get(o);
    const key = o.attributeName();
    const value = cmd.getOptionValue(key) as unknown;
    if (!spec || typeof value !== 'string') continue;
    const parameter = parameterOf(o);
    const refuse = (allowed: string) => invalidRange(spec.code, parameter, value, allowed);
    switch (spec.kind) {
      case 'size':
      case 'sizeSpec':
      case 'rate': {
        const rewritten = binarySuffixes(value);
        if (rewritten !== value) {
          typedSizes.set(parameter, { rewritten, typed: value });
          cmd.setOptionValueWithSource(key, rewritten, cmd.getOptionValueSource(key));
        }
        break;
      }
      case 'decimal':
        if (!DECIMAL.test(value)) throw refuse('a decimal number, e.g. 2 or 1.5');
        break;
      case 'whole':
        if (!WHOLE.test(value)) throw refuse('a whole number in decimal digits');
        break;
      case 'seed':
        if (!SEED.test(value)) throw refuse('an integer from 0 to 2^64-1, decimal or 0x hex');
        break;
      case 'duration':
        parseDuration(parameter, value);
        break;
      default:
    }
  }
}

/** The help text on sizes, shared by the commands that take them. */
export const SIZES_HELP = `
Sizes: 4096, 4k, 64MiB, 1GB. k, m, g, t (either case; fio and dd) and KiB, MiB, GiB, TiB are powers
of 1024: 4k = 4KiB = 4096, 1g = 2^30. kB, MB, GB, TB are powers of 1000, and so are kb, mb, gb, tb
(4kb = 4kB = 4000). Fractions are allowed where they make whole bytes (1.5k = 1536).`;

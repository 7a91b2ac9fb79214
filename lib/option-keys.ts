/**
 * Unknown option keys: an options object with a key no option has (`dedup: 2` for `dedupRatio: 2`, a typo
 * such as `chunksize`) is an error, not a silent default. Each entry point lists its keys with
 * {@link optionKeys}, whose type makes the compiler reject a list that misses or adds one.
 * @module
 */
import { closest, distance } from 'fastest-levenshtein';

/** The keys of an options interface, checked by the compiler against it: every key once, no other. */
export type OptionKeys = ReadonlySet<string>;

/**
 * The set of an options type's keys. `keys` must name every key of `T` (required and optional) and no other:
 * `optionKeys<SourceOptions>({ size: true, chunkSize: true, ... })`.
 */
export function optionKeys<T extends object>(keys: { [K in keyof Required<T>]: true }): OptionKeys {
  return new Set(Object.keys(keys));
}

/** Options named as the command line names them (`--dedup`, `--compress`, `--ratio-codec`), for people who
 * come from the CLI. */
const CLI_NAMES: Record<string, string> = { dedup: 'dedupRatio', compress: 'compressRatio', ratio_codec: 'ratioCodec' };

/** The known key a mistyped one most likely meant, if one is close: the CLI's name of it (`dedup` for
 * `dedupRatio`), the same letters in another case, one a prefix of the other (`chunk` for `chunkSize`), or
 * within a small edit distance (Levenshtein, by the `fastest-levenshtein` package). */
export function suggestKey(key: string, known: Iterable<string>): string | undefined {
  const keys = [...known];
  const cli = CLI_NAMES[key.replace(/-/g, '_')];
  if (cli !== undefined && keys.includes(cli)) return cli;
  const lower = key.toLowerCase();
  const sameLetters = keys.find((k) => k.toLowerCase() === lower);
  if (sameLetters) return sameLetters;
  const prefix = keys.filter(
    (k) => lower.length >= 3 && (k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase())),
  );
  if (prefix.length === 1) return prefix[0];
  if (keys.length === 0) return undefined;
  const best = closest(key, keys);
  return distance(key, best) <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

/**
 * Throws when `options` has an own key that is not in `known` (keys whose value is `undefined` included:
 * a misspelt key is wrong whatever its value).
 * @param where - what the options are for, for the message (e.g. `"DataSource options"`).
 * @throws TypeError `ERR_DGEN_INVALID_OPTION` naming the key (`parameter`), its value, and the closest
 *   known key when one is close ("did you mean dedupRatio?").
 */
export function checkOptionKeys(options: unknown, known: OptionKeys, where: string): void {
  if (options === null || typeof options !== 'object') return; // the caller's type check reports it
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    const hint = suggestKey(key, known);
    const value = (options as Record<string, unknown>)[key];
    const err = new TypeError(`${where} have no option ${JSON.stringify(key)}${hint ? `: did you mean ${hint}?` : ''}`);
    throw Object.assign(err, { code: 'ERR_DGEN_INVALID_OPTION' as const, parameter: key, value });
  }
}

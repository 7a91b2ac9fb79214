/**
 * Option bags typed from commander's Option definitions. commander 14's own typings hand actions an
 * untyped `OptionValues`; @commander-js/extra-typings would infer them but is not a dependency, so the
 * inference is done here, for the one shape our options take: each Option is made by values.ts' `option()`,
 * which keeps its flags string as a literal type ({@link TypedOption}), and {@link FlagsOf} turns a list
 * of them into the object commander builds (`--chunk-sizes <list>` -> `chunkSizes?: string`). A command's
 * interface extends `FlagsOf<typeof ITS_OPTIONS>`, so renaming or removing a flag fails tsc wherever the
 * old name is read.
 * @module
 */
import type { Command, Option } from 'commander';

/** A commander Option whose flags string (`'--concurrency <j>'`) is known to the compiler. */
export type TypedOption<F extends string = string> = Option & { readonly flags: F };

/** `'chunk-sizes'` -> `'chunkSizes'`, as commander's `Option.attributeName()` spells it. */
type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

/** The long flag without dashes or value: `'-j, --jobs <n>'` -> `'jobs'`. */
type LongName<F extends string> = F extends `${string}--${infer Rest}`
  ? Rest extends `${infer Name} ${string}`
    ? Name
    : Rest
  : never;

/** The key commander stores a flag's value under: `--no-progress` sets `progress`. */
export type AttributeOf<F extends string> = LongName<F> extends `no-${infer Name}` ? CamelCase<Name> : CamelCase<LongName<F>>;

/** What commander stores: a list for `<v...>`, the text for `<v>`, text or true for `[v]`, else a boolean
 * (true for `--x`, false for `--no-x`). */
export type ValueOf<F extends string> = F extends `${string}...${string}`
  ? string[]
  : F extends `${string}<${string}>${string}`
    ? string
    : F extends `${string}[${string}]${string}`
      ? string | boolean
      : boolean;

/**
 * The options object commander hands an action, from the command's Option list: every key optional (an
 * option not given and without a default is absent); a key set by two flags (`--cdc <sizes>` and
 * `--no-cdc`) takes either's value.
 */
export type FlagsOf<Options extends readonly TypedOption[]> = {
  [O in Options[number] as AttributeOf<O['flags']>]?: ValueOf<O['flags']>;
};

/** Adds each Option of `options` to `cmd`, in order: the list its flags type is derived from. */
export function addOptions(cmd: Command, options: readonly TypedOption[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}

/**
 * The `dgen` command line: `dgen put`, `cat`, `verify`, `merge`, `analyze`. Argument parsing by commander;
 * the syntax of each value is checked by values.ts (the kind of value each Option takes), then every value
 * is validated by the library's own parameter checks, so the CLI and the API reject the same inputs with
 * the same messages. Messages name the flag (found among commander's Option objects: one list of flags)
 * and show the value as typed. Each command's options are one list (putOptions(), verifyOptions(), ...),
 * and the type of the options its action receives is derived from that list (flags.ts): a flag renamed
 * there fails tsc wherever the old name is read.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { TOOL } from '../version.js';
import { dgenError } from '../errors.js';
import { addConnectionOptions, type ConnectionFlags } from './options.js';
import { addOptions, type FlagsOf } from './flags.js';
import { asTyped, checkValues, flagOf, option, SIZES_HELP, typedValue } from './values.js';
import { usageDocument } from './report.js';
// Commands load their modules when they run: `dgen cat` starts without the cloud SDKs.
const runPut = async (...a: Parameters<typeof import('./put.js').runPut>) => (await import('./put.js')).runPut(...a);
const runCat = async (...a: Parameters<typeof import('./cat.js').runCat>) => (await import('./cat.js')).runCat(...a);
const runAnalyze = async (...a: Parameters<typeof import('./analyze.js').runAnalyze>) =>
  (await import('./analyze.js')).runAnalyze(...a);
const runVerify = async (...a: Parameters<typeof import('./verify.js').runVerify>) =>
  (await import('./verify.js')).runVerify(...a);
const runMerge = async (...a: Parameters<typeof import('./verify.js').runMerge>) => (await import('./verify.js')).runMerge(...a);

/** Exit status for bad usage or invalid values (as sysexits' EX_USAGE is too rare to expect). */
export const EXIT_USAGE = 2;
/** Exit status for a failure while running. */
export const EXIT_FAILURE = 1;

/** Options that shape the data, shared by put and cat (the same flags, so that cat repeats a put). */
const dataOptions = () => [
  option(
    '--size <size>',
    'bytes per object: 4096, 4k, 64MiB, 1GB (see Sizes below); or a distribution: uniform:MIN,MAX, lognormal:MEAN,SD[,MIN,MAX], 4KiB:50%,1MiB:50%',
    'sizeSpec',
    { code: 'ERR_DGEN_INVALID_SIZE' },
  ).default('1MiB'),
  option('--dedup <ratio>', 'dedup ratio d >= 1, decimal (n units hold round(n/d) unique ones)', 'decimal', {
    parameter: 'dedupRatio',
    code: 'ERR_DGEN_INVALID_RATIO',
  }).default('1'),
  option('--compress <ratio>', 'compression ratio c, 1 to 64, decimal, as zstd/gzip/lz4 measure it', 'decimal', {
    parameter: 'compressRatio',
    code: 'ERR_DGEN_INVALID_RATIO',
  }).default('1'),
  option(
    '--ratio-codec <codec>',
    'the codec --compress is exact for: CODEC[-LEVEL][@CHUNK], e.g. zstd-1, lz4@4KiB (default: zstd, gzip and lz4 together)',
    'size',
    { parameter: 'ratioCodec' },
  ),
  option('--dedup-unit <size>', 'dedup unit: a multiple of 512 bytes', 'size', {
    code: 'ERR_DGEN_INVALID_DEDUP_UNIT',
  }).default('4KiB'),
  option('--dedup-scope <scope>', 'object: each object dedups by D; dataset: the whole data set does')
    .choices(['object', 'dataset'])
    .default('object'),
  option('--seed <seed>', '64-bit seed, decimal or 0x hex; default: random, reported back', 'seed', {
    code: 'ERR_DGEN_INVALID_SEED',
  }),
  option('--chunk-size <size>', 'stream chunk size: a multiple of 512 bytes', 'size', {
    code: 'ERR_DGEN_INVALID_CHUNK_SIZE',
  }).default('4MiB'),
  option('--compression <algorithm>', 'compress objects as they are stored: none, zstd, gzip').default('none'),
  option('--compression-level <n>', 'with --compression: zstd 1-19 (default 3), gzip 1-9 (default 6)', 'whole'),
  option('--rate <size/s>', 'bytes per second at most, e.g. 100MiB or 100m/s (default: as fast as it goes)', 'rate'),
];

/** The data flags put and cat share, as commander hands them over: strings as typed (sizes with their
 * suffixes made binary by values.ts), checked by the library. */
export interface DataFlags extends FlagsOf<ReturnType<typeof dataOptions>> {}

/** Options of put that a resumed run takes from the old run's manifest when they are not given. */
const RESUMED: ReadonlySet<keyof PutFlags> = new Set([
  'size',
  'dedup',
  'compress',
  'ratioCodec',
  'dedupUnit',
  'seed',
  'count',
  'dedupScope',
  'nameTemplate',
  'compression',
  'compressionLevel',
]);

/** Defaults of the raw put that a formatted put (`--format`, `--dlio-workload`) drops, so that only the ones
 * given on the command line are seen (and refused where they have no meaning there). */
const FORMAT_DEFAULTS_DROPPED: ReadonlySet<keyof PutFlags> = new Set([
  'dedupScope',
  'attempts',
  'nameTemplate',
  'chunkSize',
  'compression',
]);

/** `dgen put`'s options (besides --endpoint and --region), made anew for each program, in --help's order;
 * {@link PutFlags} is derived from them. */
const putOptions = () => [
  option(
    '--count <n>',
    'number of objects in the data set (with --duration: at most this many; default there: no limit)',
    'whole',
  ).default('1'),
  option(
    '--concurrency <j>',
    'objects written at once, 1 to 1024 (lowered to what the open-files limit allows)',
    'whole',
  ).default('4'),
  ...dataOptions(),
  option(
    '--duration <time>',
    'write objects until this time is up (e.g. 30s, 5m, 1h; a number is seconds); the manifest records how many',
    'duration',
  ),
  option('--attempts <n>', 'attempts per object for transient failures (network, 5xx, throttling)', 'whole').default('3'),
  option(
    '--retry-base-ms <ms>',
    'first wait before retrying an object, in ms; doubles per attempt, with jitter, at most 10 s (default 200)',
    'whole',
  ),
  option('--fail-fast', 'stop at the first object that fails for good (default: go on, exit 1 at the end)'),
  option('--shard <i/n>', 'write only objects with index mod n = i, and a shard manifest'),
  option('--shards <n>', 'like --shard, with i from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)', 'whole'),
  option('--manifest <file>', 'store the manifest here instead of under the target'),
  option('--name-template <template>', 'object names: {index} zero-padded, {n}, {ext}').default('obj-{index}.bin{ext}'),
  option('--part-size <size>', 'S3 multipart part size, >= 5MiB (default 16MiB)', 'size', { code: 'ERR_DGEN_INVALID_SIZE' }),
  option('--block-size <size>', 'Azure block size (default 8MiB); account from AZURE_STORAGE_CONNECTION_STRING', 'size', {
    code: 'ERR_DGEN_INVALID_SIZE',
  }),
  option('--fsync', 'fsync each file before renaming it into place'),
  option('--overwrite', "write even where the manifest location holds another run's manifest (that run is replaced)"),
  option(
    '--resume',
    'continue the interrupted run whose manifest is there: keep the objects it committed, write the rest',
  ).conflicts('overwrite'),
  option(
    '--json',
    'print one JSON document on stdout (and nothing else there), also when the run fails ("ok": false); progress events (NDJSON) on stderr every --status-interval',
  ),
  option('--no-progress', 'no progress bar on a terminal, no status lines elsewhere'),
  option(
    '--status-interval <time>',
    'off a terminal: a status line (with --json an NDJSON event) every this long, e.g. 10s, 500ms',
    'duration',
  ).default('10s'),
  option(
    '--format <format>',
    'write an AI/ML data set of files in this format: npz, tfrecord, hdf5, parquet, safetensors (DLIO layout: train/, valid/; no manifest)',
  ),
  option(
    '--dlio-workload <name>',
    'an MLPerf Storage data set as DLIO writes it: unet3d, resnet50, cosmoflow (format, count, samples, record length; flags given override them)',
  ),
  option('--samples <n>', 'with --format: samples (records, rows) per file', 'whole'),
  option('--record-length <size>', 'with --format: bytes per sample (default: derived from --size)', 'size'),
  option('--dtype <type>', 'with --format npz, hdf5, safetensors: element type (default uint8)'),
  option('--valid-count <n>', 'with --format: files in valid/ besides the --count files in train/ (default 0)', 'whole'),
  option(
    '--layout <layout>',
    'with --format: dlio (train/ and valid/ folders; default) or flat (files directly under the target)',
  ),
];

/** `dgen put`'s options as commander hands them over. `progress` is false with `--no-progress`. */
export interface PutFlags extends ConnectionFlags, FlagsOf<ReturnType<typeof putOptions>> {}

/** `dgen cat`'s options (besides --endpoint and --region), made anew for each program, in --help's order;
 * {@link CatFlags} is derived from them. */
const catOptions = () => [
  option('--object <n>', 'object identity (index in a put)', 'whole', {
    parameter: 'objectId',
    code: 'ERR_DGEN_INVALID_OBJECT_ID',
  }).default('0'),
  option('--count <n>', "objects in the put's data set: needed with --dedup-scope dataset, and checks --object", 'whole'),
  ...dataOptions(),
  option(
    '--manifest <file>',
    "take every parameter from this run's manifest (path or URI; --endpoint, --region for s3://); the data flags are then refused",
  ),
  option('--force', 'write to stdout even when it is a terminal'),
];

/** `dgen cat`'s options as commander hands them over. */
export interface CatFlags extends ConnectionFlags, FlagsOf<ReturnType<typeof catOptions>> {}

/** `dgen verify`'s options (besides --endpoint and --region), made anew for each program; {@link VerifyFlags} is derived from them. */
const verifyOptions = () => [
  option('--manifest <file>', 'manifest path or URI (default: dgen-manifest.json under the target)'),
  option('--concurrency <j>', 'objects read at once', 'whole').default('4'),
  option('--strict', 'exit 1 when the target holds objects the manifest does not list'),
  option('--json', 'print the report as JSON on stdout'),
];

/** `dgen verify`'s options as commander hands them over: strings as typed, booleans for the switches. */
export interface VerifyFlags extends ConnectionFlags, FlagsOf<ReturnType<typeof verifyOptions>> {}

/** `dgen merge`'s options: only --endpoint and --region. */
export type MergeFlags = ConnectionFlags;

/** `dgen analyze`'s options (besides --endpoint and --region), made anew for each program; {@link AnalyzeFlags} is derived from them. */
const analyzeOptions = () => [
  option('--chunk-sizes <list>', "fixed chunk sizes, comma-separated (4k = 4KiB, as put's sizes)", 'size').default(
    '4KiB,8KiB,16KiB,32KiB,64KiB,128KiB',
  ),
  option('--cdc <min,avg,max>', 'FastCDC chunk sizes (avg a power of two)', 'size').default('2KiB,8KiB,64KiB'),
  option('--no-cdc', 'no content-defined chunking'),
  option(
    '--no-per-chunk',
    'no compression at all: chunking, fingerprints and the chunk index only (dedup ratios, zero chunks); with --full, whole-stream compression by every codec stays',
  ),
  option(
    '--full',
    'every measurement, exactly: zstd-1, zstd-3, gzip-6 and lz4 over each whole input and on every distinct chunk of every chunking (about 15 compression passes; slow)',
  ),
  option('--sample <rate>', 'estimate from a fraction of the chunks (0.01 or 1%), sampled by fingerprint, with 95% intervals'),
  option('--hash <name>', 'chunk fingerprint: xxh3 (XXH3-128, default) or sha256 (collision resistant)'),
  option('--json', 'print the report as JSON on stdout'),
  option('--no-progress', 'no progress bar (it only shows on a terminal, for inputs over 64 MiB)'),
];

/** `dgen analyze`'s options as commander hands them over: `cdc` is the sizes as typed, or false with
 * --no-cdc; `perChunk` and `progress` are false with --no-per-chunk and --no-progress. */
export interface AnalyzeFlags extends ConnectionFlags, FlagsOf<ReturnType<typeof analyzeOptions>> {}

/** Is this an input error from the library (typed RangeError/TypeError with an ERR_DGEN_ code)? */
export function isUsageError(err: unknown): err is Error & { code: string } {
  return (
    (err instanceof RangeError || err instanceof TypeError) && String((err as { code?: unknown }).code).startsWith('ERR_DGEN_')
  );
}

/** Examples at the end of a command's help. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/** The command whose action runs (set before it runs), for error messages: its flags and values. */
let current: Command | undefined;

function buildProgram(): Command {
  const program = new Command('dgen')
    .description('Synthetic data with exact dedup and compression ratios, for storage and pipeline tests')
    .version(`${TOOL}`, '-V, --version', 'print the package name and version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      examples('dgen put /mnt/test --count 100 --size 64MiB --dedup 2 --compress 3', 'dgen verify /mnt/test', 'dgen put --help'),
    )
    .hook('preAction', (_program, command) => {
      current = command;
      try {
        checkValues(command);
      } catch (err) {
        throw Object.assign(err as Error, { beforeRun: true });
      }
    });

  addOptions(addConnectionOptions(program.command('put')), putOptions())
    .description('write N distinct objects (object identity = index) and a manifest (dgen-manifest.json) under a target')
    .argument(
      '<target>',
      'a directory (created if missing), file:///dir, direct:///dir, s3://bucket/prefix or az://container/prefix',
    )
    .addHelpText(
      'after',
      SIZES_HELP +
        '\n' +
        examples(
          'dgen put /mnt/test --count 100 --size 64MiB --dedup 2 --compress 3 --seed 42',
          'dgen put s3://bucket/run1 --count 100000 --size uniform:4k,1m --concurrency 64 --json',
          'dgen put /mnt/test --duration 5m --rate 200MiB --size 1m --status-interval 30s',
        ),
    )
    .exitOverride()
    .action(async (target: string, opts: PutFlags, command: Command) => {
      if (opts.format !== undefined || opts.dlioWorkload !== undefined) {
        // A formatted put: options left at their default are not the user's (a DLIO preset fills count and
        // size; options of the raw put that a formatted put has no use for are refused only when given).
        for (const key of FORMAT_DEFAULTS_DROPPED) if (command.getOptionValueSource(key) === 'default') delete opts[key];
        if (opts.dlioWorkload !== undefined)
          for (const key of ['count', 'size'] as const) if (command.getOptionValueSource(key) === 'default') delete opts[key];
      } else if (opts.resume) {
        // Resuming takes the old run's parameters: only those given on the command line are compared.
        for (const key of RESUMED) if (command.getOptionValueSource(key) === 'default') delete opts[key];
      }
      // A timed run's count is a limit the user sets, not the default of 1.
      if (opts.duration !== undefined && command.getOptionValueSource('count') === 'default') delete opts.count;
      if (!(await runPut(target, opts))) throw dgenError('ERR_DGEN_PUT_FAILED', 'some objects could not be written (see above)');
    });

  addOptions(addConnectionOptions(program.command('cat')), catOptions())
    .description(
      'write one object to stdout, byte-equal to object N of a `dgen put` with the same parameters (or of the run of --manifest), compressed as that run stored it',
    )
    .addHelpText(
      'after',
      SIZES_HELP +
        '\n' +
        examples(
          'dgen cat --manifest /mnt/test/dgen-manifest.json --object 7 | cmp - /mnt/test/obj-000007.bin',
          'dgen cat --size 1GiB --dedup 2 --compress 3 --seed 42 | zstd -3 | wc -c',
          'dgen cat --size 100g --rate 50m/s > /dev/null',
        ),
    )
    .exitOverride()
    .action(async (opts: CatFlags, command: Command) => {
      await runCat(opts, command);
    });
  addOptions(addConnectionOptions(program.command('verify')), verifyOptions())
    .description('read every object of a run back and compare it with regeneration from the manifest')
    .argument('<target>', "the run's target: directory, file:///dir, s3://bucket/prefix, az://container/prefix")
    .addHelpText(
      'after',
      examples(
        'dgen verify /mnt/test',
        'dgen verify s3://bucket/run1 --endpoint http://127.0.0.1:9000 --json',
        'dgen verify /mnt/test --manifest /mnt/test/dgen-manifest.shard-0-of-4.json --strict',
      ),
    )
    .exitOverride()
    .action(async (target: string, opts: VerifyFlags) => {
      if (!(await runVerify(target, opts))) throw dgenError('ERR_DGEN_VERIFY_FAILED', 'verification failed (see above)');
    });

  addConnectionOptions(program.command('merge'))
    .description('join the shard manifests (dgen-manifest.shard-I-of-N.json) under a target into dgen-manifest.json')
    .argument('<target>', "the run's target")
    .addHelpText(
      'after',
      examples(
        'dgen merge /mnt/test   # after dgen put /mnt/test --shard I/4 for I = 0..3',
        'dgen merge s3://bucket/run1 && dgen verify s3://bucket/run1',
      ),
    )
    .exitOverride()
    .action(async (target: string, opts: MergeFlags) => {
      await runMerge(target, opts);
    });

  addOptions(addConnectionOptions(program.command('analyze')), analyzeOptions())
    .description('measure dedup and compression of files, directories and objects the way storage systems see them')
    .argument('<inputs...>', 'files, directories (recursively), file://, s3://bucket/prefix, az://container/prefix')
    .addHelpText(
      'after',
      '\nBy default dedup is exact at every chunking, and compression is zstd-1 only: over each whole input, and on\n' +
        'each distinct chunk alone for a uniform sample by fingerprint of at most 4 MiB per chunking (exact while\n' +
        'the distinct chunks fit; beyond, an estimate with a 95% interval). --full measures everything exactly.',
    )
    .addHelpText(
      'after',
      examples(
        'dgen analyze /data --full --json',
        'dgen analyze s3://bucket/prefix --chunk-sizes 4KiB,64KiB --json',
        'dgen analyze big.img --sample 1%',
      ),
    )
    .exitOverride()
    .action(async (inputs: string[], opts: AnalyzeFlags) => {
      await runAnalyze(inputs, opts);
    });
  return program;
}

/**
 * What a usage error says: the flag it concerns (found among the Option objects of the command that ran),
 * the message with the value as it was typed (where the CLI rewrote it, e.g. `4k` -> `4KiB`, or built an
 * object from it, e.g. `--compression`), the code; and a pointer to --help when a flag was named.
 */
export function usageMessage(
  err: Error & { code: string; parameter?: string; value?: unknown },
  command: Command | undefined = current,
): string {
  const parameter = err.parameter ?? '';
  const flag = parameter === 'uri' ? '<target>' : flagOf(command, parameter);
  let message = err.message;
  const typed = flag && err.code !== 'ERR_DGEN_INVALID_MANIFEST' ? typedValue(command, parameter) : undefined;
  const at = message.lastIndexOf('; got ');
  if (typed !== undefined && at !== -1 && (typeof err.value !== 'string' || asTyped(parameter, err.value) !== err.value)) {
    message = `${message.slice(0, at)}; got ${JSON.stringify(typed)}`;
  }
  return `dgen: ${flag ? `${flag}: ` : ''}${message} [${err.code}]\n${flag ? '(run with --help for usage)\n' : ''}`;
}

/**
 * Runs the CLI.
 * @param argv - full argv (node, script, args...).
 * @returns the exit status: 0 on success, 2 on bad usage or values, 1 on a failure while running, 128 +
 *   the signal's number after SIGINT, SIGTERM or SIGHUP stopped a put.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (or the help/version text).
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (isUsageError(err)) {
      // put --json promises a document on stdout also when a value is refused before the run starts.
      if ((err as { beforeRun?: boolean }).beforeRun && current?.name() === 'put' && current.opts().json === true) {
        process.stdout.write(JSON.stringify(usageDocument(err), null, 2) + '\n');
      }
      process.stderr.write(usageMessage(err));
      return EXIT_USAGE;
    }
    const e = err as Error & { code?: string; exitCode?: number };
    process.stderr.write(`dgen: ${e.message}${e.code ? ` [${e.code}]` : ''}\n`);
    if (process.env.NODE_DEBUG?.includes('dgen') && e.stack) process.stderr.write(e.stack + '\n');
    return typeof e.exitCode === 'number' ? e.exitCode : EXIT_FAILURE;
  }
}

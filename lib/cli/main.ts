/**
 * The `dgen` command line: `dgen put`, `dgen cat`. Argument parsing by commander; every value is then
 * validated by the library's own parameter checks, so the CLI and the API reject the same inputs with
 * the same messages.
 * @module
 */
import { Command, CommanderError, Option } from 'commander';
import { TOOL } from '../version.js';
import { addConnectionOptions, type Opts } from './options.js';
// Commands load their modules when they run: `dgen cat` starts without the cloud SDKs.
const runPut = async (...a: Parameters<typeof import('./put.js').runPut>) => (await import('./put.js')).runPut(...a);
const runCat = async (...a: Parameters<typeof import('./cat.js').runCat>) => (await import('./cat.js')).runCat(...a);
const runAnalyze = async (...a: Parameters<typeof import('./analyze.js').runAnalyze>) => (await import('./analyze.js')).runAnalyze(...a);
const runVerify = async (...a: Parameters<typeof import('./verify.js').runVerify>) => (await import('./verify.js')).runVerify(...a);
const runMerge = async (...a: Parameters<typeof import('./verify.js').runMerge>) => (await import('./verify.js')).runMerge(...a);

/** Exit status for bad usage or invalid values (as sysexits' EX_USAGE is too rare to expect). */
export const EXIT_USAGE = 2;
/** Exit status for a failure while running. */
export const EXIT_FAILURE = 1;

/** Options that shape the data, shared by put and cat. */
function addDataOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--size <size>', 'bytes per object: 4096, 64MiB, 1GB (KiB/MiB/GiB = 1024^n, kB/MB/GB = 1000^n); put also takes uniform:MIN,MAX, lognormal:MEAN,SD[,MIN,MAX], 4KiB:50%,1MiB:50%').default('1MiB'))
    .addOption(new Option('--dedup <ratio>', 'dedup ratio d >= 1 (n units hold round(n/d) unique ones)').default('1'))
    .addOption(new Option('--compress <ratio>', 'compression ratio c, 1 to 64, as zstd/gzip/lz4 measure it').default('1'))
    .addOption(new Option('--dedup-unit <size>', 'dedup unit: a multiple of 512 bytes').default('4KiB'))
    .addOption(new Option('--seed <seed>', '64-bit seed (decimal); default: random, reported back'))
    .addOption(new Option('--chunk-size <size>', 'stream chunk size: a multiple of 512 bytes').default('4MiB'));
}

/** The command-line flag of each library parameter, for error messages. */
const FLAGS: Record<string, string> = {
  size: '--size',
  dedupRatio: '--dedup',
  compressRatio: '--compress',
  dedupUnit: '--dedup-unit',
  seed: '--seed',
  objectId: '--object',
  chunkSize: '--chunk-size',
  count: '--count',
  compression: '--compression',
  compressionLevel: '--compression-level',
  partSize: '--part-size',
  blockSize: '--block-size',
  uri: '<target>',
  shard: '--shard',
  shards: '--shards',
  attempts: '--attempts',
  dedupScope: '--dedup-scope',
  nameTemplate: '--name-template',
  chunkSizes: '--chunk-sizes',
  cdc: '--cdc',
  concurrency: '--concurrency',
  manifest: '--manifest',
  retryBaseMs: '--retry-base-ms',
  format: '--format',
  dlioWorkload: '--dlio-workload',
  samples: '--samples',
  recordLength: '--record-length',
  dtype: '--dtype',
  validCount: '--valid-count',
  layout: '--layout',
  resume: '--resume',
};

/** Options of put that a resumed run takes from the old run's manifest when they are not given. */
const RESUMED = new Set(['size', 'dedup', 'compress', 'dedupUnit', 'seed', 'count', 'dedupScope', 'nameTemplate', 'compression', 'compressionLevel']);

/** Defaults of the raw put that a formatted put (`--format`, `--dlio-workload`) drops, so that only the ones
 * given on the command line are seen (and refused where they have no meaning there). */
const FORMAT_DEFAULTS_DROPPED = new Set(['dedupScope', 'attempts', 'nameTemplate', 'chunkSize']);

/** Is this an input error from the library (typed RangeError/TypeError with an ERR_DGEN_ code)? */
export function isUsageError(err: unknown): err is Error & { code: string } {
  return (err instanceof RangeError || err instanceof TypeError) && String((err as { code?: unknown }).code).startsWith('ERR_DGEN_');
}

function buildProgram(): Command {
  const program = new Command('dgen')
    .description('Synthetic data with exact dedup and compression ratios, for storage and pipeline tests')
    .version(`${TOOL}`, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addDataOptions(
    addConnectionOptions(program.command('put'))
      .description('write N distinct objects (object identity = index) and a manifest (dgen-manifest.json) under a target')
      .argument('<target>', 'a directory (created if missing), file:///dir, direct:///dir, s3://bucket/prefix or az://container/prefix')
      .addOption(new Option('--count <n>', 'number of objects in the data set').default('1'))
      .addOption(new Option('--concurrency <j>', 'objects written at once, 1 to 1024 (lowered to what the open-files limit allows)').default('4')),
  )
    .addOption(new Option('--dedup-scope <scope>', 'object: each object dedups by D; dataset: the whole data set does').choices(['object', 'dataset']).default('object'))
    .addOption(new Option('--attempts <n>', 'attempts per object for transient failures (network, 5xx, throttling)').default('3'))
    .addOption(new Option('--fail-fast', 'stop at the first object that fails for good (default: go on, exit 1 at the end)'))
    .addOption(new Option('--shard <i/n>', 'write only objects with index mod n = i, and a shard manifest'))
    .addOption(new Option('--shards <n>', 'like --shard, with i from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)'))
    .addOption(new Option('--manifest <file>', 'store the manifest here instead of under the target'))
    .addOption(new Option('--name-template <template>', 'object names: {index} zero-padded, {n}, {ext}').default('obj-{index}.bin{ext}'))
    .addOption(new Option('--compression <algorithm>', 'compress objects as they are stored: none, zstd, gzip').default('none'))
    .addOption(new Option('--compression-level <n>', 'zstd 1-19 (default 3), gzip 1-9 (default 6)'))
    .addOption(new Option('--part-size <size>', 'S3 multipart part size, >= 5MiB (default 16MiB)'))
    .addOption(new Option('--block-size <size>', 'Azure block size (default 8MiB); account from AZURE_STORAGE_CONNECTION_STRING'))
    .addOption(new Option('--fsync', 'fsync each file before renaming it into place'))
    .addOption(new Option('--overwrite', 'write even where the manifest location holds another run\'s manifest (that run is replaced)'))
    .addOption(new Option('--resume', 'continue the interrupted run whose manifest is there: keep the objects it committed, write the rest').conflicts('overwrite'))
    .addOption(new Option('--json', 'print one JSON document on stdout (and nothing else there), also when the run fails ("ok": false)'))
    .addOption(new Option('--no-progress', 'no progress bar (it only shows on a terminal anyway)'))
    .addOption(new Option('--format <format>', 'write an AI/ML data set of files in this format: npz, tfrecord, hdf5, parquet, safetensors (DLIO layout: train/, valid/; no manifest)'))
    .addOption(new Option('--dlio-workload <name>', 'an MLPerf Storage data set as DLIO writes it: unet3d, resnet50, cosmoflow (format, count, samples, record length; flags given override them)'))
    .addOption(new Option('--samples <n>', 'with --format: samples (records, rows) per file'))
    .addOption(new Option('--record-length <size>', 'with --format: bytes per sample (default: derived from --size)'))
    .addOption(new Option('--dtype <type>', 'with --format npz, hdf5, safetensors: element type (default uint8)'))
    .addOption(new Option('--valid-count <n>', 'with --format: files in valid/ besides the --count files in train/ (default 0)'))
    .addOption(new Option('--layout <layout>', 'with --format: dlio (train/ and valid/ folders; default) or flat (files directly under the target)'))
    .exitOverride()
    .action(async (target: string, opts: Opts, command: Command) => {
      if (opts.format !== undefined || opts.dlioWorkload !== undefined) {
        // A formatted put: options left at their default are not the user's (a DLIO preset fills count and
        // size; options of the raw put that a formatted put has no use for are refused only when given).
        for (const key of Object.keys(opts)) if (command.getOptionValueSource(key) === 'default' && FORMAT_DEFAULTS_DROPPED.has(key)) delete opts[key];
        if (opts.dlioWorkload !== undefined) for (const key of ['count', 'size']) if (command.getOptionValueSource(key) === 'default') delete opts[key];
      } else if (opts.resume) {
        // Resuming takes the old run's parameters: only those given on the command line are compared.
        for (const key of Object.keys(opts)) if (command.getOptionValueSource(key) === 'default' && RESUMED.has(key)) delete opts[key];
      }
      if (!(await runPut(target, opts))) throw Object.assign(new Error('some objects could not be written (see above)'), { code: 'ERR_DGEN_PUT_FAILED' });
    });

  addDataOptions(
    program
      .command('cat')
      .description('stream one object to stdout; equal to object N of a `dgen put` with the same seed and parameters')
      .addOption(new Option('--object <n>', 'object identity (index in a put)').default('0')),
  )
    .exitOverride()
    .action(async (opts: Opts) => {
      await runCat(opts);
    });
  addConnectionOptions(program.command('verify'))
    .description('read every object of a run back and compare it with regeneration from the manifest')
    .argument('<target>', 'the run\'s target: directory, file:///dir, s3://bucket/prefix, az://container/prefix')
    .addOption(new Option('--manifest <file>', 'manifest path or URI (default: dgen-manifest.json under the target)'))
    .addOption(new Option('--concurrency <j>', 'objects read at once').default('4'))
    .addOption(new Option('--strict', 'exit 1 when the target holds objects the manifest does not list'))
    .addOption(new Option('--json', 'print the report as JSON on stdout'))
    .exitOverride()
    .action(async (target: string, opts: Opts) => {
      if (!(await runVerify(target, opts))) throw Object.assign(new Error('verification failed (see above)'), { code: 'ERR_DGEN_VERIFY_FAILED' });
    });

  addConnectionOptions(program.command('merge'))
    .description('join the shard manifests (dgen-manifest.shard-I-of-N.json) under a target into dgen-manifest.json')
    .argument('<target>', 'the run\'s target')
    .exitOverride()
    .action(async (target: string, opts: Opts) => {
      await runMerge(target, opts);
    });

  addConnectionOptions(program.command('analyze'))
    .description('measure dedup and compression of files, directories and objects the way storage systems see them')
    .argument('<inputs...>', 'files, directories (recursively), file://, s3://bucket/prefix, az://container/prefix')
    .addOption(new Option('--chunk-sizes <list>', 'fixed chunk sizes, comma-separated').default('4KiB,8KiB,16KiB,32KiB,64KiB,128KiB'))
    .addOption(new Option('--cdc <min,avg,max>', 'FastCDC chunk sizes (avg a power of two)').default('2KiB,8KiB,64KiB'))
    .addOption(new Option('--no-cdc', 'no content-defined chunking'))
    .addOption(new Option('--no-per-chunk', 'skip compressing each unique chunk alone (the slow part)'))
    .addOption(new Option('--json', 'print the report as JSON on stdout'))
    .addOption(new Option('--no-progress', 'no progress bar (it only shows on a terminal, for inputs over 64 MiB)'))
    .exitOverride()
    .action(async (inputs: string[], opts: Opts) => {
      await runAnalyze(inputs, opts);
    });
  return program;
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
      const flag = FLAGS[(err as { parameter?: string }).parameter ?? ''];
      process.stderr.write(`dgen: ${flag ? `${flag}: ` : ''}${err.message} [${err.code}]\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    const e = err as Error & { code?: string; exitCode?: number };
    process.stderr.write(`dgen: ${e.message}${e.code ? ` [${e.code}]` : ''}\n`);
    if (process.env.NODE_DEBUG?.includes('dgen') && e.stack) process.stderr.write(e.stack + '\n');
    return typeof e.exitCode === 'number' ? e.exitCode : EXIT_FAILURE;
  }
}


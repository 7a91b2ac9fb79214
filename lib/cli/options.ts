/** Pieces shared by the CLI commands. @module */
import type { Command } from 'commander';
import type { S3ConnectionOptions } from '../sinks/s3-sink.js';
import { parseCompression, type CompressionSpec } from '../compression.js';
import { invalidRange } from '../errors.js';
import { addOptions, type FlagsOf } from './flags.js';
import type { DataFlags } from './main.js';
import { option } from './values.js';

/** `--endpoint` and `--region`, made anew for each command; {@link ConnectionFlags} is derived from them. */
const connectionOptionList = () => [
  option('--endpoint <url>', 'S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)'),
  option('--region <region>', 'S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)'),
];

/** `--endpoint` and `--region` (see {@link addConnectionOptions}); values as typed. */
export type ConnectionFlags = FlagsOf<ReturnType<typeof connectionOptionList>>;

/**
 * The compression of `--compression` and `--compression-level`, checked here so that messages show the
 * values typed (`got "lz4"`), or undefined when neither is given.
 * @throws RangeError `ERR_DGEN_INVALID_COMPRESSION`: an unknown algorithm or a level out of range (by
 *   {@link parseCompression}); a level without `--compression zstd` or `gzip`, which would mean nothing.
 */
export function compressionFromOptions(opts: Pick<DataFlags, 'compression' | 'compressionLevel'>): CompressionSpec | undefined {
  const algorithm = opts.compression;
  const level = opts.compressionLevel;
  if (level !== undefined && (algorithm === undefined || algorithm === 'none')) {
    throw invalidRange(
      'ERR_DGEN_INVALID_COMPRESSION',
      'compressionLevel',
      level,
      'given with --compression zstd or gzip (there is no level without compression)',
    );
  }
  if (algorithm === undefined) return undefined;
  return parseCompression(algorithm, level);
}

/** Adds `--endpoint` and `--region` (S3 targets and inputs; the environment supplies the defaults). */
export function addConnectionOptions(cmd: Command): Command {
  return addOptions(cmd, connectionOptionList());
}

/** The S3 connection options given on the command line (absent ones are left to the environment). */
export function connectionOptions(opts: ConnectionFlags): S3ConnectionOptions {
  const { endpoint, region } = opts;
  return {
    ...(typeof endpoint === 'string' && { endpoint }),
    ...(typeof region === 'string' && { region }),
  };
}

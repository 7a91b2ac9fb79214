/** Pieces shared by the CLI commands. @module */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { S3ConnectionOptions } from '../sinks/s3-sink.js';

/** Parsed command-line options as commander hands them over. */
export type Opts = Record<string, string | boolean | undefined>;

/** Adds `--endpoint` and `--region` (S3 targets and inputs; the environment supplies the defaults). */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--endpoint <url>', 'S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)'))
    .addOption(new Option('--region <region>', 'S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)'));
}

/** The S3 connection options given on the command line (absent ones are left to the environment). */
export function connectionOptions(opts: Opts): S3ConnectionOptions {
  return {
    ...(opts.endpoint !== undefined && { endpoint: opts.endpoint as string }),
    ...(opts.region !== undefined && { region: opts.region as string }),
  };
}

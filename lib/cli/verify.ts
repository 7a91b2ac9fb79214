/** `dgen verify <target>` and `dgen merge <target>`. @module */
import { verifyObjects } from '../verify.js';
import { findShardManifests, mergeShardManifests, MANIFEST_NAME } from '../manifest.js';
import { childTarget, parseTarget } from '../backends/index.js';
import { validateInteger } from '../validators.js';
import { formatBytes } from './report.js';
import { dgenError } from '../errors.js';
import { connectionOptions } from './options.js';
import type { MergeFlags, VerifyFlags } from './main.js';

/**
 * Runs `dgen verify`; returns whether it passed: every object of the manifest matched, and with
 * `--strict` also no extras (objects under the target that the manifest does not list). Without
 * `--strict` extras are reported (text and `--json`) but do not fail the run: a target may hold other
 * files on purpose, and verify's question is whether the run's objects are intact.
 */
export async function runVerify(target: string, opts: VerifyFlags): Promise<boolean> {
  // The value's syntax (decimal digits) was checked by the option's kind (`whole`, cli/values.ts).
  const concurrency = opts.concurrency === undefined ? 4 : validateInteger('concurrency', Number(opts.concurrency), { min: 1 });
  const report = await verifyObjects({
    target,
    ...(opts.manifest !== undefined && { manifest: opts.manifest }),
    concurrency,
    ...connectionOptions(opts),
  }).catch(async (err: unknown) => {
    // No manifest under the target, but shard manifests: a sharded run not merged yet.
    if ((err as { code?: unknown }).code !== 'ERR_DGEN_NOT_FOUND' || opts.manifest !== undefined) throw err;
    const shards = await findShardManifests(parseTarget(target, true), connectionOptions(opts)).catch(() => [] as string[]);
    if (shards.length === 0) throw err;
    throw dgenError(
      'ERR_DGEN_NOT_MERGED',
      `${(err as Error).message}; the target holds ${shards.length} shard manifest${shards.length === 1 ? '' : 's'} of a sharded run (${shards[0]}${shards.length > 1 ? ', ...' : ''}): ` +
        `join them with \`dgen merge ${target}\` first, or verify one shard with --manifest ${shards[0]}`,
      err,
    );
  });
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    const lines = [
      `dgen verify: ${report.ok} of ${report.objects} objects match (${formatBytes(report.bytes)}), manifest ${report.manifest}` +
        (report.records ? `, records ${report.records}` : ''),
      ...report.mismatches.map(
        (m) => `  MISMATCH ${m.uri}: ${m.offset === undefined ? m.note : `first differing byte at offset ${m.offset}`}`,
      ),
      ...report.sizeMismatches.map((m) => `  SIZE     ${m.uri}: ${m.actualSize} bytes, expected ${m.expectedSize}`),
      ...report.missing.map((m) => `  MISSING  ${m.uri}`),
      ...report.errors.map((m) => `  ERROR    ${m.uri}: ${m.error}`),
    ];
    const extras = report.extraObjects ?? 0;
    if (extras > 0) {
      lines.push(
        `dgen verify: ${extras} object${extras === 1 ? '' : 's'} under the target ${extras === 1 ? 'is' : 'are'} not in the manifest` +
          (opts.strict ? ' (--strict: this fails the run)' : ' (not an error; --strict makes it one)') +
          (extras > report.extras!.length ? `; the first ${report.extras!.length} by name:` : ':'),
        ...report.extras!.map((x) => `  EXTRA    ${x.uri}${x.kind === 'file' ? '' : ` (${x.kind})`}`),
      );
    }
    if (report.partialFiles)
      lines.push(
        `dgen verify: ${report.partialFiles} .dgen-partial file${report.partialFiles === 1 ? '' : 's'} under the target (unfinished writes; not read)`,
      );
    process.stdout.write(lines.join('\n') + '\n');
  }
  return report.ok === report.objects && !(opts.strict && (report.extraObjects ?? 0) > 0);
}

/** Runs `dgen merge`: joins the shard manifests under a target into its `dgen-manifest.json`, streaming
 * their records into `dgen-manifest.records.ndjson`. */
export async function runMerge(target: string, opts: MergeFlags): Promise<void> {
  const prefix = parseTarget(target, true);
  const shards = await findShardManifests(prefix, connectionOptions(opts)).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT')
      throw dgenError('ERR_DGEN_NOT_FOUND', `${target} does not exist: nothing to merge`, err);
    throw err;
  });
  if (shards.length === 0) {
    throw dgenError(
      'ERR_DGEN_NOT_FOUND',
      `no shard manifests (dgen-manifest.shard-I-of-N.json) under ${target}: merge joins those of \`dgen put --shard I/N\` (or --shards N) runs`,
    );
  }
  const { manifest, manifestUri, recordsUri } = await mergeShardManifests(
    shards,
    childTarget(prefix, MANIFEST_NAME),
    connectionOptions(opts),
  );
  process.stderr.write(
    `dgen merge: ${shards.length} shard manifests, ${manifest.committed} objects, ${manifest.failed} failures -> ${manifestUri} (records ${recordsUri})\n`,
  );
}

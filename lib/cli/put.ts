/** `dgen put <target>`. @module */
import { compressionFromOptions, connectionOptions } from './options.js';
import type { PutFlags } from './main.js';
import { SingleBar, Presets } from 'cli-progress';
import diagnostics_channel from 'node:diagnostics_channel';
import {
  MAX_FAILURES_KEPT,
  putFailure,
  putObjects,
  type ManifestNotStoredError,
  type PutFailure,
  type PutProgress,
  type PutResult,
} from '../put.js';
import { parseSize } from '../params.js';
import { dgenError, invalidRange } from '../errors.js';
import { validateOneOf } from '../validators.js';
import { DLIO_WORKLOADS, putFormatObjects, type PutFormatOptions, type PutFormatResult } from '../formats/put-format.js';
import { errorFields, formatBytes, formatSizeSpec, latencyLines, StatusReporter } from './report.js';
import { parseDuration } from './values.js';

export { formatBytes } from './report.js';

/** The shard from `--shard I/N`, or `--shards N` with the index from `JOB_COMPLETION_INDEX` (as a
 * Kubernetes Indexed Job sets it). */
export function shardFromOptions(opts: PutFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.shard !== undefined && opts.shards !== undefined)
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'shard', opts.shard, 'either --shard I/N or --shards N, not both');
  if (opts.shard !== undefined) return String(opts.shard);
  if (opts.shards === undefined) return undefined;
  const index = env.JOB_COMPLETION_INDEX;
  if (index === undefined || index === '') {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'shards',
      opts.shards,
      'used with JOB_COMPLETION_INDEX set (a Kubernetes Indexed Job sets it), or use --shard I/N',
    );
  }
  // The index comes from the environment: a wrong one is the Job's (completions != --shards), and the
  // message says so rather than blaming a --shard nobody typed.
  const n = Number(opts.shards);
  if (!/^\d+$/.test(index.trim()) || !(Number(index) < n)) {
    throw Object.assign(
      new RangeError(
        `JOB_COMPLETION_INDEX must be a whole number from 0 to ${Math.max(0, n - 1)} with --shards ${opts.shards} (the Indexed Job's completions must equal --shards); got JOB_COMPLETION_INDEX=${JSON.stringify(index)}`,
      ),
      { code: 'ERR_DGEN_INVALID_OPTION', parameter: 'shards', value: opts.shards },
    );
  }
  return `${index.trim()}/${opts.shards}`;
}

/** Exit status after a signal: 128 + its number, as shells report it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT;

/**
 * SIGINT, SIGTERM and SIGHUP abort the put through `signal`, the path an AbortSignal takes: objects in
 * flight are removed (partial files deleted, multipart uploads aborted, no block list committed) and the
 * manifest is stored, marked interrupted. A second signal exits at once.
 */
function onInterrupt(): { signal: AbortSignal; readonly caught: StopSignal | undefined; dispose(): void } {
  const controller = new AbortController();
  let caught: StopSignal | undefined;
  const handlers = (Object.keys(SIGNAL_EXIT) as StopSignal[]).map((name) => {
    const handler = () => {
      if (caught !== undefined) {
        process.stderr.write(`dgen put: ${name} again: exiting at once\n`);
        process.exit(SIGNAL_EXIT[name]);
      }
      caught = name;
      process.stderr.write(`\ndgen put: ${name}: stopping; objects in flight are removed (${name} again exits at once)\n`);
      controller.abort(Object.assign(new Error(`interrupted by ${name}`), { name: 'AbortError', code: 'ABORT_ERR' }));
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    get caught() {
      return caught;
    },
    dispose: () => handlers.forEach(([name, handler]) => process.off(name, handler)),
  };
}

/** The error an interrupted put ends with (exit status 128 + the signal's number), after saying what
 * committed: on stderr, and with `--json` as a document on stdout. */
function interrupted(
  name: StopSignal,
  progress: PutProgress | undefined,
  manifest: string,
  json: boolean,
  failures: PutFailure[],
): Error {
  const committed = progress?.objectsDone ?? 0;
  const failed = progress?.objectsFailed ?? 0;
  failures.sort((a, b) => Number(a.objectId) - Number(b.objectId));
  process.stderr.write(failureLines(failures, failed));
  if (json)
    process.stdout.write(
      JSON.stringify(
        { ok: false, interrupted: name, committed, failed, bytes: progress?.bytesDone ?? 0, manifest, failures },
        null,
        2,
      ) + '\n',
    );
  return dgenError(
    'ERR_DGEN_INTERRUPTED',
    `interrupted by ${name}: ${committed} objects committed${failed ? `, ${failed} failed` : ''}, the rest not written; the manifest (marked interrupted) is ${manifest}`,
    undefined,
    { exitCode: SIGNAL_EXIT[name] },
  );
}

/** One failed object for people: name, URI, error code, errno and syscall (or HTTP status), attempts, message. */
export function formatFailure(f: PutFailure): string {
  const detail = [
    f.errno !== undefined && `errno ${f.errno}`,
    f.syscall && `syscall ${f.syscall}`,
    f.status !== undefined && `HTTP ${f.status}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `  FAILED ${f.name}  ${f.uri}  ${f.code ?? 'error'}${detail ? ` (${detail})` : ''} after ${f.attempts} attempt(s): ${f.error}\n`;
}

/** The failed objects of a run, for people (stderr). */
function failureLines(failures: PutFailure[], failed: number): string {
  const omitted = failed - failures.length;
  return (
    (failed > 0 ? `dgen put: ${failed} object(s) failed:\n` : '') +
    failures.map(formatFailure).join('') +
    (omitted > 0 ? `  ... and ${omitted} more failures (lines with "failure" in the records)\n` : '')
  );
}

function isNotStored(err: unknown): err is ManifestNotStoredError {
  return (err as { code?: unknown } | null)?.code === 'ERR_DGEN_MANIFEST_NOT_STORED';
}

/** Reports a put that ended in an error: on stderr what committed and what failed (when the run got that
 * far), and with `--json` the document on stdout (`ok: false`, the error, the failures). */
function reportError(err: unknown, json: boolean): void {
  if (isNotStored(err)) {
    const shown = err.committedObjects.length;
    process.stderr.write(
      failureLines(err.failures, err.failed) +
        `dgen put: no manifest: ${err.message}\n` +
        (err.committed > 0
          ? `dgen put: ${err.committed} object(s) committed${shown < err.committed ? ` (the first ${shown}:)` : ':'}\n` +
            err.committedObjects.map((o) => `  ${o.uri}\n`).join('')
          : ''),
    );
  }
  if (!json) return;
  const document = {
    ok: false,
    error: errorFields(err),
    ...(isNotStored(err)
      ? {
          manifest: null,
          manifestNotStored: err.manifestUri,
          committed: err.committed,
          failed: err.failed,
          bytes: err.bytes,
          ...(err.interrupted && { interrupted: true }),
          committedObjects: err.committedObjects,
          failures: err.failures,
        }
      : { committed: 0, failed: 0, failures: [] }),
  };
  process.stdout.write(JSON.stringify(document, null, 2) + '\n');
}

/** Runs `dgen put`; throws on bad options and on a failed manifest (after reporting it, with `--json` as
 * a document); returns false if objects failed. With `--format` or `--dlio-workload`, writes a formatted
 * data set instead (see {@link runPutFormat}). */
export async function runPut(target: string, opts: PutFlags): Promise<boolean> {
  if (opts.format !== undefined || opts.dlioWorkload !== undefined) return runPutFormat(target, opts);
  let interruptedBy: StopSignal | undefined;
  try {
    return await put(target, opts, (name) => (interruptedBy = name));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_DGEN_INTERRUPTED') throw err;
    reportError(err, opts.json === true);
    // A signal stopped the run, which then failed to store its manifest: the exit status still says so.
    if (interruptedBy !== undefined) throw Object.assign(err as Error, { exitCode: SIGNAL_EXIT[interruptedBy] });
    throw err;
  }
}

async function put(target: string, opts: PutFlags, onSignal: (name: StopSignal) => void): Promise<boolean> {
  // The usage message names the flag (main.ts finds it among commander's options).
  for (const key of FORMAT_ONLY) {
    if (opts[key] !== undefined)
      throw invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        key,
        opts[key],
        'given only with --format or --dlio-workload (a format parameter)',
      );
  }
  // On a terminal a progress bar; elsewhere (a pod's log, CI, nohup) a status line every --status-interval,
  // or with --json an NDJSON progress event.
  const live = opts.progress !== false;
  const showProgress = live && process.stderr.isTTY === true;
  const compression = compressionFromOptions(opts);
  const duration = opts.duration === undefined ? undefined : parseDuration('duration', opts.duration);
  const statusMs = parseDuration('statusInterval', opts.statusInterval ?? '10s') * 1000;
  const bar = showProgress
    ? new SingleBar(
        {
          // A timed run's bar shows the time (its object and byte totals are unknown).
          format:
            duration === undefined
              ? 'dgen put |{bar}| {percentage}% {objects} objects{failed} | {done} / {size} | {rate}/s | ETA {eta_formatted}'
              : 'dgen put |{bar}| {percentage}% of {runtime} | {objects} objects{failed} | {done} | {rate}/s',
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : undefined;
  const started = performance.now();
  const rate = (done: number) => formatBytes(done / Math.max(1e-3, (performance.now() - started) / 1000));
  const payload = (p: PutProgress) => ({
    objects: p.objectsTotal > 0 ? `${p.objectsDone}/${p.objectsTotal}` : `${p.objectsDone}`,
    runtime: `${duration} s`,
    failed: p.objectsFailed ? `, ${p.objectsFailed} failed` : '',
    done: formatBytes(p.bytesDone),
    size: formatBytes(p.bytesTotal),
    rate: rate(p.bytesDone),
  });
  let lastDraw = 0;
  let last: PutProgress | undefined;
  const interrupt = onInterrupt();
  // The failures of a run that a signal stops (its result, which lists them, is not returned then).
  const failures: PutFailure[] = [];
  const onFailure = (m: unknown) => {
    const f = m as { name: string; uri: string; objectId: number; attempts: number; error: unknown };
    if (failures.length < MAX_FAILURES_KEPT) failures.push(putFailure(f.name, f.uri, f.objectId, f.attempts, f.error));
  };
  diagnostics_channel.subscribe('dgen:object:failure', onFailure);
  const status = live && !showProgress ? new StatusReporter(statusMs, opts.json === true) : undefined;
  const manifest = await putObjects({
    target,
    count: opts.count,
    concurrency: opts.concurrency,
    size: opts.size,
    dedupRatio: opts.dedup,
    compressRatio: opts.compress,
    dedupUnit: opts.dedupUnit,
    ...(opts.dedupScope !== undefined && {
      dedupScope: validateOneOf('dedupScope', opts.dedupScope, ['object', 'dataset'] as const),
    }),
    seed: opts.seed,
    chunkSize: opts.chunkSize,
    ...(opts.ratioCodec !== undefined && { ratioCodec: opts.ratioCodec }),
    ...(compression !== undefined && { compression }),
    ...(duration !== undefined && { duration }),
    ...(opts.rate !== undefined && { rate: opts.rate }),
    ...(opts.attempts !== undefined && { attempts: whole(opts.attempts) }),
    ...(opts.retryBaseMs !== undefined && { retryBaseMs: whole(opts.retryBaseMs) }),
    failFast: opts.failFast === true,
    shard: shardFromOptions(opts),
    ...(opts.manifest !== undefined && { manifest: opts.manifest }),
    ...(opts.nameTemplate !== undefined && { nameTemplate: opts.nameTemplate }),
    fsync: opts.fsync === true,
    overwrite: opts.overwrite === true,
    resume: opts.resume === true,
    ...connectionOptions(opts),
    ...(opts.partSize !== undefined && { partSize: parseSize('partSize', opts.partSize) }),
    ...(opts.blockSize !== undefined && { blockSize: parseSize('blockSize', opts.blockSize) }),
    signal: interrupt.signal,
    onProgress: (p) => {
      last = p;
      status?.update(p);
      if (!bar) return;
      const [total, value] =
        duration === undefined ? [p.bytesTotal, p.bytesDone] : [duration, Math.min(duration, p.elapsedMs / 1000)];
      if (lastDraw === 0) bar.start(total, 0, payload(p));
      else if (bar.getTotal() !== total) bar.setTotal(total); // summed beside the writes
      const now = performance.now();
      if (now - lastDraw > 100 || p.objectsDone + p.objectsFailed === p.objectsTotal) {
        lastDraw = now;
        bar.update(value, payload(p));
      }
    },
  })
    .catch((err: unknown) => {
      if (interrupt.caught !== undefined) onSignal(interrupt.caught);
      if (interrupt.caught === undefined || err !== interrupt.signal.reason) throw err;
      bar?.stop();
      throw interrupted(
        interrupt.caught,
        last,
        opts.manifest === undefined ? 'under the target' : String(opts.manifest),
        opts.json === true,
        failures,
      );
    })
    .finally(() => {
      diagnostics_channel.unsubscribe('dgen:object:failure', onFailure);
      bar?.stop();
      status?.stop();
      interrupt.dispose();
    });
  return report(manifest, opts);
}

/** Says how a run that stored its manifest went: on stderr, or with `--json` as a document on stdout. */
function report(manifest: PutResult, opts: PutFlags): boolean {
  const seconds = manifest.seconds;
  const ok = manifest.failed === 0 && !manifest.interrupted;
  const lowered = manifest.concurrency.used < manifest.concurrency.requested;
  const written = manifest.bytes;
  const omitted = manifest.failed - manifest.failures.length;
  if (opts.json) {
    const summary = {
      ok,
      tool: manifest.tool,
      seed: manifest.seed,
      parameters: {
        count: manifest.count,
        size: /^\d+$/.test(manifest.size) ? Number(manifest.size) : manifest.size,
        dedupRatio: manifest.dedupRatio,
        compressRatio: manifest.compressRatio,
        dedupUnit: manifest.dedupUnit,
        dedupScope: manifest.dedupScope,
      },
      ...(manifest.shard && { shard: manifest.shard }),
      compression: manifest.compression,
      target: manifest.target,
      manifest: manifest.manifestUri,
      records: manifest.recordsUri,
      committed: manifest.committed,
      failed: manifest.failed,
      bytes: written,
      ...(manifest.compressedBytes !== undefined && { compressedBytes: manifest.compressedBytes }),
      storedBytes: manifest.compressedBytes ?? written,
      ...(manifest.realizedDedupRatio !== undefined && { realizedDedupRatio: manifest.realizedDedupRatio }),
      ...(manifest.realizedCompressionRatio !== undefined && { realizedCompressionRatio: manifest.realizedCompressionRatio }),
      seconds,
      bytesPerSecond: written / Math.max(seconds, 1e-9),
      ...(manifest.latency !== undefined && { latency: manifest.latency }),
      ...(manifest.interrupted && { interrupted: true }),
      ...(manifest.resumed > 0 && { resumed: manifest.resumed }),
      partialsRemoved: manifest.partialsRemoved.removed,
      concurrency: manifest.concurrency,
      failures: manifest.failures,
      ...(omitted > 0 && { failuresOmitted: omitted }),
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    // People watching a --json run see the failures too (stderr is theirs).
    process.stderr.write(failureLines(manifest.failures, manifest.failed));
  } else {
    process.stderr.write(
      `dgen put: ${manifest.committed} objects${manifest.failed ? ` (${manifest.failed} failed)` : ''}, ${formatBytes(written)} in ${seconds.toFixed(2)} s ` +
        `(${formatBytes(written / Math.max(seconds, 1e-9))}/s) into ${manifest.target}` +
        (manifest.shard ? ` (shard ${manifest.shard.index}/${manifest.shard.count})` : '') +
        (manifest.interrupted ? ' (interrupted)' : '') +
        '\n' +
        `  seed ${manifest.seed}, size ${formatSizeSpec(manifest.size)}, dedup ${manifest.dedupRatio} (${manifest.dedupScope} scope` +
        (manifest.realizedDedupRatio !== undefined && manifest.committed > 0
          ? `, realized ${Number(manifest.realizedDedupRatio.toFixed(4))}`
          : '') +
        `), compress ${manifest.compressRatio}${manifest.ratioCodec ? ` for ${manifest.ratioCodec}` : ''}, dedup unit ${formatSizeSpec(String(manifest.dedupUnit))}\n` +
        (manifest.compression.algorithm === 'none'
          ? ''
          : `  compression ${manifest.compression.algorithm} level ${manifest.compression.level}, ${formatBytes(manifest.compressedBytes ?? 0)} stored` +
            (manifest.realizedCompressionRatio !== undefined ? ` (ratio ${manifest.realizedCompressionRatio.toFixed(2)})` : '') +
            '\n') +
        latencyLines(manifest.latency) +
        `  manifest ${manifest.manifestUri}\n  records  ${manifest.recordsUri}\n` +
        (manifest.resumed > 0 ? `  resumed: ${manifest.resumed} objects of the interrupted run kept\n` : '') +
        (manifest.partialsRemoved.removed > 0
          ? `  removed ${manifest.partialsRemoved.removed} stale .dgen-partial file(s) (${formatBytes(manifest.partialsRemoved.bytes)}) left by an earlier run\n`
          : '') +
        (lowered
          ? `  concurrency lowered from ${manifest.concurrency.requested} to ${manifest.concurrency.used} (open files limit ${manifest.concurrency.openFiles}${manifest.concurrency.measured ? '' : ', assumed'})\n`
          : '') +
        failureLines(manifest.failures, manifest.failed),
    );
  }
  return manifest.failed === 0;
}

/** Options that only a formatted put takes, with their flags. */
const FORMAT_ONLY = ['samples', 'recordLength', 'dtype', 'validCount', 'layout'] as const;

/** Options of the raw put that a formatted put has no use for (it writes no manifest and stops at the
 * first failure), with their flags: refused when given, rather than ignored. */
const FORMAT_REFUSED = [
  'resume',
  'shard',
  'shards',
  'manifest',
  'nameTemplate',
  'attempts',
  'retryBaseMs',
  'chunkSize',
  'duration',
  'rate',
] as const;

/** A whole number given on the command line (a flag of kind `whole`: values.ts let only decimal digits
 * through) as a number. */
function whole(value: string): number {
  return Number(value);
}

/**
 * The {@link PutFormatOptions} of `dgen put --format` / `--dlio-workload`. A DLIO preset's file parameters
 * are merged with the ones given (`--samples`, `--record-length`, `--dtype`); `--size` given with a preset
 * and no `--record-length` derives the record length from the file size instead of the preset's.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` for options of the raw put that have no meaning here
 *   (`--resume`, `--dedup-scope dataset`, `--shard`, `--manifest`, ...); the rest is validated by
 *   {@link putFormatObjects}.
 */
export function formatPutOptions(opts: PutFlags, signal?: AbortSignal): PutFormatOptions {
  for (const key of FORMAT_REFUSED) {
    if (opts[key] !== undefined && opts[key] !== false) {
      throw invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        key,
        opts[key],
        'absent with --format or --dlio-workload (it applies to raw objects only)',
      );
    }
  }
  if (opts.dedupScope !== undefined && opts.dedupScope !== 'object') {
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'dedupScope',
      opts.dedupScope,
      '"object" with --format or --dlio-workload (each file dedups by D on its own)',
    );
  }
  const preset =
    typeof opts.dlioWorkload === 'string' ? DLIO_WORKLOADS[opts.dlioWorkload as keyof typeof DLIO_WORKLOADS] : undefined;
  const formatOptions: Record<string, unknown> = { ...preset?.formatOptions };
  if (opts.size !== undefined && (preset === undefined || opts.recordLength === undefined)) {
    formatOptions.size = opts.size;
    if (preset !== undefined) delete formatOptions.recordLength;
  }
  if (opts.samples !== undefined) formatOptions.samples = whole(opts.samples);
  if (opts.recordLength !== undefined) formatOptions.recordLength = opts.recordLength;
  if (opts.dtype !== undefined) formatOptions.dtype = opts.dtype;
  return {
    ...(opts.format !== undefined && { format: opts.format }),
    ...(opts.dlioWorkload !== undefined && { dlioWorkload: opts.dlioWorkload }),
    ...(opts.count !== undefined && { count: whole(opts.count) }),
    ...(opts.validCount !== undefined && { validCount: whole(opts.validCount) }),
    // The layout is checked by putFormatObjects (ERR_DGEN_INVALID_FORMAT).
    ...(opts.layout !== undefined && { layout: opts.layout as PutFormatOptions['layout'] }),
    ...(opts.concurrency !== undefined && { concurrency: whole(opts.concurrency) }),
    ...(opts.ratioCodec !== undefined && { ratioCodec: opts.ratioCodec }),
    ...(opts.dedup !== undefined && { dedupRatio: opts.dedup }),
    ...(opts.compress !== undefined && { compressRatio: opts.compress }),
    ...(opts.dedupUnit !== undefined && { dedupUnit: opts.dedupUnit }),
    ...(opts.seed !== undefined && { seed: opts.seed }),
    formatOptions,
    sink: {
      fsync: opts.fsync === true,
      ...((opts.compression !== undefined || opts.compressionLevel !== undefined) && {
        compression: compressionFromOptions(opts),
      }),
      ...connectionOptions(opts),
      ...(opts.partSize !== undefined && { partSize: parseSize('partSize', opts.partSize) }),
      ...(opts.blockSize !== undefined && { blockSize: parseSize('blockSize', opts.blockSize) }),
    },
    ...(signal && { signal }),
  };
}

/**
 * `dgen put --format` / `--dlio-workload`: a data set of formatted files through {@link putFormatObjects}.
 * Every parameter is checked before anything is created; SIGINT, SIGTERM and SIGHUP abort it (files in
 * flight are removed, committed ones stay; exit status 128 + the signal's number). Says how it went on
 * stderr, or with `--json` as one document on stdout (`ok`, `format`, `files`, `bytes`, `seconds`, ...), also
 * when it fails. Files are written without a manifest.
 * @returns true (a failure throws, as the first file that fails stops the run).
 */
export async function runPutFormat(target: string, opts: PutFlags): Promise<boolean> {
  const json = opts.json === true;
  const interrupt = onInterrupt();
  const started = performance.now();
  let result: PutFormatResult;
  try {
    result = await putFormatObjects(target, formatPutOptions(opts, interrupt.signal));
  } catch (err) {
    const name = interrupt.caught;
    if (name !== undefined && err === interrupt.signal.reason) {
      if (json)
        process.stdout.write(
          JSON.stringify(
            { ok: false, interrupted: name, format: opts.format ?? null, dlioWorkload: opts.dlioWorkload ?? null },
            null,
            2,
          ) + '\n',
        );
      throw Object.assign(
        new Error(
          `interrupted by ${name}: the files committed before it stay, the ones in flight were removed, the rest not written`,
        ),
        {
          code: 'ERR_DGEN_INTERRUPTED',
          exitCode: SIGNAL_EXIT[name],
        },
      );
    }
    if (json) {
      const error = errorFields(err);
      process.stdout.write(
        JSON.stringify({ ok: false, format: opts.format ?? null, dlioWorkload: opts.dlioWorkload ?? null, error }, null, 2) +
          '\n',
      );
    }
    if (name !== undefined) throw Object.assign(err as Error, { exitCode: SIGNAL_EXIT[name] });
    throw err;
  } finally {
    interrupt.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const written = result.files.reduce((sum, f) => sum + f.size, 0);
  const format =
    opts.format ??
    (typeof opts.dlioWorkload === 'string'
      ? DLIO_WORKLOADS[opts.dlioWorkload as keyof typeof DLIO_WORKLOADS]?.format
      : undefined);
  const folders = new Set(result.files.map((f) => (f.name.includes('/') ? f.name.slice(0, f.name.indexOf('/')) : '.')));
  if (json) {
    const summary = {
      ok: true,
      format,
      ...(opts.dlioWorkload !== undefined && { dlioWorkload: opts.dlioWorkload }),
      seed: result.seed,
      target,
      files: result.files.length,
      bytes: written,
      seconds,
      bytesPerSecond: written / Math.max(seconds, 1e-9),
      folders: [...folders].sort(),
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } else {
    process.stderr.write(
      `dgen put: ${result.files.length} ${format} files, ${formatBytes(written)} in ${seconds.toFixed(2)} s ` +
        `(${formatBytes(written / Math.max(seconds, 1e-9))}/s) into ${target}` +
        (opts.dlioWorkload !== undefined ? ` (DLIO ${opts.dlioWorkload})` : '') +
        '\n' +
        `  seed ${result.seed}, folders ${[...folders].sort().join(', ')}\n`,
    );
  }
  return true;
}

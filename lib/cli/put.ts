/** `dgen put <target>`. @module */
import { connectionOptions, type Opts } from './options.js';
import { SingleBar, Presets } from 'cli-progress';
import bytes from 'bytes-iec';
import { putObjects, type PutProgress } from '../put.js';
import { parseSize } from '../params.js';
import { invalidRange } from '../errors.js';


/** Binary-prefixed size for people, e.g. `1.5GiB`. */
export function formatBytes(n: number): string {
  return bytes.format(n, { mode: 'binary', decimalPlaces: 1 }) ?? `${n} B`;
}

/** The shard from `--shard I/N`, or `--shards N` with the index from `JOB_COMPLETION_INDEX` (as a
 * Kubernetes Indexed Job sets it). */
export function shardFromOptions(opts: Opts, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.shard !== undefined && opts.shards !== undefined) throw invalidRange('ERR_DGEN_INVALID_OPTION', 'shard', opts.shard, 'either --shard I/N or --shards N, not both');
  if (opts.shard !== undefined) return String(opts.shard);
  if (opts.shards === undefined) return undefined;
  const index = env.JOB_COMPLETION_INDEX;
  if (index === undefined || index === '') {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'shards', opts.shards, 'used with JOB_COMPLETION_INDEX set (a Kubernetes Indexed Job sets it), or use --shard I/N');
  }
  return `${index}/${opts.shards}`;
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
function interrupted(name: StopSignal, progress: PutProgress | undefined, manifest: string, json: boolean): Error {
  const committed = progress?.objectsDone ?? 0;
  const failed = progress?.objectsFailed ?? 0;
  if (json) process.stdout.write(JSON.stringify({ ok: false, interrupted: name, committed, failed, bytes: progress?.bytesDone ?? 0, manifest }, null, 2) + '\n');
  return Object.assign(
    new Error(`interrupted by ${name}: ${committed} objects committed${failed ? `, ${failed} failed` : ''}, the rest not written; the manifest (marked interrupted) is ${manifest}`),
    { code: 'ERR_DGEN_INTERRUPTED', exitCode: SIGNAL_EXIT[name] },
  );
}

/** Runs `dgen put`; throws on bad options and on a failed manifest; returns false if objects failed. */
export async function runPut(target: string, opts: Opts): Promise<boolean> {
  const showProgress = opts.progress !== false && process.stderr.isTTY === true;
  const bar = showProgress
    ? new SingleBar(
        {
          format: 'dgen put |{bar}| {percentage}% {objects} objects{failed} | {done} / {size} | {rate}/s | ETA {eta_formatted}',
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
    objects: `${p.objectsDone}/${p.objectsTotal}`,
    failed: p.objectsFailed ? `, ${p.objectsFailed} failed` : '',
    done: formatBytes(p.bytesDone),
    size: formatBytes(p.bytesTotal),
    rate: rate(p.bytesDone),
  });
  let lastDraw = 0;
  let last: PutProgress | undefined;
  const interrupt = onInterrupt();
  const manifest = await putObjects({
    target,
    count: opts.count as string,
    concurrency: opts.concurrency as string,
    size: opts.size as string,
    dedupRatio: opts.dedup as string,
    compressRatio: opts.compress as string,
    dedupUnit: opts.dedupUnit as string,
    dedupScope: opts.dedupScope as 'object',
    seed: opts.seed as string | undefined,
    chunkSize: opts.chunkSize as string,
    compression: { algorithm: opts.compression as never, level: opts.compressionLevel as never },
    attempts: opts.attempts === undefined ? undefined : (Number(opts.attempts) as number),
    failFast: opts.failFast === true,
    shard: shardFromOptions(opts),
    ...(opts.manifest !== undefined && { manifest: opts.manifest as string }),
    ...(opts.nameTemplate !== undefined && { nameTemplate: opts.nameTemplate as string }),
    fsync: opts.fsync === true,
    ...connectionOptions(opts),
    ...(opts.partSize !== undefined && { partSize: parseSize('partSize', opts.partSize) }),
    ...(opts.blockSize !== undefined && { blockSize: parseSize('blockSize', opts.blockSize) }),
    signal: interrupt.signal,
    onProgress: (p) => {
      last = p;
      if (!bar) return;
      if (lastDraw === 0) bar.start(p.bytesTotal, 0, payload(p));
      const now = performance.now();
      if (now - lastDraw > 100 || p.objectsDone + p.objectsFailed === p.objectsTotal) {
        lastDraw = now;
        bar.update(p.bytesDone, payload(p));
      }
    },
  })
    .catch((err: unknown) => {
      if (interrupt.caught === undefined || err !== interrupt.signal.reason) throw err;
      bar?.stop();
      throw interrupted(interrupt.caught, last, opts.manifest === undefined ? 'under the target' : String(opts.manifest), opts.json === true);
    })
    .finally(() => {
      bar?.stop();
      interrupt.dispose();
    });
  const seconds = manifest.seconds;
  const written = manifest.bytes;
  const omitted = manifest.failed - manifest.failures.length;
  if (opts.json) {
    const summary = {
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
      seconds,
      bytesPerSecond: written / Math.max(seconds, 1e-9),
      ...(manifest.interrupted && { interrupted: true }),
      failures: manifest.failures,
      ...(omitted > 0 && { failuresOmitted: omitted }),
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } else {
    process.stderr.write(
      `dgen put: ${manifest.committed} objects${manifest.failed ? ` (${manifest.failed} failed)` : ''}, ${formatBytes(written)} in ${seconds.toFixed(2)} s ` +
        `(${formatBytes(written / Math.max(seconds, 1e-9))}/s) into ${manifest.target}` +
        (manifest.shard ? ` (shard ${manifest.shard.index}/${manifest.shard.count})` : '') +
        (manifest.interrupted ? ' (interrupted)' : '') +
        '\n' +
        `  seed ${manifest.seed}, size ${manifest.size}, dedup ${manifest.dedupRatio} (${manifest.dedupScope} scope), ` +
        `compress ${manifest.compressRatio}, dedup unit ${manifest.dedupUnit} B\n` +
        (manifest.compression.algorithm === 'none'
          ? ''
          : `  compression ${manifest.compression.algorithm} level ${manifest.compression.level}, ${formatBytes(manifest.compressedBytes ?? 0)} stored\n`) +
        `  manifest ${manifest.manifestUri}\n  records  ${manifest.recordsUri}\n` +
        manifest.failures.map((f) => `  FAILED ${f.uri} after ${f.attempts} attempt(s): ${f.error}\n`).join('') +
        (omitted > 0 ? `  ... and ${omitted} more failures (lines with "failure" in the records)\n` : ''),
    );
  }
  return manifest.failed === 0;
}

/** `dgen put <dir>`. @module */
import { SingleBar, Presets } from 'cli-progress';
import bytes from 'bytes-iec';
import { putObjects, type PutProgress } from '../put.js';
import { MANIFEST_NAME } from '../manifest.js';
import { DataGenerator } from '../generator.js';
import { parseDataOptions, parseSize } from '../params.js';

type Opts = Record<string, string | boolean | undefined>;

function formatBytes(n: number): string {
  return bytes.format(n, { mode: 'binary', decimalPlaces: 1 }) ?? `${n} B`;
}

/** Runs `dgen put`; throws on any failure (the caller maps errors to exit codes). */
export async function runPut(target: string, opts: Opts): Promise<void> {
  const data = parseDataOptions({
    dedupRatio: opts.dedup as string,
    compressRatio: opts.compress as string,
    dedupUnit: opts.dedupUnit as string,
    seed: opts.seed as string | undefined,
  });
  const size = parseSize('size', opts.size);
  const showProgress = opts.progress !== false && process.stderr.isTTY === true;
  const bar = showProgress
    ? new SingleBar(
        {
          format: 'dgen put |{bar}| {percentage}% {objects} objects | {done} / {size} | {rate}/s | ETA {eta_formatted}',
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : undefined;
  const started = performance.now();
  const rate = (done: number) => formatBytes(done / Math.max(1e-3, (performance.now() - started) / 1000));
  let bytesTotal = 0;
  const payload = (p: PutProgress) => ({
    objects: `${p.objectsDone}/${p.objectsTotal}`,
    done: formatBytes(p.bytesDone),
    size: formatBytes(p.bytesTotal),
    rate: rate(p.bytesDone),
  });
  let lastDraw = 0;
  const manifest = await putObjects({
    target,
    compression: opts.compression === undefined ? undefined : { algorithm: opts.compression as never, level: opts.compressionLevel as never },
    ...(opts.endpoint !== undefined && { endpoint: opts.endpoint as string }),
    ...(opts.region !== undefined && { region: opts.region as string }),
    ...(opts.partSize !== undefined && { partSize: parseSize('partSize', opts.partSize) }),
    ...(opts.blockSize !== undefined && { blockSize: parseSize('blockSize', opts.blockSize) }),
    count: opts.count as string as unknown as number,
    concurrency: opts.concurrency as string as unknown as number,
    size,
    ...data,
    chunkSize: opts.chunkSize as string,
    fsync: opts.fsync === true,
    onProgress: (p) => {
      bytesTotal = p.bytesTotal;
      if (!bar) return;
      if (lastDraw === 0) bar.start(p.bytesTotal, 0, payload(p));
      const now = performance.now();
      if (now - lastDraw > 100 || p.objectsDone === p.objectsTotal) {
        lastDraw = now;
        bar.update(p.bytesDone, payload(p));
      }
    },
  }).finally(() => bar?.stop());
  const seconds = (performance.now() - started) / 1000;
  const realized = new DataGenerator({ size, ...data }).realizedDedupRatio;
  if (opts.json) {
    const summary = {
      tool: manifest.tool,
      seed: manifest.seed,
      parameters: {
        count: manifest.objects.length,
        size,
        dedupRatio: data.dedupRatio,
        compressRatio: data.compressRatio,
        dedupUnit: data.dedupUnit,
      },
      realizedDedupRatio: realized,
      compression: manifest.compression,
      target: manifest.target,
      bytes: bytesTotal,
      seconds,
      bytesPerSecond: bytesTotal / Math.max(seconds, 1e-9),
      objects: manifest.objects.map((o) => ({
        uri: o.uri,
        size: o.size,
        crc32c: o.crc32c,
        ...(o.compressedSize !== undefined && { compressedSize: o.compressedSize }),
        ...(o.etag !== undefined && { etag: o.etag }),
      })),
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  } else {
    process.stderr.write(
      `dgen put: ${manifest.objects.length} objects, ${formatBytes(bytesTotal)} in ${seconds.toFixed(2)} s ` +
        `(${rate(bytesTotal)}/s) into ${manifest.target}\n` +
        `  seed ${manifest.seed}, dedup ${data.dedupRatio} (realized ${realized.toFixed(4)} per object), ` +
        `compress ${data.compressRatio}, dedup unit ${data.dedupUnit} B\n` +
        (manifest.compression.algorithm === 'none' ? '' : `  compression ${manifest.compression.algorithm} level ${manifest.compression.level}\n`) +
        `  manifest ${MANIFEST_NAME} under the target\n`,
    );
  }
}

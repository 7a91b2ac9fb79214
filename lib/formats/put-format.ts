/**
 * Writes a data set of formatted files to any target (directory, direct://, s3://, az://) through the
 * sinks, in the folder layout DLIO reads: `<target>/train/img_{i}_of_{n}.<ext>` and
 * `<target>/valid/img_{j}_of_{m}.<ext>` (DLIO lists `data_folder/train` and `data_folder/valid` and keeps
 * the names ending in the format), plus `<target>/index/{train,valid}/<name>.idx` for TFRecord (the DALI
 * index files DLIO's TFRecord generator writes). This is the library side of `dgen put --format`: the CLI
 * and `putObjects` can call {@link formatObjectFor} per object, or this function for a whole run.
 *
 * Like a raw put, a run stores a manifest (`dgen-manifest.json`, records in `dgen-manifest.records.ndjson`,
 * through manifest.ts) at the target and can report progress. Its records are the files (name, object id,
 * size, CRC-32C of the file's bytes); the document adds `fileFormat` (format, its parameters, layout),
 * because a file's bytes are not the raw object of (seed, object id, size): readers that regenerate raw
 * objects from a manifest must look for `fileFormat` first.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseDataOptions, type DataOptions } from '../params.js';
import { parseCompression } from '../compression.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  ManifestWriter,
  orderManifest,
  recordsName,
  storeManifest,
  type ManifestV2,
} from '../manifest.js';
import { formatTarget } from '../backends/index.js';
import { TOOL } from '../version.js';
import { childTarget, createSink, parseTarget, type SinkOptions, type Target } from '../backends/index.js';
import { invalidFormat, invalidFormatType, parsePositive, type FormatFile } from './common.js';
import { createFormatFile, FORMAT_EXTENSIONS, parseFormat, type FileFormat } from './index.js';
import type { TfrecordFile } from './tfrecord.js';
import { writeLocalFormatFiles } from './put-local-format.js';

/** A DLIO workload's data set: format, training files and per-file parameters. */
export interface DlioWorkload {
  format: FileFormat;
  count: number;
  formatOptions: { samples: number; recordLength: number };
}

/**
 * The MLPerf Storage workloads as DLIO's workload configs describe their data sets
 * (argonne-lcf/dlio_benchmark, dlio_benchmark/configs/workload/{unet3d,resnet50,cosmoflow}_h100.yaml):
 * format, num_files_train, num_samples_per_file and the mean record length. DLIO draws record lengths
 * around that mean with a standard deviation; these presets use the mean for every sample.
 */
export const DLIO_WORKLOADS: Readonly<Record<'unet3d' | 'resnet50' | 'cosmoflow', DlioWorkload>> = {
  unet3d: { format: 'npz', count: 168, formatOptions: { samples: 1, recordLength: 146_600_628 } },
  resnet50: { format: 'tfrecord', count: 1024, formatOptions: { samples: 1251, recordLength: 114_660 } },
  cosmoflow: { format: 'tfrecord', count: 524_288, formatOptions: { samples: 1, recordLength: 2_828_486 } },
};

/** Options of {@link putFormatObjects}. */
export interface PutFormatOptions extends DataOptions {
  /** A DLIO workload preset (`unet3d`, `resnet50`, `cosmoflow`, see {@link DLIO_WORKLOADS}): gives format,
   * count and formatOptions where they are not given. */
  dlioWorkload?: string;
  /** `npz`, `tfrecord`, `hdf5`, `parquet` or `safetensors`. Required unless `dlioWorkload` is given. */
  format?: string;
  /** Files in `train/` (or in the target itself with `layout: 'flat'`). Required unless `dlioWorkload`. */
  count?: number;
  /** Files in `valid/` (DLIO's evaluation set). Default 0. */
  validCount?: number;
  /** `dlio` (train/ and valid/ folders; default) or `flat` (files directly under the target). */
  layout?: 'dlio' | 'flat';
  /** File name prefix. Default `img` (DLIO's default file_prefix). */
  prefix?: string;
  /** The format's own parameters, the same for every file (samples, recordLength, dtype, tensors, size, ...). */
  formatOptions?: object;
  /** Options of every sink (fsync, part size, credentials, compression, ...). */
  sink?: Omit<SinkOptions, 'signal'>;
  /** Files written at the same time through sinks. Default 4. (Files to a directory without compression, in
   * a format with local segments (NPZ, HDF5, safetensors), are written by the native pool instead: a file per pool worker.) */
  concurrency?: number;
  /** Stops the run: files being written are aborted (nothing partial is left), the promise rejects. */
  signal?: AbortSignal;
  /** Store the manifest (`dgen-manifest.json` and its records) at the target after the run, as a raw put
   * does; also after a failure or an abort (then with `interrupted: true` and the failed file's line),
   * before the promise rejects. An existing manifest there is replaced. Default true. */
  manifest?: boolean;
  /** Called as bytes are written (at most once per chunk of about 4 MiB; once per file when the native pool
   * writes the files, see `concurrency`) and as files commit or fail. If it
   * throws, the run stops as on an abort and the put rejects with what it threw. */
  onProgress?: (progress: PutFormatProgress) => void;
}

/** What {@link PutFormatOptions.onProgress} is given (one object, updated in place between calls). */
export interface PutFormatProgress {
  /** Files committed (companion index files not counted). */
  filesDone: number;
  filesFailed: number;
  /** Files of the run: train plus valid. */
  filesTotal: number;
  /** Bytes of the files handed to their sinks so far (uncompressed). */
  bytesDone: number;
  /** Bytes of all files (every file of a run has the same size). */
  bytesTotal: number;
  /** Milliseconds since the run started. */
  elapsedMs: number;
}

/** The manifest of a formatted put: a version 2 manifest plus what says how its files were made. */
export interface FormatManifest extends ManifestV2 {
  fileFormat: {
    format: FileFormat;
    /** The format's parameters as given (DLIO preset applied). */
    formatOptions: object;
    layout: 'dlio' | 'flat';
    prefix: string;
    validCount: number;
    dlioWorkload?: string;
  };
}

/** One file of a formatted data set, as {@link planFormatObjects} plans it. */
export interface FormatObjectPlan {
  /** Name relative to the target, e.g. `train/img_0_of_168.npz`. */
  name: string;
  /** Object id: train files 0..count-1, valid files after them, so no two files share data. */
  objectId: number;
  /** The file, made when asked (a data set can have millions; the first is made while planning, so
   * every parameter is validated before anything is written). */
  file: () => Promise<FormatFile>;
  /** Extra small objects that belong with the file (the TFRecord index), name and content. */
  companions: { name: string; content: (file: FormatFile) => string }[];
}

/** The result of {@link putFormatObjects}. */
export interface PutFormatResult {
  /** The seed every file was derived from (decimal), given or drawn. */
  seed: string;
  files: { name: string; uri: string; objectId: number; size: number; crc32c: string }[];
  /** URI of the stored manifest (absent with `manifest: false`). */
  manifestUri?: string;
}

/**
 * The file of one object of a formatted put: what `putObjects` needs per object to write `--format` files
 * (the stream, its exact size and extension). Validates everything before anything is created; a promise
 * because HDF5 and Parquet layouts are made asynchronously (the other formats resolve at once).
 * @param format - format name.
 * @param objectId - the object's index in the run (its identity, as for raw objects).
 * @param data - the run's data options; give `seed` so that every object uses the same one.
 * @param formatOptions - the format's own parameters; `size` is taken as the target file size when the
 *   format's parameters do not fix it.
 * @throws the errors of {@link createFormatFile}.
 */
export function formatObjectFor(
  format: string,
  objectId: number | bigint,
  data: DataOptions,
  formatOptions: object = {},
): Promise<FormatFile> {
  return createFormatFile(format, { ...formatOptions, ...data, objectId });
}

/** A planned run: its seed, format, files, and what its manifest states. */
export interface FormatPlan {
  seed: bigint;
  format: FileFormat;
  files: FormatObjectPlan[];
  /** Bytes of each file (all files of a run have the same size). */
  fileSize: number;
  /** The manifest's `fileFormat`. */
  fileFormat: FormatManifest['fileFormat'];
}

/** Plans the files of a run (validating all parameters; nothing is created at the target). */
export async function planFormatObjects(options: PutFormatOptions): Promise<FormatPlan> {
  if (options === null || typeof options !== 'object') throw invalidFormatType('options', options, 'an object');
  if (options.dlioWorkload !== undefined) {
    const names = Object.keys(DLIO_WORKLOADS);
    if (typeof options.dlioWorkload !== 'string' || !names.includes(options.dlioWorkload)) {
      throw invalidFormat('dlioWorkload', options.dlioWorkload, `one of ${names.join(', ')}`);
    }
    const preset = DLIO_WORKLOADS[options.dlioWorkload as keyof typeof DLIO_WORKLOADS];
    options = {
      ...options,
      format: options.format ?? preset.format,
      count: options.count ?? preset.count,
      formatOptions: { ...preset.formatOptions, ...options.formatOptions },
    };
  }
  const format = parseFormat(options.format);
  const count = parsePositive('count', options.count);
  const validCount =
    options.validCount === undefined ? 0 : options.validCount === 0 ? 0 : parsePositive('validCount', options.validCount);
  const layout = options.layout ?? 'dlio';
  if (layout !== 'dlio' && layout !== 'flat') throw invalidFormat('layout', layout, '"dlio" or "flat"');
  if (layout === 'flat' && validCount > 0) throw invalidFormat('validCount', validCount, '0 with layout "flat"');
  const prefix = options.prefix ?? 'img';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._-]+$/.test(prefix))
    throw invalidFormat('prefix', prefix, 'letters, digits, ".", "_" or "-"');
  const data = parseDataOptions(options);
  const seed = data.seed;
  const extension = FORMAT_EXTENSIONS[format];
  const files: FormatObjectPlan[] = [];
  const splits: [string, number, number][] =
    layout === 'dlio'
      ? [
          ['train', count, 0],
          ['valid', validCount, count],
        ]
      : [['', count, 0]];
  const make = (objectId: number) => formatObjectFor(format, objectId, { ...data, seed }, options.formatOptions ?? {});
  const first = await make(0); // validates the format's parameters before anything is written
  for (const [split, n, firstId] of splits) {
    for (let i = 0; i < n; i++) {
      const base = `${prefix}_${i}_of_${n}${extension}`;
      const name = split ? `${split}/${base}` : base;
      const objectId = firstId + i;
      const companions =
        format === 'tfrecord' && layout === 'dlio'
          ? [{ name: `index/${split}/${base}.idx`, content: (file: FormatFile) => (file as TfrecordFile).indexText() }]
          : [];
      files.push({ name, objectId, file: () => make(objectId), companions });
    }
  }
  const fileFormat: FormatManifest['fileFormat'] = {
    format,
    formatOptions: { ...options.formatOptions },
    layout,
    prefix,
    validCount,
    ...(options.dlioWorkload !== undefined && { dlioWorkload: options.dlioWorkload }),
  };
  return { seed, format, files, fileSize: first.size, fileFormat };
}

async function writeOne(
  target: Target,
  name: string,
  stream: Readable,
  sink: Omit<SinkOptions, 'signal'>,
  signal: AbortSignal,
  onBytes?: (n: number) => void,
) {
  const child = childTarget(target, name);
  // Local sinks write beside the final name; the split folders must exist first.
  if (child.scheme === 'file' || child.scheme === 'direct') await mkdir(dirname(child.path), { recursive: true });
  // No sink once the run is stopping (a sink made with an aborted signal races its own file creation).
  signal.throwIfAborted();
  const writer = createSink(child, { ...sink, signal });
  try {
    if (onBytes) {
      // Counted as the chunks pass (one step per ~4 MiB chunk), for progress.
      const counted = async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          onBytes(chunk.length);
          yield chunk;
        }
      };
      await pipeline(stream, counted, writer, { signal });
    } else await pipeline(stream, writer, { signal });
  } catch (err) {
    // pipeline settles as soon as it is aborted; the sink removes its partial object after that. Wait for
    // the sink to finish cleaning up, so nothing partial is left when the caller sees the error.
    stream.destroy();
    await writer.result().catch(() => undefined);
    throw err;
  }
  return writer.result();
}

/**
 * Writes `count` (+ `validCount`) files of a format under `target`, each derived from (seed, object id) like
 * raw objects, with bounded memory per file and `concurrency` files at a time. Every parameter is checked
 * before anything is created; on a failure or abort the files in progress are aborted (their sinks leave
 * nothing behind), the ones committed stay, and the promise rejects with the first error.
 * @param target - a directory path, `file://`, `direct://`, `s3://bucket/prefix` or `az://container/prefix`.
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` (format, count, validCount, layout, prefix and the
 *   format's own parameters), the data-option errors, `ERR_DGEN_INVALID_URI` for the target; then the
 *   sinks' errors.
 */
export async function putFormatObjects(target: string | Target, options: PutFormatOptions): Promise<PutFormatResult> {
  const prefix = typeof target === 'string' ? parseTarget(target, true) : target;
  const plan = await planFormatObjects(options);
  const { seed, files } = plan;
  const concurrency = options.concurrency === undefined ? 4 : parsePositive('concurrency', options.concurrency, 1024);
  if (options.manifest !== undefined && typeof options.manifest !== 'boolean')
    throw invalidFormatType('manifest', options.manifest, 'true or false');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw invalidFormatType('onProgress', options.onProgress, 'a function');
  const sinkOptions = options.sink ?? {};
  const compression = parseCompression(sinkOptions.compression);
  const data = parseDataOptions(options);
  const started = performance.now();
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort(options.signal.reason);
  const results: PutFormatResult['files'] = [];
  const progress: PutFormatProgress = {
    filesDone: 0,
    filesFailed: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: plan.fileSize * files.length,
    elapsedMs: 0,
  };
  let failure: unknown;
  const fail = (err: unknown) => {
    // The first failure stops the others; their abort errors are not the cause.
    if (!stop.signal.aborted) {
      failure = err;
      stop.abort(err);
    }
  };
  const report = () => {
    if (!options.onProgress) return;
    progress.elapsedMs = performance.now() - started;
    try {
      options.onProgress(progress);
    } catch (err) {
      fail(err);
    }
  };
  const records =
    options.manifest === false
      ? undefined
      : await ManifestWriter.create(childTarget(prefix, recordsName(MANIFEST_NAME)), sinkOptions);
  const failed = (plan: FormatObjectPlan, err: unknown) => {
    if (!stop.signal.aborted) {
      const e = err as { message?: unknown; code?: unknown };
      records?.failure({
        objectId: String(plan.objectId),
        name: plan.name,
        failure: { attempts: 1, error: String(e?.message ?? err), ...(typeof e?.code === 'string' && { code: e.code }) },
      });
      progress.filesFailed++;
    }
    fail(err);
  };
  // To a directory with nothing transforming the bytes, formats that lay their files out as segments go
  // through the native local writer (put-local-format.ts); every other target and format streams.
  const local =
    prefix.scheme === 'file' &&
    compression.algorithm === 'none' &&
    files.length > 0 &&
    (await files[0]!.file()).localSegments !== undefined;
  const writeLocal = () =>
    writeLocalFormatFiles(
      files.map((f) => ({ path: (childTarget(prefix, f.name) as { path: string }).path, objectId: f.objectId, file: f.file })),
      {
        data: { ...data, seed },
        fileSize: plan.fileSize,
        fsync: sinkOptions.fsync ?? false,
        signal: stop.signal,
        onCommitted: async (index, file, size, crc32c) => {
          const f = files[index]!;
          for (const c of f.companions)
            await writeOne(prefix, c.name, Readable.from([Buffer.from(c.content(file))]), sinkOptions, stop.signal);
          results.push({ name: f.name, uri: formatTarget(childTarget(prefix, f.name)), objectId: f.objectId, size, crc32c });
          records?.object({ objectId: String(f.objectId), name: f.name, size, crc32c });
          progress.filesDone++;
          progress.bytesDone += size;
          report();
          await records?.flushIfNeeded().catch(fail);
        },
        onFailed: (index, error) => failed(files[index]!, error),
      },
    ).catch(fail);
  let next = 0;
  const worker = async () => {
    while (next < files.length && !stop.signal.aborted) {
      const plan = files[next++]!;
      try {
        const file = await plan.file();
        const r = await writeOne(
          prefix,
          plan.name,
          file.stream(),
          sinkOptions,
          stop.signal,
          options.onProgress && ((n) => ((progress.bytesDone += n), report())),
        );
        for (const c of plan.companions)
          await writeOne(prefix, c.name, Readable.from([Buffer.from(c.content(file))]), sinkOptions, stop.signal);
        results.push({ name: plan.name, uri: r.uri, objectId: plan.objectId, size: r.size, crc32c: r.crc32c });
        records?.object({
          objectId: String(plan.objectId),
          name: plan.name,
          size: r.size,
          crc32c: r.crc32c,
          ...(compression.algorithm !== 'none' && { compressedSize: r.compressedSize }),
          ...(r.etag !== undefined && { etag: r.etag }),
          ...(r.backendChecksum !== undefined && { backendChecksum: r.backendChecksum }),
        });
        progress.filesDone++;
        report();
      } catch (err) {
        failed(plan, err);
      }
      await records?.flushIfNeeded().catch(fail);
    }
  };
  let manifestUri: string | undefined;
  try {
    if (local) await writeLocal();
    else await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
    if (records) {
      await records.close();
      const manifest: FormatManifest = {
        ...orderManifest({
          format: MANIFEST_FORMAT,
          version: MANIFEST_VERSION,
          tool: TOOL,
          createdAt: new Date().toISOString(),
          target: formatTarget(prefix),
          seed: seed.toString(),
          count: files.length,
          size: String(plan.fileSize),
          dedupRatio: data.dedupRatio,
          compressRatio: data.compressRatio,
          ...(data.ratioCodec !== undefined && { ratioCodec: data.ratioCodec }),
          dedupUnit: data.dedupUnit,
          dedupScope: 'object',
          compression,
          seconds: (performance.now() - started) / 1000,
          records: records.name,
          committed: records.committed,
          failed: records.failed,
          bytes: records.bytes,
          ...(compression.algorithm !== 'none' && { compressedBytes: records.compressedBytes }),
          ...(records.committed + records.failed < files.length && { interrupted: true as const }),
        }),
        fileFormat: plan.fileFormat,
      };
      manifestUri = await storeManifest(prefix, MANIFEST_NAME, manifest, sinkOptions);
    }
  } catch (err) {
    await records?.abort(err instanceof Error ? err : undefined);
    failure ??= err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure;
  if (stop.signal.aborted) throw stop.signal.reason;
  results.sort((a, b) => a.objectId - b.objectId);
  return { seed: seed.toString(), files: results, ...(manifestUri !== undefined && { manifestUri }) };
}

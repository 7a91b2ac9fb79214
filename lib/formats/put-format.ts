/**
 * Writes a data set of formatted files to any target (directory, direct://, s3://, az://) through the
 * sinks, in the folder layout DLIO reads: `<target>/train/img_{i}_of_{n}.<ext>` and
 * `<target>/valid/img_{j}_of_{m}.<ext>` (DLIO lists `data_folder/train` and `data_folder/valid` and keeps
 * the names ending in the format), plus `<target>/index/{train,valid}/<name>.idx` for TFRecord (the DALI
 * index files DLIO's TFRecord generator writes). This is the library side of `dgen put --format`: the CLI
 * and `putObjects` can call {@link formatObjectFor} per object, or this function for a whole run.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseDataOptions, type DataOptions } from '../params.js';
import { childTarget, createSink, parseTarget, type SinkOptions, type Target } from '../sinks/uri.js';
import { invalidFormat, invalidFormatType, parsePositive, type FormatFile } from './common.js';
import { createFormatFile, FORMAT_EXTENSIONS, parseFormat, type FileFormat } from './index.js';
import type { TfrecordFile } from './tfrecord.js';

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
  /** Files written at the same time. Default 4. */
  concurrency?: number;
  /** Stops the run: files being written are aborted (nothing partial is left), the promise rejects. */
  signal?: AbortSignal;
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
export function formatObjectFor(format: string, objectId: number | bigint, data: DataOptions, formatOptions: object = {}): Promise<FormatFile> {
  return createFormatFile(format, { ...formatOptions, ...data, objectId });
}

/** Plans the files of a run (validating all parameters; nothing is created at the target). */
export async function planFormatObjects(options: PutFormatOptions): Promise<{ seed: bigint; format: FileFormat; files: FormatObjectPlan[] }> {
  if (options === null || typeof options !== 'object') throw invalidFormatType('options', options, 'an object');
  if (options.dlioWorkload !== undefined) {
    const names = Object.keys(DLIO_WORKLOADS);
    if (typeof options.dlioWorkload !== 'string' || !names.includes(options.dlioWorkload)) {
      throw invalidFormat('dlioWorkload', options.dlioWorkload, `one of ${names.join(', ')}`);
    }
    const preset = DLIO_WORKLOADS[options.dlioWorkload as keyof typeof DLIO_WORKLOADS];
    options = { ...options, format: options.format ?? preset.format, count: options.count ?? preset.count, formatOptions: { ...preset.formatOptions, ...options.formatOptions } };
  }
  const format = parseFormat(options.format);
  const count = parsePositive('count', options.count);
  const validCount = options.validCount === undefined ? 0 : options.validCount === 0 ? 0 : parsePositive('validCount', options.validCount);
  const layout = options.layout ?? 'dlio';
  if (layout !== 'dlio' && layout !== 'flat') throw invalidFormat('layout', layout, '"dlio" or "flat"');
  if (layout === 'flat' && validCount > 0) throw invalidFormat('validCount', validCount, '0 with layout "flat"');
  const prefix = options.prefix ?? 'img';
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._-]+$/.test(prefix)) throw invalidFormat('prefix', prefix, 'letters, digits, ".", "_" or "-"');
  const data = parseDataOptions(options);
  const seed = data.seed;
  const extension = FORMAT_EXTENSIONS[format];
  const files: FormatObjectPlan[] = [];
  const splits: [string, number, number][] = layout === 'dlio' ? [['train', count, 0], ['valid', validCount, count]] : [['', count, 0]];
  const make = (objectId: number) => formatObjectFor(format, objectId, { ...data, seed }, options.formatOptions ?? {});
  await make(0); // validates the format's parameters before anything is written
  for (const [split, n, firstId] of splits) {
    for (let i = 0; i < n; i++) {
      const base = `${prefix}_${i}_of_${n}${extension}`;
      const name = split ? `${split}/${base}` : base;
      const objectId = firstId + i;
      const companions =
        format === 'tfrecord' && layout === 'dlio' ? [{ name: `index/${split}/${base}.idx`, content: (file: FormatFile) => (file as TfrecordFile).indexText() }] : [];
      files.push({ name, objectId, file: () => make(objectId), companions });
    }
  }
  return { seed, format, files };
}

async function writeOne(target: Target, name: string, stream: Readable, sink: Omit<SinkOptions, 'signal'>, signal: AbortSignal) {
  const child = childTarget(target, name);
  // Local sinks write beside the final name; the split folders must exist first.
  if (child.scheme === 'file' || child.scheme === 'direct') await mkdir(dirname(child.path), { recursive: true });
  // No sink once the run is stopping (a sink made with an aborted signal races its own file creation).
  signal.throwIfAborted();
  const writer = createSink(child, { ...sink, signal });
  try {
    await pipeline(stream, writer, { signal });
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
  const { seed, files } = await planFormatObjects(options);
  const concurrency = options.concurrency === undefined ? 4 : parsePositive('concurrency', options.concurrency, 1024);
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort(options.signal.reason);
  const results: PutFormatResult['files'] = [];
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < files.length && !stop.signal.aborted) {
      const plan = files[next++]!;
      try {
        const file = await plan.file();
        const r = await writeOne(prefix, plan.name, file.stream(), options.sink ?? {}, stop.signal);
        for (const c of plan.companions) await writeOne(prefix, c.name, Readable.from([Buffer.from(c.content(file))]), options.sink ?? {}, stop.signal);
        results.push({ name: plan.name, uri: r.uri, objectId: plan.objectId, size: r.size, crc32c: r.crc32c });
      } catch (err) {
        // The first failure stops the others; their abort errors are not the cause.
        if (!stop.signal.aborted) {
          failure = err;
          stop.abort(err);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure;
  if (stop.signal.aborted) throw stop.signal.reason;
  results.sort((a, b) => a.objectId - b.objectId);
  return { seed: seed.toString(), files: results };
}

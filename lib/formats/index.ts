/**
 * File formats of AI/ML data sets and checkpoints, one writer per format, all with the same shape: options
 * (the data options of a raw put, the file's object id, the format's own parameters) in, a
 * {@link FormatFile} out (exact size, usual extension, the generator behind its payloads, and a bounded
 * memory byte stream of the whole file for any sink).
 * @module
 */
import { invalidFormat, invalidFormatType, type FormatFile } from './common.js';
import { createHdf5File, type Hdf5File, type Hdf5Options } from './hdf5.js';
import { createNpzFile, type NpzFile, type NpzOptions } from './npz.js';
import { createParquetFile, type ParquetFile, type ParquetOptions } from './parquet.js';
import { createSafetensorsFile, type SafetensorsFile, type SafetensorsOptions } from './safetensors.js';
import { createTfrecordFile, type TfrecordFile, type TfrecordOptions } from './tfrecord.js';

/** Formats a file can be written in (`raw` is a plain object, written by the raw put itself). */
export const FILE_FORMATS = ['npz', 'tfrecord', 'hdf5', 'parquet', 'safetensors'] as const;
/** A format name. */
export type FileFormat = (typeof FILE_FORMATS)[number];

/** Options of each format. */
export interface FormatOptionsMap {
  npz: NpzOptions;
  tfrecord: TfrecordOptions;
  hdf5: Hdf5Options;
  parquet: ParquetOptions;
  safetensors: SafetensorsOptions;
}
/** The file each format gives. */
export interface FormatFileMap {
  npz: NpzFile;
  tfrecord: TfrecordFile;
  hdf5: Hdf5File;
  parquet: ParquetFile;
  safetensors: SafetensorsFile;
}

/** The usual extension of each format, with the dot. HDF5 files take `.hdf5`, not `.h5`: DLIO keeps the
 * files whose names end in its format name, `hdf5`. */
export const FORMAT_EXTENSIONS: Readonly<Record<FileFormat, string>> = {
  npz: '.npz',
  tfrecord: '.tfrecord',
  hdf5: '.hdf5',
  parquet: '.parquet',
  safetensors: '.safetensors',
};

/** Validates a format name. @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` (parameter `format`). */
export function parseFormat(value: unknown): FileFormat {
  const allowed = `one of ${FILE_FORMATS.join(', ')}`;
  if (typeof value !== 'string') throw invalidFormatType('format', value, allowed);
  if (!(FILE_FORMATS as readonly string[]).includes(value)) throw invalidFormat('format', value, allowed);
  return value as FileFormat;
}

/**
 * Describes one file of `format` (everything validated first, nothing generated): its exact `size`,
 * `extension`, the `generator` of its payloads and `stream()`, the whole file as a Node Readable with
 * bounded memory. Every file's payloads are derived from (seed, objectId) as a raw object's bytes are, so
 * files with different object ids share no data unless dedup asks for it.
 *
 * Formats and their own options: `npz` ({@link NpzOptions}: samples, sampleShape or recordLength, dtype;
 * DLIO unet3d), `tfrecord` ({@link TfrecordOptions}: samples, recordLength; DLIO resnet50 and cosmoflow),
 * `hdf5` ({@link Hdf5Options}: as npz; DLIO's HDF5 workloads), `parquet` ({@link ParquetOptions}: samples
 * as rows of one binary column, recordLength, rowGroupSize), `safetensors` ({@link SafetensorsOptions}:
 * tensors, or size split into layers; checkpoints). Each also takes `size` to derive its own parameters
 * from a target file size. Asynchronous because an HDF5 layout is built by h5wasm and a Parquet layout
 * measured by a dry run of its writer (each once per process); the other formats resolve at once.
 * @returns a promise of the file; it rejects (nothing created) with RangeError/TypeError
 *   `ERR_DGEN_INVALID_FORMAT` for an unknown format or bad format parameters, and with the errors of the
 *   data options (`ERR_DGEN_INVALID_RATIO`, `ERR_DGEN_INVALID_DEDUP_UNIT`, ...).
 */
export async function createFormatFile<F extends FileFormat>(format: F, options: FormatOptionsMap[F]): Promise<FormatFileMap[F]>;
export async function createFormatFile(format: string, options: object): Promise<FormatFile>;
export async function createFormatFile(format: string, options: object): Promise<FormatFile> {
  if (options === null || typeof options !== 'object') throw invalidFormatType('options', options, 'an object');
  switch (parseFormat(format)) {
    case 'npz':
      return createNpzFile(options as NpzOptions);
    case 'tfrecord':
      return createTfrecordFile(options as TfrecordOptions);
    case 'hdf5':
      return createHdf5File(options as Hdf5Options);
    case 'parquet':
      return createParquetFile(options as ParquetOptions);
    case 'safetensors':
      return createSafetensorsFile(options as SafetensorsOptions);
  }
}

/** Shorthand: the stream of {@link createFormatFile}, for callers that do not need the size first. */
export async function createFormatStream(format: string, options: object): Promise<ReturnType<FormatFile['stream']>> {
  return (await createFormatFile(format, options)).stream();
}

export { DTYPES, type Dtype, type FormatDataOptions, type FormatError, type FormatFile, type FileSegments } from './common.js';
export { createNpzFile, npyHeader, NPY_MAX_HEADER_TEXT, type NpzFile, type NpzLayout, type NpzOptions } from './npz.js';
export { createHdf5File, HDF5_MAX_DATASET, type Hdf5File, type Hdf5Options } from './hdf5.js';
export { createParquetFile, type ParquetFile, type ParquetOptions } from './parquet.js';
export { createTfrecordFile, maskedCrc32c, type TfrecordFile, type TfrecordOptions, type TfrecordRecord } from './tfrecord.js';
export {
  createSafetensorsFile,
  safetensorsIndex,
  SAFETENSORS_MAX_HEADER,
  type SafetensorsFile,
  type SafetensorsOptions,
  type TensorLayout,
  type TensorSpec,
} from './safetensors.js';

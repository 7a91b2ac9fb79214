/**
 * safetensors files (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian header
 * length N, a JSON header of N bytes (`{"__metadata__": {...}, "<tensor>": {"dtype", "shape",
 * "data_offsets": [begin, end]}}`), then the tensors' bytes back to back, the offsets relative to the
 * start of that byte buffer, covering it without holes. Model checkpoints are written this way, one file per
 * shard; see {@link createSafetensorsFile}.
 *
 * Ratios: the byte buffer is one generated object (same seed and object id as a raw put), and the header is
 * padded with trailing spaces (which the format allows) so that the buffer starts at a multiple of the
 * dedup unit: every dedup unit of the buffer is a whole unit of the object, the header's unit(s) the only
 * framing cost. The format caps the header at 100 MB, so units above that are not aligned.
 *
 * The file is the header's bytes then one range of the generator's stream, so a put to a directory hands
 * it to the native pool as those two segments (`localSegments`) instead of streaming it.
 * @module
 */
import { parseSize, type SizeInput } from '../params.js';
import {
  byteStream,
  DTYPES,
  elements,
  fileGenerator,
  generatedChunks,
  invalidFormat,
  invalidFormatType,
  padTo,
  parseDtype,
  parseFileData,
  parsePositive,
  parseShape,
  type Dtype,
  type FileData,
  type FormatDataOptions,
  type FormatFile,
} from './common.js';
import { squarishShape } from './npz.js';

/** The largest header the reference implementation reads: 100,000,000 bytes. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** One tensor of a file. */
export interface TensorSpec {
  /** Tensor name, unique in the file, not `__metadata__`. */
  name: string;
  /** Element type (see {@link DTYPES}; `bfloat16` and `float16` are the usual for weights). */
  dtype: string;
  /** Shape; [] is a scalar. */
  shape: number[];
}

/** Options of {@link createSafetensorsFile}. */
export interface SafetensorsOptions extends FormatDataOptions {
  /** The tensors, in file order. Either this or `size`. */
  tensors?: TensorSpec[];
  /** Target file size when `tensors` is not given: the bytes are split into `layers` tensors named
   * `model.layers.{i}.weight` of `dtype`, the file as close to `size` as the dtype allows, never above. */
  size?: SizeInput;
  /** Tensors the size is split into. Default 1. */
  layers?: number;
  /** Number of the first tensor made from `size` (`model.layers.{firstLayer}.weight`), so that the shards
   * of one checkpoint name different layers. Default 0. */
  firstLayer?: number;
  /** Element type of the tensors made from `size`. Default `bfloat16`. */
  dtype?: string;
  /** String-to-string `__metadata__`. Default `{ format: 'pt' }`. */
  metadata?: Record<string, string>;
}

/** A tensor's place in the file. */
export interface TensorLayout {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** [begin, end) in the byte buffer. */
  dataOffsets: [number, number];
}

/** A safetensors file: {@link FormatFile} plus its tensors. */
export interface SafetensorsFile extends FormatFile {
  readonly tensors: readonly TensorLayout[];
  /** File offset of the byte buffer (8 + header length). */
  readonly dataOffset: number;
  /** Whether dataOffset is a multiple of the dedup unit. */
  readonly aligned: boolean;
}

function parseTensors(value: unknown): TensorLayout[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidFormatType('tensors', value, 'a non-empty array of { name, dtype, shape }');
  const names = new Set<string>();
  let offset = 0;
  return value.map((t: unknown, i) => {
    if (t === null || typeof t !== 'object') throw invalidFormatType(`tensors[${i}]`, t, 'an object { name, dtype, shape }');
    const { name, dtype, shape } = t as Record<string, unknown>;
    if (typeof name !== 'string' || name === '' || name === '__metadata__' || names.has(name)) {
      throw invalidFormat(`tensors[${i}].name`, name, 'a non-empty string, unique in the file, not "__metadata__"');
    }
    names.add(name);
    const d = parseDtype(`tensors[${i}].dtype`, dtype);
    const s = Array.isArray(shape) && shape.length === 0 ? [] : parseShape(`tensors[${i}].shape`, shape);
    const bytes = elements(s) * DTYPES[d].bytes;
    if (!Number.isSafeInteger(offset + bytes))
      throw invalidFormat(`tensors[${i}].shape`, shape, 'small enough that the file stays below 2^53 bytes');
    const layout: TensorLayout = { name, dtype: d, shape: s, dataOffsets: [offset, offset + bytes] };
    offset += bytes;
    return layout;
  });
}

function parseCount(parameter: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalidFormat(parameter, value, 'a whole number >= 0');
  return value;
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return { format: 'pt' };
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Object.values(value).some((v) => typeof v !== 'string')
  ) {
    throw invalidFormatType('metadata', value, 'an object of string values');
  }
  return { ...(value as Record<string, string>) };
}

/** The header bytes: JSON padded with spaces so that 8 + length is a multiple of `unit` (or of 8, the
 * format's own alignment, when that would exceed the format's header limit). */
function header(
  tensors: readonly TensorLayout[],
  metadata: Record<string, string>,
  unit: number,
): { json: Buffer; aligned: boolean } {
  const doc: Record<string, unknown> = { __metadata__: metadata };
  for (const t of tensors) doc[t.name] = { dtype: DTYPES[t.dtype].safetensors, shape: t.shape, data_offsets: t.dataOffsets };
  const text = Buffer.from(JSON.stringify(doc), 'utf8');
  let length = text.length + padTo(8 + text.length, unit);
  const aligned = length <= SAFETENSORS_MAX_HEADER;
  if (!aligned) length = text.length + padTo(8 + text.length, 8);
  const json = Buffer.alloc(length, 0x20);
  text.copy(json);
  return { json, aligned };
}

/** `layers` tensors of dtype splitting `elementsTotal` elements as evenly as possible, each shaped like a
 * matrix (DLIO-style square-ish factors). */
function layerTensors(elementsTotal: number, layers: number, dtype: Dtype, first: number): TensorLayout[] {
  const item = DTYPES[dtype].bytes;
  const out: TensorLayout[] = [];
  let offset = 0;
  for (let i = 0; i < layers; i++) {
    const n = Math.floor(elementsTotal / layers) + (i < elementsTotal % layers ? 1 : 0);
    out.push({
      name: `model.layers.${first + i}.weight`,
      dtype,
      shape: squarishShape(n),
      dataOffsets: [offset, offset + n * item],
    });
    offset += n * item;
  }
  return out;
}

/** Tensors made from a file size: the header is computed for a guess and the buffer takes what is left,
 * until the two agree. */
function fitSize(
  data: FileData,
  size: number,
  given: unknown,
  layers: number,
  first: number,
  dtype: Dtype,
  metadata: Record<string, string>,
): TensorLayout[] {
  const item = DTYPES[dtype].bytes;
  let tensors = layerTensors(layers, layers, dtype, first);
  const smallest = 8 + header(tensors, metadata, data.dedupUnit).json.length + layers * item;
  if (size < smallest) throw invalidFormat('size', given, `at least ${smallest} bytes for ${layers} ${dtype} layer(s)`);
  let headerLength = header(tensors, metadata, data.dedupUnit).json.length;
  for (let step = 0; step < 8; step++) {
    const total = Math.max(layers, Math.floor((size - 8 - headerLength) / item));
    tensors = layerTensors(total, layers, dtype, first);
    const next = header(tensors, metadata, data.dedupUnit).json.length;
    if (next === headerLength) return tensors;
    headerLength = next;
  }
  return tensors;
}

/**
 * Describes a safetensors file (validating everything first) with its exact size and tensor offsets, and a
 * way to stream it. Nothing is generated until `stream()` is read. For a sharded checkpoint, make one file
 * per shard with objectId = shard index (and see {@link safetensorsIndex}).
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` for bad tensors (names, dtypes, shapes), metadata,
 *   layers, dtype, or a size too small; the errors of the data options.
 */
export function createSafetensorsFile(options: SafetensorsOptions): SafetensorsFile {
  const data = parseFileData(options);
  const metadata = parseMetadata(options.metadata);
  let tensors: TensorLayout[];
  if (options.tensors !== undefined) {
    tensors = parseTensors(options.tensors);
  } else if (options.size !== undefined) {
    const layers = options.layers === undefined ? 1 : parsePositive('layers', options.layers, 1_000_000);
    const dtype = parseDtype('dtype', options.dtype ?? 'bfloat16');
    const first = options.firstLayer === undefined ? 0 : parseCount('firstLayer', options.firstLayer);
    tensors = fitSize(data, parseSize('size', options.size), options.size, layers, first, dtype, metadata);
  } else {
    throw invalidFormat('tensors', undefined, 'given, or size');
  }
  const { json, aligned } = header(tensors, metadata, data.dedupUnit);
  const dataBytes = tensors[tensors.length - 1]!.dataOffsets[1];
  const dataOffset = 8 + json.length;
  const generator = fileGenerator(data, dataBytes);
  // The 8-byte length and the JSON header: the only literal bytes; the tensors are the generator's stream.
  const head = Buffer.allocUnsafe(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length));
  json.copy(head, 8);
  return {
    format: 'safetensors',
    extension: '.safetensors',
    size: dataOffset + dataBytes,
    generator,
    tensors,
    dataOffset,
    aligned,
    stream() {
      return byteStream(
        (async function* () {
          yield head;
          yield* generatedChunks(generator, 0, dataBytes);
        })(),
      );
    },
    localSegments: () => ({ segments: [head, { offset: 0, length: dataBytes }], crc32Fields: [] }),
  };
}

/**
 * The `model.safetensors.index.json` document of a sharded checkpoint (the layout Hugging Face
 * transformers writes and reads): total size of the tensors and which shard file holds each tensor.
 * @param shards - file names and their files, in shard order (e.g. `model-00001-of-00004.safetensors`).
 */
export function safetensorsIndex(shards: { name: string; file: SafetensorsFile }[]): string {
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (const { name, file } of shards) {
    for (const t of file.tensors) {
      weightMap[t.name] = name;
      total += t.dataOffsets[1] - t.dataOffsets[0];
    }
  }
  return `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`;
}

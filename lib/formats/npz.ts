/**
 * NPZ files (NumPy's `savez` layout: a ZIP of stored, uncompressed `.npy` members), as DLIO's unet3d
 * workload writes and reads them: `x` of shape (...sampleShape, samples) and `y`, `samples` int64 labels
 * (zeros), in that order. The ZIP container (stored members, CRC-32 by node:zlib) is written by
 * zip-store.ts; the NPY headers here (format 1.0, see numpy.lib.format).
 *
 * Ratios: `x`'s bytes are one generated object (same seed and object id as a raw put). Its NPY header is
 * padded with spaces so that the array's first byte sits at a multiple of the dedup unit in the file, so
 * every dedup unit of the array is a whole unit of the object. NumPy refuses NPY headers longer than
 * 10000 bytes (`max_header_size`), so for dedup units past about 8 KiB the padding goes into the ZIP local
 * header's extra field instead (up to 65535 bytes, so units up to 64 KiB and a bit more align); beyond
 * that the array is not unit-aligned (`aligned` says which).
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
  parseDtype,
  parseFileData,
  parsePositive,
  parseShape,
  padTo,
  type Dtype,
  type FileData,
  type FormatDataOptions,
  type FormatFile,
} from './common.js';
import {
  storedZip,
  storedZipLayout,
  storedZipSegments,
  ZIP_LOCAL_HEADER,
  ZIP_MAX_EXTRA,
  type StoredMember,
} from './zip-store.js';

/** NumPy's limit on an NPY header's dictionary text (numpy.lib.format `_MAX_HEADER_SIZE`, NumPy >= 1.24). */
export const NPY_MAX_HEADER_TEXT = 10000;
/** Bytes before the NPY header text in format 1.0: magic (6), version (2), text length (2). */
const NPY_PREAMBLE = 10;

/** Options of {@link createNpzFile}. */
export interface NpzOptions extends FormatDataOptions {
  /** Samples in the file: the last axis of `x` and the length of `y`. Default 1. */
  samples?: number;
  /** Shape of one sample (NumPy order). Default: from `recordLength`, as [d1, d2] with d1 * d2 elements. */
  sampleShape?: number[];
  /** Bytes per sample, when `sampleShape` is not given: a multiple of the dtype's size. */
  recordLength?: SizeInput;
  /** Element type of `x`. Default `uint8` (as DLIO). `bfloat16` is refused (NumPy has none). */
  dtype?: string;
  /** Target file size, when neither `sampleShape` nor `recordLength` is given: the record length is derived
   * so that the file comes as close to it as the dtype allows without exceeding it. */
  size?: SizeInput;
}

/** The layout of an NPZ file, computed before any byte is generated. */
export interface NpzLayout {
  samples: number;
  dtype: Dtype;
  /** Shape of `x`: (...sampleShape, samples). */
  shape: number[];
  /** Bytes of `x`'s data. */
  arrayBytes: number;
  /** File offset of `x`'s first data byte. */
  arrayOffset: number;
  /** Whether arrayOffset is a multiple of the dedup unit. */
  aligned: boolean;
}

/** An NPZ file: {@link FormatFile} plus its layout. */
export interface NpzFile extends FormatFile {
  readonly layout: NpzLayout;
}

/** The NPY 1.0 header for a C-order array, its dictionary text padded with spaces (and a final newline)
 * to exactly `total` bytes, or to NumPy's own 64-byte multiple when `total` is not given. */
export function npyHeader(descr: string, shape: readonly number[], total?: number): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const minimum = NPY_PREAMBLE + dict.length + 1;
  const length = total ?? minimum + padTo(minimum, 64);
  if (length < minimum) throw new RangeError(`NPY header needs ${minimum} bytes, ${length} asked`);
  const header = Buffer.alloc(length, 0x20);
  header.write('\x93NUMPY', 0, 'latin1');
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(length - NPY_PREAMBLE, 8);
  header.write(dict, NPY_PREAMBLE, 'latin1');
  header[length - 1] = 0x0a;
  return header;
}

/** The x member's NPY header and ZIP extra-field padding, chosen so that x's data starts at a multiple
 * of the dedup unit: NPY header padding first (as NumPy's own writer pads), the ZIP extra field past
 * NumPy's header limit. */
function xHeader(descr: string, shape: number[], unit: number): { header: Buffer; padding: number; aligned: boolean } {
  const plain = npyHeader(descr, shape);
  const before = ZIP_LOCAL_HEADER + 'x.npy'.length;
  const minimum = NPY_PREAMBLE + plain.toString('latin1', NPY_PREAMBLE).trimEnd().length + 1;
  const slack = NPY_PREAMBLE + NPY_MAX_HEADER_TEXT - minimum; // spaces NumPy still reads
  const need = padTo(before + minimum, unit);
  if (need <= slack) return { header: npyHeader(descr, shape, minimum + need), padding: 0, aligned: true };
  if (need <= ZIP_MAX_EXTRA) return { header: npyHeader(descr, shape, minimum), padding: need, aligned: true };
  if (need - slack <= ZIP_MAX_EXTRA)
    return { header: npyHeader(descr, shape, minimum + slack), padding: need - slack, aligned: true };
  return { header: plain, padding: 0, aligned: (before + plain.length) % unit === 0 };
}

/** The y member: `samples` int64 zero labels, as DLIO's list of zeros becomes in `np.savez`. */
function yMember(samples: number): Buffer {
  const header = npyHeader('<i8', [samples]);
  return Buffer.concat([header, Buffer.alloc(samples * 8)]);
}

/** The members x.npy (header, then `array()`'s bytes) and y.npy, in np.savez's order. */
function members(
  x: { header: Buffer; padding: number },
  arrayBytes: number,
  y: Buffer,
  array: () => AsyncIterable<Buffer>,
): StoredMember[] {
  return [
    {
      name: 'x.npy',
      size: x.header.length + arrayBytes,
      padding: x.padding,
      async *data() {
        yield x.header;
        yield* array();
      },
    },
    {
      name: 'y.npy',
      size: y.length,
      async *data() {
        yield y;
      },
    },
  ];
}

/** ZIP size of the members (nothing generated). */
function zipSize(x: { header: Buffer; padding: number }, arrayBytes: number, y: Buffer): number {
  return storedZipLayout(members(x, arrayBytes, y, async function* () {})).size;
}

interface Parsed {
  data: FileData;
  samples: number;
  dtype: Dtype;
  sampleShape: number[];
}

/** Two factors of n, the first the largest divisor at or below sqrt(n): DLIO's (dim1, dim2) for a record. */
export function squarishShape(n: number): number[] {
  for (let d = Math.floor(Math.sqrt(n)); d >= 1; d--) if (n % d === 0) return [d, n / d];
  return [1, n];
}

function parse(options: NpzOptions): Parsed {
  const data = parseFileData(options);
  const samples = options.samples === undefined ? 1 : parsePositive('samples', options.samples);
  const dtype = parseDtype('dtype', options.dtype ?? 'uint8', (d) => DTYPES[d].npy !== null);
  const item = DTYPES[dtype].bytes;
  let sampleShape: number[];
  if (options.sampleShape !== undefined) {
    sampleShape = parseShape('sampleShape', options.sampleShape);
    if (options.recordLength !== undefined) {
      const recordLength = parseSize('recordLength', options.recordLength);
      if (elements(sampleShape) * item !== recordLength) {
        throw invalidFormat(
          'sampleShape',
          options.sampleShape,
          `a shape of recordLength / ${item} = ${recordLength / item} ${dtype} elements`,
        );
      }
    }
  } else if (options.recordLength !== undefined) {
    const recordLength = parseSize('recordLength', options.recordLength);
    if (recordLength === 0 || recordLength % item !== 0) {
      throw invalidFormat('recordLength', options.recordLength, `a positive multiple of ${item} bytes (the size of ${dtype})`);
    }
    sampleShape = squarishShape(recordLength / item);
  } else if (options.size !== undefined) {
    sampleShape = fitSize(data, samples, dtype, parseSize('size', options.size), options.size);
  } else {
    throw invalidFormat('sampleShape', undefined, 'given, or recordLength, or size');
  }
  if (!Number.isSafeInteger(elements(sampleShape) * samples * item)) {
    throw invalidFormat('samples', samples, 'small enough that the array stays below 2^53 bytes');
  }
  return { data, samples, dtype, sampleShape };
}

/** The largest record (in elements of dtype) whose NPZ file fits in `size` bytes. */
function fitSize(data: FileData, samples: number, dtype: Dtype, size: number, given: unknown): number[] {
  const item = DTYPES[dtype].bytes;
  const sizeOf = (perSample: number) => {
    const shape = [...squarishShape(perSample), samples];
    return zipSize(xHeader(DTYPES[dtype].npy!, shape, data.dedupUnit), perSample * item * samples, yMember(samples));
  };
  const overhead = sizeOf(1) - item * samples;
  let perSample = Math.floor((size - overhead) / (item * samples));
  if (perSample < 1) throw invalidFormat('size', given, `at least ${sizeOf(1)} bytes for ${samples} sample(s) of ${dtype}`);
  // Header padding and digit counts move with the shape: step down until the file fits.
  while (perSample > 1 && sizeOf(perSample) > size) perSample--;
  return squarishShape(perSample);
}

/**
 * Describes an NPZ file (validating everything first) and returns it with its exact size and a way to
 * stream it. Nothing is generated until `stream()` is read.
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` for bad samples, sampleShape, recordLength, dtype
 *   or a size too small for one element per sample; the errors of the data options (`ERR_DGEN_INVALID_RATIO`,
 *   `ERR_DGEN_INVALID_DEDUP_UNIT`, `ERR_DGEN_INVALID_SEED`, `ERR_DGEN_INVALID_OBJECT_ID`, `ERR_DGEN_INVALID_SIZE`).
 */
export function createNpzFile(options: NpzOptions): NpzFile {
  const { data, samples, dtype, sampleShape } = parse(options);
  const shape = [...sampleShape, samples];
  const arrayBytes = elements(shape) * DTYPES[dtype].bytes;
  const x = xHeader(DTYPES[dtype].npy!, shape, data.dedupUnit);
  const y = yMember(samples);
  const size = zipSize(x, arrayBytes, y);
  const generator = fileGenerator(data, arrayBytes);
  const arrayOffset = ZIP_LOCAL_HEADER + 'x.npy'.length + x.padding + x.header.length;
  const layout: NpzLayout = { samples, dtype, shape, arrayBytes, arrayOffset, aligned: x.aligned };
  return {
    format: 'npz',
    extension: '.npz',
    size,
    generator,
    layout,
    // One stream, no pipes: the ZIP writer pulls the generated chunks and passes them on.
    stream: () => byteStream(storedZip(members(x, arrayBytes, y, () => generatedChunks(generator, 0, arrayBytes)))),
    // The same archive for the native local writer: x's data is the generator's whole stream.
    localSegments: () =>
      storedZipSegments([
        { name: 'x.npy', padding: x.padding, parts: [x.header, { offset: 0, length: arrayBytes }] },
        { name: 'y.npy', parts: [y] },
      ]),
  };
}

/**
 * HDF5 files as DLIO's HDF5 workloads write and read them: a dataset `records` of shape (samples,
 * ...sampleShape) and a dataset `labels` of `samples` int64 zeros. The file structure is written by the HDF5
 * library itself (h5wasm, HDF5 compiled to WebAssembly); the record bytes are generated.
 *
 * h5wasm cannot stream: it writes a whole file, and a contiguous dataset needs all its data in WebAssembly
 * memory at creation. So each distinct layout (shape, dtype, dedup unit) is built once per process as a
 * skeleton in a temporary directory, with marker bytes at both ends of `records`; the markers give the
 * dataset's file offset, the bytes around it are kept (a few KiB of metadata) and the temporary file is
 * removed. Every file of that layout is then streamed as skeleton head + generated records + skeleton tail,
 * with bounded memory (to a directory, the same three parts go to the native pool as segments). Building the skeleton holds the dataset twice in memory (a JS buffer and the
 * WebAssembly heap, which never shrinks), so `records` is capped at {@link HDF5_MAX_DATASET} bytes.
 *
 * Ratios: `records` is one generated object (same seed and object id as a raw put). A small dataset `pad`
 * (zeros) is created before it, sized so that `records` starts at a multiple of the dedup unit.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSize, type SizeInput } from '../params.js';
import {
  byteStream,
  DTYPES,
  elements,
  fileGenerator,
  generatedChunks,
  invalidFormat,
  padTo,
  parseDtype,
  parseFileData,
  parsePositive,
  parseShape,
  type Dtype,
  type FormatDataOptions,
  type FormatFile,
} from './common.js';
import { squarishShape } from './npz.js';

/** Largest `records` dataset accepted: 512 MiB (see the module comment: the skeleton's memory). */
export const HDF5_MAX_DATASET = 512 * 1024 * 1024;

/** h5wasm dtype strings (numpy-style) and typed arrays of the dtypes HDF5 files here can hold. */
const H5_TYPES: Partial<Record<Dtype, { h5: string; view: (b: ArrayBuffer) => ArrayBufferView }>> = {
  uint8: { h5: '<B', view: (b) => new Uint8Array(b) },
  int8: { h5: '<b', view: (b) => new Int8Array(b) },
  uint16: { h5: '<H', view: (b) => new Uint16Array(b) },
  int16: { h5: '<h', view: (b) => new Int16Array(b) },
  uint32: { h5: '<I', view: (b) => new Uint32Array(b) },
  int32: { h5: '<i', view: (b) => new Int32Array(b) },
  uint64: { h5: '<Q', view: (b) => new BigUint64Array(b) },
  int64: { h5: '<q', view: (b) => new BigInt64Array(b) },
  float32: { h5: '<f', view: (b) => new Float32Array(b) },
  float64: { h5: '<d', view: (b) => new Float64Array(b) },
};

/** Options of {@link createHdf5File}. */
export interface Hdf5Options extends FormatDataOptions {
  /** Samples in the file: the first axis of `records`. Default 1. */
  samples?: number;
  /** Shape of one sample. Default: from `recordLength`, as [d1, d2] with d1 * d2 elements. */
  sampleShape?: number[];
  /** Bytes per sample, when `sampleShape` is not given: a multiple of the dtype's size. */
  recordLength?: SizeInput;
  /** Element type of `records`. Default `uint8` (as DLIO). float16 and bfloat16 are refused. */
  dtype?: string;
  /** Target file size when neither `sampleShape` nor `recordLength` is given (approximate: the HDF5
   * metadata is estimated at 8 KiB plus the alignment padding). */
  size?: SizeInput;
}

/** An HDF5 file: {@link FormatFile} plus its layout. */
export interface Hdf5File extends FormatFile {
  /** Shape of `records`: (samples, ...sampleShape). */
  readonly shape: number[];
  readonly dtype: Dtype;
  /** File offset of `records`' first byte. */
  readonly dataOffset: number;
  /** Whether dataOffset is a multiple of the dedup unit. */
  readonly aligned: boolean;
}

interface Skeleton {
  head: Buffer;
  tail: Buffer;
  aligned: boolean;
}

const skeletons = new Map<string, Promise<Skeleton>>();

type H5 = typeof import('h5wasm/node').default;
let h5module: Promise<H5> | undefined;
function h5wasm(): Promise<H5> {
  h5module ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return h5module;
}

/** The clock HDF5 sees while a skeleton is built: 2020-01-01T00:00:00Z. */
const FIXED_TIME = Date.UTC(2020, 0, 1);

/** Reads `length` bytes at `position` of a file. */
function readRange(path: string, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    for (let done = 0; done < length; ) {
      const n = readSync(fd, buf, done, length - done, position + done);
      if (n === 0) throw new Error(`HDF5 skeleton ${path} ends before ${position + length}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** The offset of `marker` in a file, read 4 MiB at a time. */
function findMarker(path: string, marker: Buffer): number {
  const size = statSync(path).size;
  const step = 4 * 1024 * 1024;
  for (let at = 0; at < size; at += step - marker.length) {
    const chunk = readRange(path, at, Math.min(step, size - at));
    const i = chunk.indexOf(marker);
    if (i >= 0) return at + i;
    if (at + chunk.length >= size) break;
  }
  throw new Error(`HDF5 skeleton: records marker not found in ${path}`);
}

/** Builds a skeleton with `pad` bytes of padding dataset; returns the records offset and the file. */
async function build(dir: string, shape: number[], dtype: Dtype, pad: number, try_: number) {
  const h5 = await h5wasm();
  const path = join(dir, `skeleton-${try_}.h5`);
  const bytes = elements(shape) * DTYPES[dtype].bytes;
  const data = new ArrayBuffer(bytes);
  const first = randomBytes(Math.min(32, bytes));
  const last = randomBytes(Math.min(32, bytes));
  new Uint8Array(data).set(first, 0);
  new Uint8Array(data).set(last, bytes - last.length);
  // HDF5 stamps object headers with the time (through Emscripten's clock, which calls Date.now): a fixed
  // clock while the (synchronous) calls run makes one layout give the same bytes in every process, so
  // files can be regenerated and verified byte for byte.
  const now = Date.now;
  Date.now = () => FIXED_TIME;
  try {
    const file = new h5.File(path, 'w');
    try {
      if (pad > 0) file.create_dataset({ name: 'pad', data: new Uint8Array(pad) });
      file.create_dataset({ name: 'records', data: H5_TYPES[dtype]!.view(data) as never, shape, dtype: H5_TYPES[dtype]!.h5 });
      file.create_dataset({ name: 'labels', data: new BigInt64Array(shape[0]!) as never });
    } finally {
      file.close();
    }
  } finally {
    Date.now = now;
  }
  const offset = findMarker(path, first);
  if (!readRange(path, offset + bytes - last.length, last.length).equals(last))
    throw new Error('HDF5 skeleton: records are not contiguous');
  return { path, offset, bytes };
}

/** The skeleton of a layout (built once per process): try without padding, then pad to the next unit
 * multiple (the padding dataset's own metadata may move things, so a few tries). */
function skeleton(shape: number[], dtype: Dtype, unit: number): Promise<Skeleton> {
  const key = `${shape.join('x')}|${dtype}|${unit}`;
  let s = skeletons.get(key);
  if (!s) {
    s = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dgen-hdf5-'));
      try {
        let pad = 0;
        let built = await build(dir, shape, dtype, pad, 0);
        const plain = built;
        for (let attempt = 1; built.offset % unit !== 0 && attempt <= 4; attempt++) {
          pad += padTo(built.offset, unit);
          built = await build(dir, shape, dtype, pad, attempt);
        }
        const aligned = built.offset % unit === 0;
        if (!aligned) built = plain;
        const size = statSync(built.path).size;
        return {
          head: readRange(built.path, 0, built.offset),
          tail: readRange(built.path, built.offset + built.bytes, size - built.offset - built.bytes),
          aligned,
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    skeletons.set(key, s);
    s.catch(() => skeletons.delete(key));
  }
  return s;
}

/**
 * Describes an HDF5 file and returns it with its exact size and a way to stream it. Parameters are
 * validated first (synchronously, before the promise: a bad one throws and nothing is built); then the
 * layout's skeleton is built once per process (see the module comment).
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` for bad samples, sampleShape, recordLength, dtype,
 *   a size too small, or `records` above {@link HDF5_MAX_DATASET}; the errors of the data options.
 */
export function createHdf5File(options: Hdf5Options): Promise<Hdf5File> {
  const data = parseFileData(options);
  const samples = options.samples === undefined ? 1 : parsePositive('samples', options.samples);
  const dtype = parseDtype('dtype', options.dtype ?? 'uint8', (d) => H5_TYPES[d] !== undefined);
  const item = DTYPES[dtype].bytes;
  let sampleShape: number[];
  if (options.sampleShape !== undefined) {
    sampleShape = parseShape('sampleShape', options.sampleShape);
    if (options.recordLength !== undefined && elements(sampleShape) * item !== parseSize('recordLength', options.recordLength)) {
      throw invalidFormat('sampleShape', options.sampleShape, `a shape of recordLength / ${item} ${dtype} elements`);
    }
  } else if (options.recordLength !== undefined) {
    const recordLength = parseSize('recordLength', options.recordLength);
    if (recordLength === 0 || recordLength % item !== 0)
      throw invalidFormat('recordLength', options.recordLength, `a positive multiple of ${item} bytes (the size of ${dtype})`);
    sampleShape = squarishShape(recordLength / item);
  } else if (options.size !== undefined) {
    const size = parseSize('size', options.size);
    const overhead = 8192 + data.dedupUnit;
    const perSample = Math.floor((size - overhead) / (samples * item));
    if (perSample < 1)
      throw invalidFormat('size', options.size, `at least ${overhead + samples * item} bytes for ${samples} sample(s)`);
    sampleShape = squarishShape(perSample);
  } else {
    throw invalidFormat('sampleShape', undefined, 'given, or recordLength, or size');
  }
  const shape = [samples, ...sampleShape];
  const bytes = elements(shape) * item;
  if (!Number.isSafeInteger(bytes) || bytes > HDF5_MAX_DATASET) {
    throw invalidFormat(
      'samples',
      samples,
      `small enough that records stay within ${HDF5_MAX_DATASET} bytes (h5wasm builds the file in memory)`,
    );
  }
  return skeleton(shape, dtype, data.dedupUnit).then(({ head, tail, aligned }) => {
    const generator = fileGenerator(data, bytes);
    return {
      format: 'hdf5',
      extension: '.hdf5',
      size: head.length + bytes + tail.length,
      generator,
      shape,
      dtype,
      dataOffset: head.length,
      aligned,
      stream() {
        return byteStream(
          (async function* () {
            yield head;
            yield* generatedChunks(generator, 0, bytes);
            yield tail;
          })(),
        );
      },
      // HDF5 keeps no checksum over the raw data (only over metadata, all in head and tail), so the file is
      // exactly the skeleton's bytes around the generator's stream.
      localSegments: () => ({
        segments: [...(head.length > 0 ? [head] : []), { offset: 0, length: bytes }, ...(tail.length > 0 ? [tail] : [])],
        crc32Fields: [],
      }),
    };
  });
}

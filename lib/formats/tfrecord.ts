/**
 * TFRecord files of `tf.train.Example` records, as DLIO's resnet50 and cosmoflow workloads write and read
 * them: each Example has the features `image` (bytes_list, one value: the sample's bytes) and `size`
 * (int64_list, one value; DLIO stores its record dimension there). Examples are encoded by protobufjs; the
 * framing (little-endian u64 length, masked CRC-32C of the length, data, masked CRC-32C of the data) follows
 * the TFRecord format documentation (https://www.tensorflow.org/tutorials/load_data/tfrecord#tfrecords_format_details),
 * with the addon's CRC-32C.
 *
 * Ratios: the sample bytes are slices of one generated object (same seed and object id as a raw put), each
 * starting at a multiple of the dedup unit in it. Records have no room between them, so each Example also
 * carries a feature `pad` (bytes_list of zeros) encoded before `image`, sized so that the image's first
 * byte lands on a multiple of the dedup unit in the file (TensorFlow's and DALI's parsers ignore features
 * not asked for). `align: false` leaves it out (records as DLIO writes them; the ratios then suffer).
 * @module
 */
import protobuf from 'protobufjs';
import { binding } from '../native.js';
import { parseSize, type SizeInput } from '../params.js';
import {
  byteStream,
  fileGenerator,
  generatedChunks,
  invalidFormat,
  invalidFormatType,
  padTo,
  parsePositive,
  parseFileData,
  type FormatDataOptions,
  type FormatFile,
} from './common.js';

/** tf.train.Example and its parts (tensorflow/core/example/example.proto, feature.proto), field numbers as
 * there; names in protobufjs' camelCase. */
const root = protobuf.Root.fromJSON({
  nested: {
    Example: { fields: { features: { type: 'Features', id: 1 } } },
    // A map field (IMapField: keyType); the top-level INamespace typing only lists plain fields.
    Features: { fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } as protobuf.IField } },
    Feature: {
      oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } },
      fields: {
        bytesList: { type: 'BytesList', id: 1 },
        floatList: { type: 'FloatList', id: 2 },
        int64List: { type: 'Int64List', id: 3 },
      },
    },
    BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
    FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
    Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
  },
});
/** The protobufjs type of tf.train.Example (exported for tests and readers). */
export const ExampleType = root.lookupType('Example');

/** Bytes of a record around its data: length (8) and its CRC (4) before, the data's CRC (4) after. */
const RECORD_HEAD = 12;
const RECORD_TAIL = 4;
/** Name of the padding feature. */
export const PAD_FEATURE = 'pad';

/** The masked CRC-32C of the TFRecord format: rotate right by 15 bits and add 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** Options of {@link createTfrecordFile}. */
export interface TfrecordOptions extends FormatDataOptions {
  /** Records (samples) in the file. Default 1. */
  samples?: number;
  /** Bytes of each sample's `image` feature. Required unless `size` is given. */
  recordLength?: SizeInput;
  /** Value of the `size` feature. Default floor(sqrt(recordLength)), DLIO's record dimension. */
  sizeFeature?: number;
  /** Pad each Example so the image starts at a multiple of the dedup unit. Default true. */
  align?: boolean;
  /** Target file size when `recordLength` is not given: the record length is derived so that the file comes
   * as close as it can without exceeding it. */
  size?: SizeInput;
}

/** One record's place in the file. */
export interface TfrecordRecord {
  /** File offset of the record (its length field). */
  offset: number;
  /** Bytes of the whole record: 12 + data + 4. */
  length: number;
  /** File offset of the image's first byte. */
  imageOffset: number;
}

/** A TFRecord file: {@link FormatFile} plus where each record is. */
export interface TfrecordFile extends FormatFile {
  readonly samples: number;
  readonly recordLength: number;
  /** Offset, length and image offset of record i (0 <= i < samples), computed without generating data. */
  record(i: number): TfrecordRecord;
  /** The bytes of sample i's image, regenerated (for checks). */
  sample(i: number): Buffer;
  /** The DALI index file (`tfrecord2idx` format, which DLIO's generator writes to `index/<split>/<name>.idx`):
   * a line "offset length" per record. */
  indexText(): string;
}

interface Framing {
  /** Example bytes before the image. */
  prefixLength: number;
  exampleLength: number;
  pad: number;
}

/** Encodes and measures the Examples of one file, for a given padding length. */
class ExampleCodec {
  readonly #zeros: Buffer;
  readonly #sizeFeature: number;
  readonly #align: boolean;
  readonly #prefixes = new Map<number, Buffer>();

  constructor(recordLength: number, sizeFeature: number, align: boolean) {
    // Stands for the image while measuring: untouched zero pages, never copied except to cut a prefix.
    this.#zeros = Buffer.alloc(recordLength);
    this.#sizeFeature = sizeFeature;
    this.#align = align;
  }

  #message(pad: number, image: Uint8Array): protobuf.Message {
    // The image last: its bytes are then the Example's last bytes (protobufjs writes map entries in key
    // insertion order), so the prefix is everything before them.
    const feature: Record<string, object> = {};
    if (this.#align) feature[PAD_FEATURE] = { bytesList: { value: [Buffer.alloc(pad)] } };
    feature.size = { int64List: { value: [this.#sizeFeature] } };
    feature.image = { bytesList: { value: [image] } };
    return ExampleType.fromObject({ features: { feature } });
  }

  /** Example length with `pad` padding bytes (counted by protobufjs' writer, nothing copied). */
  exampleLength(pad: number): number {
    return ExampleType.encode(this.#message(pad, this.#zeros)).len;
  }

  /** The Example bytes before the image, for `pad` padding bytes. */
  prefix(pad: number): Buffer {
    let p = this.#prefixes.get(pad);
    if (!p) {
      const whole = ExampleType.encode(this.#message(pad, this.#zeros)).finish();
      p = Buffer.from(whole.subarray(0, whole.length - this.#zeros.length));
      if (this.#prefixes.size > 64) this.#prefixes.clear();
      this.#prefixes.set(pad, p);
    }
    return p;
  }

  /** The framing of a record starting at `offset`: the smallest padding that puts the image on a multiple
   * of `unit` (padding moves varint lengths, so it is found by a few steps). */
  framing(offset: number, unit: number): Framing {
    const at = (pad: number): Framing & { missing: number } => {
      const exampleLength = this.exampleLength(pad);
      const prefixLength = exampleLength - this.#zeros.length;
      const missing = this.#align ? padTo(offset + RECORD_HEAD + prefixLength, unit) : 0;
      return { prefixLength, exampleLength, pad, missing };
    };
    let f = at(0);
    for (let step = 0; f.missing !== 0; step++) {
      if (step > 16) throw new Error(`no TFRecord padding aligns offset ${offset}`);
      // Growing the padding can lengthen the varints that enclose it by a byte or two and overshoot:
      // try the few paddings just below the target before going a whole unit further.
      const target = f.pad + f.missing;
      let best = at(target);
      for (let back = 1; best.missing !== 0 && back <= 8 && target - back > f.pad; back++) {
        const candidate = at(target - back);
        if (candidate.missing === 0) best = candidate;
      }
      f = best;
    }
    return { prefixLength: f.prefixLength, exampleLength: f.exampleLength, pad: f.pad };
  }
}

const codecs = new Map<string, ExampleCodec>();

interface Parsed {
  samples: number;
  recordLength: number;
  sizeFeature: number | undefined;
  align: boolean;
}

function parse(options: TfrecordOptions): Parsed {
  const samples = options.samples === undefined ? 1 : parsePositive('samples', options.samples);
  const align = options.align ?? true;
  if (typeof align !== 'boolean') throw invalidFormatType('align', align, 'true or false');
  if (
    options.sizeFeature !== undefined &&
    (typeof options.sizeFeature !== 'number' || !Number.isSafeInteger(options.sizeFeature))
  ) {
    throw invalidFormat('sizeFeature', options.sizeFeature, 'a whole number');
  }
  let recordLength = 0;
  if (options.recordLength !== undefined) {
    recordLength = parseSize('recordLength', options.recordLength);
    // One Example must stay below protobuf's 2 GiB message limit.
    if (recordLength < 1 || recordLength > 2 ** 31 - 1024 * 1024) {
      throw invalidFormat('recordLength', options.recordLength, 'from 1 byte to 2 GiB - 1 MiB (one protobuf message)');
    }
  } else if (options.size === undefined) {
    throw invalidFormat('recordLength', undefined, 'given, or size');
  }
  return { samples, recordLength, sizeFeature: options.sizeFeature, align };
}

/** Lays out `samples` records of `recordLength` bytes: offsets and framings, memoized per offset modulo the
 * unit (the framing depends on nothing else), so the whole file is laid out without generating data. */
function layOut(p: Parsed, unit: number) {
  const sizeFeature = p.sizeFeature ?? Math.floor(Math.sqrt(p.recordLength));
  // One codec per record layout, shared by every file of it (it holds a zero buffer of recordLength).
  const codecKey = `${p.recordLength}|${sizeFeature}|${p.align}`;
  let codec = codecs.get(codecKey);
  if (!codec) {
    if (codecs.size >= 16) codecs.clear();
    codecs.set(codecKey, (codec = new ExampleCodec(p.recordLength, sizeFeature, p.align)));
  }
  const framings = new Map<number, Framing>();
  const framingAt = (offset: number) => {
    const key = offset % unit;
    let f = framings.get(key);
    if (!f) framings.set(key, (f = codec.framing(offset, unit)));
    return f;
  };
  // Records after the first all start at the same offset modulo the unit when aligned; keep offsets of a
  // bounded stride table instead of one per record: offset(i) = first + (i - 1) * stride for i >= 1.
  const first = framingAt(0);
  const firstLength = RECORD_HEAD + first.exampleLength + RECORD_TAIL;
  const second = framingAt(firstLength);
  const stride = RECORD_HEAD + second.exampleLength + RECORD_TAIL;
  const third = framingAt(firstLength + stride);
  if (p.align && third.pad !== second.pad) throw new Error('TFRecord layout is not periodic');
  const record = (i: number): TfrecordRecord & { framing: Framing } => {
    if (!p.align && i > 0) {
      // Unpadded records are all the same length.
      return {
        offset: firstLength * i,
        length: firstLength,
        imageOffset: firstLength * i + RECORD_HEAD + first.prefixLength,
        framing: first,
      };
    }
    const offset = i === 0 ? 0 : firstLength + (i - 1) * stride;
    const framing = i === 0 ? first : second;
    return {
      offset,
      length: RECORD_HEAD + framing.exampleLength + RECORD_TAIL,
      imageOffset: offset + RECORD_HEAD + framing.prefixLength,
      framing,
    };
  };
  const size = p.samples === 1 ? firstLength : record(p.samples - 1).offset + record(p.samples - 1).length;
  return { codec, record, size };
}

/** The largest record length whose file fits in `size` (file size grows with the record length). */
function fitSize(p: Parsed, unit: number, size: number, given: unknown): number {
  const sizeOf = (n: number) => layOut({ ...p, recordLength: n }, unit).size;
  if (sizeOf(1) > size) throw invalidFormat('size', given, `at least ${sizeOf(1)} bytes for ${p.samples} record(s)`);
  let low = 1;
  let high = Math.max(1, Math.floor(size / p.samples));
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (sizeOf(mid) <= size) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Seed of the object the samples' partial last units come from: the file's seed with fixed bits flipped. */
export function tailSeed(seed: bigint): bigint {
  return seed ^ 0x5851f42d4c957f2dn;
}

/**
 * Describes a TFRecord file (validating everything first) with its exact size and record offsets, and a
 * way to stream it. Nothing is generated until `stream()` is read.
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` for bad samples, recordLength, sizeFeature, align
 *   or a size too small; the errors of the data options.
 */
export function createTfrecordFile(options: TfrecordOptions): TfrecordFile {
  const data = parseFileData(options);
  const parsed = parse(options);
  const unit = data.dedupUnit;
  if (parsed.recordLength === 0) parsed.recordLength = fitSize(parsed, unit, parseSize('size', options.size), options.size);
  const { codec, record, size } = layOut(parsed, unit);
  const { samples, recordLength } = parsed;
  // Whole dedup units of each sample come from the file's object, its last partial unit from a second
  // object without dedup: a partial unit shares its dedup unit in the file with framing bytes, so it can
  // never dedup, and taking it from the main object would spend that object's unique units on it.
  const full = Math.floor(recordLength / unit) * unit;
  const tail = recordLength - full;
  const generator = fileGenerator(data, full * samples);
  const tails = tail > 0 ? fileGenerator({ ...data, seed: tailSeed(data.seed), dedupRatio: 1 }, tail * samples) : null;
  const sampleChunks = async function* (i: number): AsyncGenerator<Buffer> {
    yield* generatedChunks(generator, i * full, full);
    if (tails) yield* generatedChunks(tails, i * tail, tail);
  };
  return {
    format: 'tfrecord',
    extension: '.tfrecord',
    size,
    generator,
    samples,
    recordLength,
    record(i: number) {
      if (!Number.isSafeInteger(i) || i < 0 || i >= samples) throw new RangeError(`record index ${i} outside 0..${samples - 1}`);
      const { offset, length, imageOffset } = record(i);
      return { offset, length, imageOffset };
    },
    sample(i: number) {
      const buf = Buffer.allocUnsafe(recordLength);
      generator.fillSync(buf.subarray(0, full), i * full);
      tails?.fillSync(buf.subarray(full), i * tail);
      return buf;
    },
    indexText() {
      const lines: string[] = [];
      for (let i = 0; i < samples; i++) {
        const r = record(i);
        lines.push(`${r.offset} ${r.length}\n`);
      }
      return lines.join('');
    },
    stream() {
      return byteStream(
        (async function* () {
          for (let i = 0; i < samples; i++) {
            const { framing } = record(i);
            const prefix = codec.prefix(framing.pad);
            const head = Buffer.allocUnsafe(RECORD_HEAD);
            head.writeBigUInt64LE(BigInt(framing.exampleLength), 0);
            head.writeUInt32LE(maskedCrc32c(binding.crc32c(head.subarray(0, 8))), 8);
            yield Buffer.concat([head, prefix]);
            let crc = binding.crc32c(prefix);
            for await (const chunk of sampleChunks(i)) {
              crc = binding.crc32c(chunk, crc);
              yield chunk;
            }
            const tail = Buffer.allocUnsafe(RECORD_TAIL);
            tail.writeUInt32LE(maskedCrc32c(crc), 0);
            yield tail;
          }
        })(),
      );
    },
  };
}

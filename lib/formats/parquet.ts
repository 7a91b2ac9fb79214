/**
 * Parquet files of one required binary column `data`, a sample per row (DLIO's Parquet generator with a
 * `binary` column; its default column is a list of uint8), written by @dsnp/parquetjs: PLAIN encoding,
 * no compression, no statistics, `rowGroupSize` rows per row group (the writer holds one row group in
 * memory).
 *
 * Ratios: a page lays its values back to back with a 4-byte length before each, with no room for padding,
 * so values cannot be moved onto dedup-unit multiples. Instead each value is the generated object's bytes
 * at the very file offset where the value lands (the object has the file's size): every dedup unit of the
 * file that holds only value bytes is a whole unit of the object, and only the units holding a length
 * prefix, a page header or the footer differ. The offsets come from a dry run of the writer on the same
 * layout with marker bytes at the start of each value (the file structure does not depend on the values with
 * these settings), made once per layout per process and checked against the real run's size.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { parseSize, type SizeInput } from '../params.js';
import { fileGenerator, invalidFormat, parseFileData, parsePositive, type FormatDataOptions, type FormatFile } from './common.js';

/** Bytes of the marker a dry run puts at the start of each value: 8 random bytes and the row index. */
const MARKER = 16;
/** Default bytes of values per row group. */
const ROW_GROUP_BYTES = 64 * 1024 * 1024;

/** Options of {@link createParquetFile}. */
export interface ParquetOptions extends FormatDataOptions {
  /** Rows (samples) in the file. Default 1. */
  samples?: number;
  /** Bytes of each row's `data` value (at least 16). Required unless `size` is given. */
  recordLength?: SizeInput;
  /** Rows per row group. Default: as many as fit in 64 MiB of values (at least 1). */
  rowGroupSize?: number;
  /** Target file size when `recordLength` is not given (the record length is derived; the file comes
   * within a few hundred bytes below it). */
  size?: SizeInput;
}

/** A Parquet file: {@link FormatFile} plus its layout. */
export interface ParquetFile extends FormatFile {
  readonly samples: number;
  readonly recordLength: number;
  readonly rowGroupSize: number;
  /** File offset of row i's value bytes. */
  valueOffset(i: number): number;
}

// @dsnp/parquetjs is loaded on the first Parquet file, not with the package: its reader requires
// @aws-sdk/client-s3, several MB of heap that every full GC of a process that writes no Parquet would walk.
type Parquetjs = typeof import('@dsnp/parquetjs').default;
let parquetjs: Promise<{ module: Parquetjs; schema: InstanceType<Parquetjs['ParquetSchema']> }> | undefined;
function loadParquet() {
  parquetjs ??= import('@dsnp/parquetjs').then(({ default: module }) => ({
    module,
    schema: new module.ParquetSchema({ data: { type: 'BYTE_ARRAY', statistics: false } }),
  }));
  return parquetjs;
}

interface Layout {
  size: number;
  offsets: Float64Array;
}
const layouts = new Map<string, Promise<Layout>>();

/** Runs the writer on `values(i)` into `out`, honouring the output's backpressure. */
async function writeRows(
  out: { write(b: Buffer, cb: (err?: Error | null) => void): boolean; end(cb?: () => void): unknown },
  samples: number,
  rowGroupSize: number,
  value: (i: number) => Promise<Buffer>,
) {
  const { module: parquet, schema } = await loadParquet();
  const writer = await parquet.ParquetWriter.openStream(schema, out as never, { rowGroupSize, useDataPageV2: false });
  for (let i = 0; i < samples; i++) await writer.appendRow({ data: await value(i) });
  await writer.close();
}

/** The dry run: where each value lands and the file size. */
function layout(samples: number, recordLength: number, rowGroupSize: number): Promise<Layout> {
  const key = `${samples}|${recordLength}|${rowGroupSize}`;
  let l = layouts.get(key);
  if (!l) {
    l = (async () => {
      const magic = randomBytes(8);
      const offsets = new Float64Array(samples).fill(-1);
      let position = 0;
      let carry = Buffer.alloc(0);
      const scanner = new Writable({
        write(chunk: Buffer, _encoding, cb) {
          // Markers may straddle writes: search the previous tail and this chunk together.
          const window = Buffer.concat([carry, chunk]);
          const base = position - carry.length;
          for (let at = window.indexOf(magic); at >= 0 && at + MARKER <= window.length; at = window.indexOf(magic, at + 1)) {
            const row = Number(window.readBigUInt64LE(at + 8));
            if (row < samples && offsets[row] === -1) offsets[row] = base + at;
          }
          position += chunk.length;
          carry = window.subarray(Math.max(0, window.length - (MARKER - 1)));
          cb();
        },
      });
      await writeRows(scanner, samples, rowGroupSize, async (i) => {
        const v = Buffer.alloc(recordLength);
        magic.copy(v, 0);
        v.writeBigUInt64LE(BigInt(i), 8);
        return v;
      });
      if (offsets.some((o) => o < 0)) throw new Error('Parquet dry run: a value marker was not found');
      return { size: position, offsets };
    })();
    layouts.set(key, l);
    l.catch(() => layouts.delete(key));
  }
  return l;
}

/**
 * Describes a Parquet file and returns it with its exact size and a way to stream it. Parameters are
 * validated synchronously (a bad one throws before anything runs); the layout's dry run follows.
 * @throws RangeError/TypeError `ERR_DGEN_INVALID_FORMAT` for bad samples, recordLength (below 16 bytes),
 *   rowGroupSize or a size too small; the errors of the data options.
 */
export function createParquetFile(options: ParquetOptions): Promise<ParquetFile> {
  const data = parseFileData(options);
  const samples = options.samples === undefined ? 1 : parsePositive('samples', options.samples);
  let recordLength: number;
  if (options.recordLength !== undefined) {
    recordLength = parseSize('recordLength', options.recordLength);
    if (recordLength < MARKER || recordLength > 2 ** 31 - 1)
      throw invalidFormat('recordLength', options.recordLength, `from ${MARKER} bytes to 2 GiB - 1 (one Parquet value)`);
  } else if (options.size !== undefined) {
    const size = parseSize('size', options.size);
    // Per row: the value and its 4-byte length; per file: magic, page headers and footer (a few hundred).
    recordLength = Math.floor((size - 1024) / samples) - 4;
    if (recordLength < MARKER)
      throw invalidFormat('size', options.size, `at least ${1024 + samples * (MARKER + 4)} bytes for ${samples} row(s)`);
  } else {
    throw invalidFormat('recordLength', undefined, 'given, or size');
  }
  const rowGroupSize =
    options.rowGroupSize === undefined
      ? Math.max(1, Math.min(samples, Math.floor(ROW_GROUP_BYTES / recordLength)))
      : parsePositive('rowGroupSize', options.rowGroupSize);
  return layout(samples, recordLength, rowGroupSize).then(({ size, offsets }) => {
    // The object spans the whole file, so a value's bytes are the object's bytes at the value's offset.
    const generator = fileGenerator(data, size);
    return {
      format: 'parquet',
      extension: '.parquet',
      size,
      generator,
      samples,
      recordLength,
      rowGroupSize,
      valueOffset(i: number) {
        if (!Number.isSafeInteger(i) || i < 0 || i >= samples) throw new RangeError(`row index ${i} outside 0..${samples - 1}`);
        return offsets[i]!;
      },
      stream() {
        const out = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
        let written = 0;
        const counted = {
          write(b: Buffer, cb: (err?: Error | null) => void) {
            written += b.length;
            return out.write(b, cb);
          },
          end(cb?: () => void) {
            if (written !== size) out.destroy(new Error(`Parquet writer produced ${written} bytes, the layout said ${size}`));
            else out.end(cb);
          },
        };
        writeRows(counted, samples, rowGroupSize, async (i) => {
          const v = Buffer.allocUnsafe(recordLength);
          await generator.fill(v, offsets[i]!);
          return v;
        }).catch((err: Error) => out.destroy(err));
        return out;
      },
    };
  });
}

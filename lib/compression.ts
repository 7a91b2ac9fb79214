/**
 * Compression and decompression `Transform`s (zstd, gzip) that count bytes in and out.
 *
 * gzip comes from `node:zlib`. zstd comes from `node:zlib` where the runtime has it (Node >= 22.15),
 * otherwise from the `zstd-napi` package (libzstd bindings; chosen because it streams through a plain
 * `Transform` and builds from source offline). `node:zlib` compresses on the libuv thread pool;
 * zstd-napi compresses on the calling thread, so with it each chunk blocks the event loop for the time it
 * takes to compress (`npm run bench` measures both).
 * @module
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { invalidRange, invalidType } from './errors.js';

/** Compression algorithms. `none` passes bytes through. */
export type CompressionAlgorithm = 'none' | 'zstd' | 'gzip';

/** A compression choice: an algorithm and its level. */
export interface CompressionSpec {
  algorithm: CompressionAlgorithm;
  /** zstd: 1 to 19 (default 3); gzip: 1 to 9 (default 6); ignored for none. */
  level: number;
}

const LEVELS = { none: [0, 0, 0], zstd: [1, 19, 3], gzip: [1, 9, 6] } as const;

/** File-name extension of each algorithm, as the command-line tools write it. */
export const COMPRESSION_EXTENSIONS: Record<CompressionAlgorithm, string> = { none: '', zstd: '.zst', gzip: '.gz' };

/**
 * Parses a compression choice: `"zstd"`, `"gzip:9"`, `{ algorithm, level }`, or undefined (none).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_COMPRESSION` for an unknown algorithm or a level out of range.
 */
export function parseCompression(value: unknown, level?: unknown): CompressionSpec {
  let algorithm: unknown = value;
  let lvl: unknown = level;
  if (value === undefined || value === null) algorithm = 'none';
  else if (typeof value === 'string' && value.includes(':')) [algorithm, lvl] = [value.slice(0, value.indexOf(':')), level ?? value.slice(value.indexOf(':') + 1)];
  else if (typeof value === 'object') ({ algorithm, level: lvl = level } = value as { algorithm?: unknown; level?: unknown });
  if (typeof algorithm !== 'string') throw invalidType('ERR_DGEN_INVALID_COMPRESSION', 'compression', value, '"none", "zstd" or "gzip"');
  if (!(algorithm in LEVELS)) throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compression', value, '"none", "zstd" or "gzip"');
  const [min, max, dflt] = LEVELS[algorithm as CompressionAlgorithm];
  if (lvl === undefined || lvl === '' || algorithm === 'none') return { algorithm: algorithm as CompressionAlgorithm, level: dflt };
  const n = typeof lvl === 'string' ? Number(lvl) : lvl;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compressionLevel', lvl, `an integer from ${min} to ${max} for ${algorithm}`);
  }
  return { algorithm: algorithm as CompressionAlgorithm, level: n };
}

type ZlibWithZstd = typeof zlib & {
  createZstdCompress?: (o: object) => Transform;
  createZstdDecompress?: (o?: object) => Transform;
};
const z = zlib as ZlibWithZstd;

/** Where zstd comes from on this runtime: `"node:zlib"` (Node >= 22.15) or `"zstd-napi"`. */
export const zstdImplementation: 'node:zlib' | 'zstd-napi' = typeof z.createZstdCompress === 'function' ? 'node:zlib' : 'zstd-napi';

interface ZstdNapi {
  CompressStream: new (p?: { compressionLevel?: number }) => Transform;
  DecompressStream: new () => Transform;
}
let zstdNapi: ZstdNapi | undefined;
function napi(): ZstdNapi {
  return (zstdNapi ??= createRequire(import.meta.url)('zstd-napi') as ZstdNapi);
}

/** Output buffer of node:zlib streams: 256 KiB instead of the default 16 KiB, so a 4 MiB chunk costs a
 * few thread-pool round trips instead of hundreds. */
const ZLIB_CHUNK = 256 * 1024;

function innerCompressor(spec: CompressionSpec, implementation: string): Transform {
  if (spec.algorithm === 'gzip') return zlib.createGzip({ level: spec.level, chunkSize: ZLIB_CHUNK });
  if (spec.algorithm === 'zstd') {
    if (implementation === 'node:zlib') {
      const constants = zlib.constants as Record<string, number>;
      return z.createZstdCompress!({ chunkSize: ZLIB_CHUNK, params: { [constants.ZSTD_c_compressionLevel!]: spec.level } });
    }
    return new (napi().CompressStream)({ compressionLevel: spec.level });
  }
  throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compression', spec.algorithm, '"zstd" or "gzip"');
}

function innerDecompressor(algorithm: CompressionAlgorithm, implementation: string): Transform {
  if (algorithm === 'gzip') return zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  if (algorithm === 'zstd') return implementation === 'node:zlib' ? z.createZstdDecompress!({ chunkSize: ZLIB_CHUNK }) : new (napi().DecompressStream)();
  throw invalidRange('ERR_DGEN_INVALID_COMPRESSION', 'compression', algorithm, '"zstd" or "gzip"');
}

/** Largest piece handed at once to a codec that runs on the calling thread (zstd-napi): 256 KiB. */
const SYNC_SLICE = 256 * 1024;

/**
 * A codec as a `Transform` that counts what passes: `bytesIn`, `bytesOut`, and `ratio` (in / out for a
 * compressor). Backpressure flows through: a chunk is accepted once the codec has consumed it.
 */
export class CodecTransform extends Transform {
  /** Bytes written into the transform. */
  bytesIn = 0;
  /** Bytes the transform has produced. */
  bytesOut = 0;
  readonly #inner: Transform;

  constructor(
    inner: Transform,
    /** `compress` or `decompress`. */
    readonly direction: 'compress' | 'decompress',
    /** The algorithm and level (level 0 for decompressors). */
    readonly spec: CompressionSpec,
    /** The library doing the work (`node:zlib` or `zstd-napi`). */
    readonly implementation: string,
  ) {
    super();
    this.#inner = inner;
    inner.on('data', (chunk: Buffer) => {
      this.bytesOut += chunk.length;
      this.push(chunk);
    });
    inner.on('error', (err) => this.destroy(err));
  }

  /** Compression ratio so far: uncompressed bytes / compressed bytes (1 before any output). */
  get ratio(): number {
    const [plain, packed] = this.direction === 'compress' ? [this.bytesIn, this.bytesOut] : [this.bytesOut, this.bytesIn];
    return packed === 0 ? 1 : plain / packed;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    if (this.implementation !== 'zstd-napi' || chunk.length <= SYNC_SLICE) {
      this.#inner.write(chunk, (err) => callback(err));
      return;
    }
    // zstd-napi compresses on this thread: feed it slices and yield to the event loop between them,
    // so one 4 MiB chunk does not block the loop for its whole compression time.
    let at = 0;
    const next = (err?: Error | null): void => {
      if (err || at >= chunk.length) return callback(err);
      const slice = chunk.subarray(at, (at += SYNC_SLICE));
      this.#inner.write(slice, (e) => setImmediate(next, e));
    };
    next();
  }

  override _flush(callback: TransformCallback): void {
    this.#inner.once('end', () => callback());
    this.#inner.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner.destroy();
    callback(error);
  }
}

/**
 * A compressing `Transform`.
 * @param compression - `"zstd"`, `"gzip"`, `"zstd:19"`, or a {@link CompressionSpec}.
 * @param options.level - level, overriding one given in `compression`.
 * @throws `ERR_DGEN_INVALID_COMPRESSION` (also for `"none"`: there is nothing to create).
 */
export function createCompressor(compression: CompressionAlgorithm | string | Partial<CompressionSpec>, options: { level?: number } = {}): CodecTransform {
  const spec = parseCompression(compression, options.level);
  const implementation = spec.algorithm === 'zstd' ? zstdImplementation : 'node:zlib';
  return new CodecTransform(innerCompressor(spec, implementation), 'compress', spec, implementation);
}

/**
 * A decompressing `Transform` for `"zstd"` or `"gzip"` data.
 * @throws `ERR_DGEN_INVALID_COMPRESSION` for other algorithms.
 */
export function createDecompressor(algorithm: CompressionAlgorithm | string): CodecTransform {
  const spec = parseCompression(algorithm);
  const implementation = spec.algorithm === 'zstd' ? zstdImplementation : 'node:zlib';
  return new CodecTransform(innerDecompressor(spec.algorithm, implementation), 'decompress', { algorithm: spec.algorithm, level: 0 }, implementation);
}

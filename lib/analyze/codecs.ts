/**
 * The codecs `dgen analyze` measures with: zstd levels 1 and 3, gzip level 6, lz4 (lz4-napi, i.e.
 * lz4_flex, at lz4's default fast level). Each has a one-shot form for chunks and a streaming form for
 * whole inputs.
 * @module
 */
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createCompressor, zstdImplementation, type CompressorName } from '../compression.js';

const require = createRequire(import.meta.url);

/** One-shot compressed size of a chunk, and a whole-stream counter. */
export interface Codec {
  /** e.g. `zstd-1`. */
  name: string;
  /** Compressed size of `chunk` compressed alone, in bytes (the storage model's per-chunk compression). */
  chunkSize(chunk: Uint8Array): number;
  /** A fresh whole-stream compressor that counts its output. */
  stream(): StreamCounter;
}

/** Compresses a stream and counts the compressed bytes. */
export interface StreamCounter {
  write(data: Buffer): Promise<void>;
  /** Ends the stream; resolves to the compressed size in bytes. */
  end(): Promise<number>;
}

type ZstdNapi = { compress(b: Uint8Array, p?: { compressionLevel?: number }): Buffer };
type ZlibZstd = { zstdCompressSync?: (b: Uint8Array, o: object) => Buffer };
type Lz4 = { compressSync(b: Buffer): Buffer; compressFrameSync(b: Buffer): Buffer };

function zstdChunk(level: number): (chunk: Uint8Array) => number {
  const z = zlib as unknown as ZlibZstd;
  if (zstdImplementation === 'node:zlib') {
    const params = { [(zlib.constants as Record<string, number>).ZSTD_c_compressionLevel!]: level };
    return (chunk) => z.zstdCompressSync!(chunk, { params }).length;
  }
  const napi = require('zstd-napi') as ZstdNapi;
  return (chunk) => napi.compress(chunk, { compressionLevel: level }).length;
}

/** Whole-stream counter over one of this package's compression transforms. */
function transformCounter(spec: CompressorName): StreamCounter {
  const compressor = createCompressor(spec);
  let bytes = 0;
  const done = pipeline(compressor, new Writable({ write: (c: Buffer, _e, cb) => ((bytes += c.length), cb()) }));
  done.catch(() => {});
  return {
    async write(data) {
      if (!compressor.write(data)) await Promise.race([once(compressor, 'drain'), done]);
    },
    async end() {
      compressor.end();
      await done;
      return bytes;
    },
  };
}

/** lz4 over a stream as the lz4 command-line tool does it by default: independent 4 MiB blocks. */
function lz4Counter(lz4: Lz4): StreamCounter {
  const BLOCK = 4 * 1024 * 1024;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    bytes += lz4.compressFrameSync(Buffer.concat(pending, pendingBytes)).length;
    pending = [];
    pendingBytes = 0;
  };
  return {
    async write(data) {
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, BLOCK - pendingBytes);
        pending.push(data.subarray(at, at + n));
        pendingBytes += n;
        at += n;
        if (pendingBytes === BLOCK) flush();
      }
    },
    async end() {
      flush();
      return bytes;
    },
  };
}

/** The default codecs: zstd-1, zstd-3, gzip-6, lz4. */
export function defaultCodecs(): Codec[] {
  const lz4 = require('lz4-napi') as Lz4;
  return [
    { name: 'zstd-1', chunkSize: zstdChunk(1), stream: () => transformCounter('zstd:1') },
    { name: 'zstd-3', chunkSize: zstdChunk(3), stream: () => transformCounter('zstd:3') },
    // Per chunk: raw deflate, as storage systems store it (gzip's 18-byte wrapper is not compression).
    { name: 'gzip-6', chunkSize: (c) => zlib.deflateRawSync(c, { level: 6 }).length, stream: () => transformCounter('gzip:6') },
    // Per chunk: an lz4 block with its 4-byte size prefix.
    {
      name: 'lz4',
      chunkSize: (c) => lz4.compressSync(Buffer.from(c.buffer, c.byteOffset, c.byteLength)).length,
      stream: () => lz4Counter(lz4),
    },
  ];
}

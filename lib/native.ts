/**
 * The one loader of the native addon (built by cmake-js into build/Release/dgen.node, or prebuilt in
 * prebuilds/linux-x64/).
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Options of the native generator; validated by params.ts before they get here. */
export interface NativeGeneratorOptions {
  seed: bigint;
  objectId: bigint;
  size: number;
  unitBytes: number;
  dedupRatio: number;
  compressRatio: number;
  kernel: string;
  datasetUnits?: number;
  unitOffset?: number;
  threads?: number;
}

/** The native generator: a pure function from (options, byte offset) to bytes. */
export interface NativeGenerator {
  fillSync(target: ArrayBufferView, offset: number): number;
  fill(target: ArrayBufferView, offset: number): Promise<number>;
  /** Resolves with the bytes written in order and the errno of the failed write (0: none failed). */
  writeToFd(
    fd: number,
    offset: number,
    length: number,
    chunkBytes: number,
    cancel?: Uint8Array,
  ): Promise<{ bytesWritten: number; errno: number }>;
  uniqueOf(unit: number): number;
  readonly units: number;
  readonly uniqueUnits: number;
  readonly randomBytesPerSector: number;
  readonly kernel: string;
  readonly threads: number;
}

/** NUMA placement: `auto` (workers spread over all nodes), `off` (unbound), or only the listed nodes. */
export type NumaOption = 'auto' | 'off' | { nodes: number[] };

/** The machine's topology as the addon sees it. */
export interface TopologyInfo {
  /** `hwloc`, `hwloc-synthetic`, `sysfs`, `synthetic` or `fallback`. */
  source: string;
  packages: number;
  numaNodes: number;
  cores: { package: number; node: number; pus: number[] }[];
}

/** Where a worker thread runs: the PU (OS index) it is bound to and the NUMA node it serves (-1: none). */
export interface WorkerPlacement {
  pu: number;
  node: number;
}

/** The limits the addon enforces or works by (cpp/limits.h), in bytes unless named otherwise; lib/limits.ts
 * re-exports them so that TypeScript checks the same numbers. */
export interface NativeLimits {
  /** 512: the granularity of dedup units, chunk sizes and the compressible layout. */
  readonly sector: number;
  /** Largest chunk a worker generates and writes at once, and the largest stream chunk: 256 MiB. */
  readonly maxChunkBytes: number;
  /** Largest dedup unit: 1 GiB. */
  readonly maxDedupUnit: number;
  /** Most worker threads of the pool or of one generator: 1024. */
  readonly maxThreads: number;
  /** Alignment O_DIRECT writes use for buffers, offsets and chunk sizes: 4096. */
  readonly directAlignment: number;
  /** Chunks from this size on are backed by transparent huge pages: 2 MiB. */
  readonly hugeChunkMin: number;
  /** fillSync() splits fills of at least this many bytes across the worker pool: 1 MiB. */
  readonly parallelFillMin: number;
  /** Smallest piece of a fill a worker gets: 256 KiB. */
  readonly minPieceBytes: number;
}

interface Binding {
  /** See {@link NativeLimits}; frozen. */
  readonly limits: NativeLimits;
  /** SplitMix64's output function as the addon derives keys with it (cpp/mix.h). */
  mix64(z: bigint): bigint;
  /** The `numa` option as the pool reads it (undefined reads as 'auto'); TypeError/RangeError otherwise. */
  parseNuma(numa: unknown): NumaOption;
  Generator: new (options: NativeGeneratorOptions) => NativeGenerator;
  kernels(): string[];
  /** A Buffer of `size` bytes whose memory is aligned to `alignment` (power of two), for O_DIRECT. */
  allocAligned(size: number, alignment: number): Buffer;
  topology(options?: { synthetic?: string }): TopologyInfo;
  planWorkers(options?: { synthetic?: string; threads?: number; numa?: NumaOption }): WorkerPlacement[];
  configurePool(options?: { threads?: number; numa?: NumaOption }): void;
  poolInfo(): { threads: number; workers: WorkerPlacement[]; bound: boolean[]; hwloc: boolean; topologySource: string };
  allocChunk(size: number): Buffer;
  /** A Buffer on fresh, untouched memory backed by transparent huge pages (cpp/buffers.h). */
  allocHugeChunk(size: number): Buffer;
  setBufferPoolLimit(bytes: number): void;
  /** Outstanding pool bytes under which new chunks are hidden from V8's external-memory count (cpp/addon_buffers.cc). */
  setChunkBudget(bytes: number): void;
  /** Shows the pool's hidden chunks to V8 and starts a full collection, without allocating (cpp/addon_buffers.cc). */
  collectChunks(): void;
  /** Writes whole objects to local files on the pool (cpp/file_writer.h); one result per object. */
  writeFiles(
    common: { seed: bigint; unitBytes: number; dedupRatio: number; compressRatio: number; datasetUnits?: number; kernel: string },
    objects: {
      objectId: number | bigint;
      size: number;
      unitOffset?: number;
      path: string;
      partialPath: string;
      /** The file as literal bytes and generated ranges of the object's stream (default: the whole stream). */
      segments?: readonly ({ bytes: Uint8Array } | { offset: number; length: number })[];
      /** CRC-32 of segments [first, end), patched little-endian into literal segments at the flat
       * `[segment, byte offset, segment, byte offset, ...]` pairs of `at`. */
      crc32Fields?: readonly { first: number; end: number; at: readonly number[] }[];
    }[],
    options: { chunkBytes: number; direct: boolean; fsync: boolean; cancel?: Uint8Array },
  ): Promise<
    {
      bytesWritten: number;
      crc32c: number;
      /** One CRC-32 per entry of `crc32Fields`. */
      crc32: number[];
      errno: number;
      syscall: string;
      cleanupErrno: number;
      latencyMs: number;
    }[]
  >;
  /** Checks local files against regeneration on the pool (cpp/file_verifier.h); one result per object. */
  verifyFiles(
    common: { seed: bigint; unitBytes: number; dedupRatio: number; compressRatio: number; datasetUnits?: number; kernel: string },
    objects: {
      objectId: number | bigint;
      size: number;
      unitOffset?: number;
      path: string;
      /** The expected file as segments, as for writeFiles (default: the whole stream). */
      segments?: readonly ({ bytes: Uint8Array } | { offset: number; length: number })[];
      crc32Fields?: readonly { first: number; end: number; at: readonly number[] }[];
    }[],
    options: { chunkBytes: number; cancel?: Uint8Array },
  ): Promise<
    {
      status: 'ok' | 'mismatch' | 'missing' | 'size' | 'error';
      offset: number;
      actualSize: number;
      errno: number;
      syscall: string;
      /** With segments, for `ok` and `mismatch`: the expected file's CRC-32C (else 0). */
      crc32c: number;
    }[]
  >;
  /** CRC-32C of `crc`'s message followed by data (cpp/crc32c.h). */
  crc32c(data: ArrayBufferView, crc?: number): number;
  /** CRC-32C of A followed by B, from CRC(A), CRC(B) and B's length in bytes. */
  crc32cCombine(crcA: number, crcB: number, lengthB: number): number;
  /** `isa-l` or `table`. */
  readonly crc32cImplementation: string;
  /**
   * Compresses the concatenation of `pieces` on the worker pool into one complete zstd frame (`libzstd`,
   * with content checksum) or gzip member (`isa-l`: levels 1-3, `libdeflate`: 1-12, `zlib`: 1-9); calls
   * back on the main thread. The pieces' memory is referenced until the callback runs; the caller must not
   * change the array meanwhile (cpp/addon_codecs.cc).
   */
  /** With `output`: the worker compresses into it when it holds the library's bound, and the callback gets
   * the compressed length; otherwise a new Buffer. */
  compressBlock(
    library: string,
    level: number,
    pieces: Uint8Array[],
    callback: (err: Error | null, output?: Buffer | number) => void,
    output?: Buffer,
  ): void;
  /** Blocks submitted to compressBlock (and zstdDecompress steps) not yet called back. */
  codecStats(): { blocksInFlight: number };
  /** A streaming zstd decoder (libzstd's context, freed when collected or by zstdDecoderFree); cpp/addon_codecs.cc. */
  zstdDecoder(): object;
  /** Frees a decoder's context now (after its step in flight, if any). */
  zstdDecoderFree(decoder: object): void;
  /** One decompression step on the worker pool: reads `input` until it is used up or `output` is full; calls
   * back with libzstd's message as `err` for data that is not zstd, and whether the input so far ends a frame. */
  zstdDecompress(
    decoder: object,
    input: Uint8Array,
    output: Uint8Array,
    callback: (err: string | Error | null, consumed: number, produced: number, frameDone: boolean) => void,
  ): void;
  /** `zstd`: the libzstd version; `gzip`: the gzip libraries of this build, comma-separated, fastest first. */
  readonly codecLibraries: { zstd: string; gzip: string };
  /** The native `dgen analyze` engine (cpp/addon_analyze.cc); see lib/analyze/analyzer.ts. */
  Analyzer: new (options: {
    chunkSizes: number[];
    cdc: { min: number; avg: number; max: number } | null;
    perChunk: boolean;
    hash: string;
    sample: number;
  }) => import('./analyze/analyzer.js').NativeAnalyzer;
  /** Native FastCDC cut offsets over `buffers` fed in order, and whether bytes follow the last cut. */
  fastCdcCuts(params: { min: number; avg: number; max: number }, buffers: Uint8Array[]): { cuts: number[]; pending: boolean };
  /** Versions of the libraries the analyzer links: libxxhash (XXH_versionNumber) and liblz4. */
  readonly analyzeLibraries: { xxhash: string; lz4: string };
  bufferPoolStats(): {
    outstandingBlocks: number;
    outstandingBytes: number;
    freeBlocks: number;
    freeBytes: number;
    allocations: number;
    reuses: number;
    /** Bytes of outstanding chunks this thread hides from V8's external-memory count. */
    hiddenBytes: number;
    /** Outstanding pool bytes under which new chunks are hidden (the open streams' needs + a slack). */
    budgetBytes: number;
    /** Times the hidden chunks were shown to V8 at once because the pool went over its budget. */
    reveals: number;
  };
}

const require = createRequire(import.meta.url);

/**
 * Loads the addon: `DGEN_ADDON` (a path to another build, e.g. one without hwloc or with sanitizers), else
 * node-gyp-build's choice in the package directory: build/Release/dgen.node (a source build, made by the
 * install script when no prebuilt fits or in a checkout), then prebuilds/<platform>-<arch>/ (the prebuilt
 * that `npm pack` adds; scripts/prebuild.js).
 */
function load(): Binding {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  let addon = process.env.DGEN_ADDON;
  try {
    addon ||= (require('node-gyp-build') as { path(dir: string): string }).path(packageDir);
    return require(addon) as Binding;
  } catch (cause) {
    throw new Error(
      `dgen-stream: the native addon ${addon ?? `(none found in ${packageDir})`} could not be loaded; run \`npm install\` ` +
        '(or `npm run build:native`) in the package directory to build it',
      { cause },
    );
  }
}

/** The loaded addon. */
export const binding: Binding = load();

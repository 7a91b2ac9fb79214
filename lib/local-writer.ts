/**
 * Whole objects written to local files by the native worker pool: the data plane of bulk puts to
 * `file://` and `direct://` targets when nothing transforms the bytes on the way (no compression).
 *
 * JavaScript hands over a batch of objects; each pool worker generates a chunk into its own reused
 * buffer (no fresh memory, no page faults after the first chunk), computes its CRC-32C while it is in
 * cache (Intel ISA-L where the addon was built with it), and writes it with pwrite(2) at its offset in a
 * temporary file beside the destination. The object's CRC-32C is combined from its chunks' in order; the
 * file is then (optionally) fsynced, closed and renamed into place, or removed on any failure or abort.
 * So the destination only ever holds complete objects, as with {@link FileSink}, and the bytes are those
 * of `DataGenerator.fillSync` for the same parameters, whatever the chunk size or thread count.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { invalidRange } from './errors.js';
import { validateSignal } from './validators.js';
import { binding } from './native.js';
import { layoutCompressRatio } from './ratio-codec.js';
import type { DataConfig } from './params.js';
import { formatCrc32c } from './sinks/object-writer.js';

// Alignment of O_DIRECT chunks: DIRECT_ALIGNMENT (4096, cpp/limits.h) covers 512-byte and 4K-sector devices.
import { DIRECT_ALIGNMENT } from './limits.js';

/** One object of a batch. */
export interface LocalObject {
  /** Object identity (its index in a bulk put). */
  objectId: number | bigint;
  /** Bytes. */
  size: number;
  /** Dataset scope: the object's first dedup unit in the data set. */
  unitOffset?: number;
  /** Destination path; its directory must exist. An existing file there is replaced. */
  path: string;
}

/** Options of {@link writeLocalObjects}. */
export interface LocalWriteOptions {
  /** Dataset scope: dedup units in the whole data set (0 or absent: object scope). */
  datasetUnits?: number;
  /** Bytes each worker generates, checksums and writes at once: a multiple of 512 (of 4096 with
   * `direct`). Default 4 MiB. */
  chunkSize?: number;
  /** Write with O_DIRECT (the unaligned tail of an object through a buffered descriptor). Default false. */
  direct?: boolean;
  /** fsync each file before its rename. Default false. */
  fsync?: boolean;
  /** Keystream kernel (`auto`, `scalar`, `avx2`, `avx512`). Default `auto`. */
  kernel?: string;
  /** Stops the batch: objects not yet committed are removed and their results carry the signal's
   * reason as `error`. */
  signal?: AbortSignal;
}

/** A failed system call on one object: a Node system error (`code` such as `ENOSPC`, negative `errno`,
 * `syscall`, `path`). */
export interface LocalWriteError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path: string;
  /** Bytes of the object written before the failure. */
  bytesWritten: number;
}

/** What happened to one object of a batch. */
export type LocalWriteResult =
  | {
      ok: true;
      path: string;
      size: number;
      /** 8 lowercase hex digits. */
      crc32c: string;
      /** Milliseconds from the open of the temporary file to the rename: the object's own latency, not the
       * time it waited in its batch for a worker. */
      latencyMs: number;
    }
  | { ok: false; path: string; error: Error };

/** Default bytes per chunk: 4 MiB. */
export const DEFAULT_LOCAL_CHUNK = 4 * 1024 * 1024;

/**
 * Writes a batch of objects to local files on the native worker pool (see the module documentation) and
 * resolves with one result per object, in order, once every object is committed or removed. It never
 * rejects for a failure of one object: that object's result carries a {@link LocalWriteError} (or
 * `ERR_DGEN_DIRECT_IO_UNSUPPORTED` where the file system refuses O_DIRECT, or the signal's reason), and
 * nothing of it is left on disk.
 * @param data - the run's validated data parameters (seed, ratios, dedup unit).
 * @throws TypeError/RangeError `ERR_DGEN_INVALID_OPTION` for bad options (synchronously, before anything
 *   is written); `ERR_DGEN_INVALID_CHUNK_SIZE` for a chunk size that is not a multiple of 512 (4096 with
 *   `direct`).
 */
export function writeLocalObjects(
  data: DataConfig,
  objects: readonly LocalObject[],
  options: LocalWriteOptions = {},
): Promise<LocalWriteResult[]> {
  const direct = options.direct ?? false;
  const chunkSize = options.chunkSize ?? DEFAULT_LOCAL_CHUNK;
  const align = direct ? DIRECT_ALIGNMENT : 512;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || chunkSize % align !== 0 || chunkSize > 2 ** 30) {
    throw invalidRange(
      'ERR_DGEN_INVALID_CHUNK_SIZE',
      'chunkSize',
      chunkSize,
      `a multiple of ${align} bytes up to 1 GiB${direct ? ' (direct I/O)' : ''}`,
    );
  }
  const signal = validateSignal(options.signal);
  // One random tag per batch keeps temporary names unique across runs and processes; the index keeps
  // them unique inside the batch.
  const tag = randomBytes(6).toString('hex');
  const batch = objects.map((o, i) => {
    const path = resolve(o.path);
    return {
      objectId: o.objectId,
      size: o.size,
      unitOffset: o.unitOffset,
      path,
      partialPath: join(dirname(path), `.${basename(path)}.${tag}${i.toString(36)}.dgen-partial`),
    };
  });
  if (signal?.aborted)
    return Promise.resolve(batch.map((o) => ({ ok: false as const, path: o.path, error: signal.reason as Error })));
  const cancel = signal ? new Uint8Array(1) : undefined;
  const onAbort = () => (cancel![0] = 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  const common = {
    seed: data.seed,
    unitBytes: data.dedupUnit,
    dedupRatio: data.dedupRatio,
    compressRatio: layoutCompressRatio(data.compressRatio, data.ratioCodec),
    ...(options.datasetUnits && { datasetUnits: options.datasetUnits }),
    kernel: options.kernel ?? 'auto',
  };
  return binding
    .writeFiles(common, batch, { chunkBytes: chunkSize, direct, fsync: options.fsync ?? false, cancel })
    .then((results) => {
      signal?.removeEventListener('abort', onAbort);
      return results.map((r, i): LocalWriteResult => {
        const o = batch[i]!;
        if (r.errno === 0)
          return { ok: true, path: o.path, size: o.size, crc32c: formatCrc32c(r.crc32c), latencyMs: r.latencyMs };
        if (r.errno === ECANCELED && signal?.aborted) return { ok: false, path: o.path, error: signal.reason as Error };
        return { ok: false, path: o.path, error: systemError(r, o.path, o.partialPath, direct) };
      });
    });
}

const ECANCELED = 125;
const EINVAL = 22;

function systemError(
  r: { errno: number; syscall: string; bytesWritten: number; cleanupErrno: number },
  path: string,
  partialPath: string,
  direct: boolean,
): Error {
  const [code, description] = getSystemErrorMap().get(-r.errno) ?? [`E${r.errno}`, 'unknown error'];
  if (direct && r.errno === EINVAL && r.syscall === 'open') {
    return Object.assign(
      new Error(
        `direct I/O to ${path} is not possible: the file system refuses O_DIRECT (ramfs, and tmpfs before Linux 6.6, do; use a disk-backed file system or file://)`,
      ),
      {
        code: 'ERR_DGEN_DIRECT_IO_UNSUPPORTED',
      },
    );
  }
  const where =
    r.syscall === 'open' || r.syscall === 'write' || r.syscall === 'fsync' || r.syscall === 'close' ? partialPath : path;
  const err = new Error(
    `${code}: ${description}, ${r.syscall} '${where}' (writing ${path}, ${r.bytesWritten} bytes written)`,
  ) as LocalWriteError;
  Object.assign(err, { code, errno: -r.errno, syscall: r.syscall, path, bytesWritten: r.bytesWritten });
  if (r.cleanupErrno !== 0) {
    const [cleanup] = getSystemErrorMap().get(-r.cleanupErrno) ?? [`E${r.cleanupErrno}`];
    Object.assign(err, { abortError: new Error(`removing ${partialPath} failed: ${cleanup}`) });
  }
  return err;
}

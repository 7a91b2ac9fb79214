/**
 * Objects in local files checked against regeneration by the native worker pool: the data plane of
 * `verify` for uncompressed objects on `file://` and `direct://` targets. Each worker reads a chunk into a
 * reused buffer, generates the expected bytes into another and compares them (cpp/file_verifier.h);
 * JavaScript hands over batches of records and gets one verdict per object.
 * @module
 */
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { constants } from 'node:os';
import { binding } from './native.js';
import { layoutCompressRatio } from './ratio-codec.js';
import type { ManifestParameters, ManifestRecord } from './manifest.js';

/** Bytes each worker reads and compares at once: 1 MiB. */
export const VERIFY_CHUNK = 1024 * 1024;

/** The native verdict on one object, in the terms of a verify report. */
export interface LocalVerdict {
  status: 'ok' | 'mismatch' | 'missing' | 'size' | 'error';
  /** `mismatch`: the first byte that differs. */
  offset?: number;
  /** `size`: bytes the file holds (its first min(actual, expected) bytes match). */
  actualSize?: number;
  /** `error`: what failed, e.g. `ELOOP: too many symbolic links encountered, open '/t/x'`, or that the
   * path is not a regular file. */
  error?: string;
}

/**
 * Checks a batch of a manifest's objects under `root` against regeneration, on the worker pool. Only
 * regular files are read: a symbolic link at the object's path or on any directory on the way to it is
 * refused (each component opened with O_NOFOLLOW, see cpp/file_verifier.cc), a FIFO or device is
 * reported, never read (opened with O_NONBLOCK, then fstat); only up to the expected size; a range stops
 * at its first difference.
 * @param manifest - the run's parameters (seed, ratios, dedup unit and scope).
 * @param records - committed objects of the manifest; their names were checked to stay inside the target
 *   (readManifestRecords: relative, no `..`, `.` or empty segments).
 * @param root - the target directory, canonical (fs.realpath): a link in it would refuse every object.
 * @returns one verdict per record, in order.
 */
export async function verifyLocalObjects(
  manifest: ManifestParameters,
  records: readonly ManifestRecord[],
  root: string,
  signal?: AbortSignal,
): Promise<LocalVerdict[]> {
  const common = {
    seed: BigInt(manifest.seed),
    unitBytes: manifest.dedupUnit,
    dedupRatio: manifest.dedupRatio,
    compressRatio: layoutCompressRatio(manifest.compressRatio, manifest.ratioCodec),
    ...(manifest.dedupScope === 'dataset' && { datasetUnits: manifest.datasetUnits }),
    kernel: 'auto',
  };
  const paths = records.map((r) => join(root, r.name));
  const objects = records.map((r, i) => ({
    objectId: BigInt(r.objectId),
    size: r.size,
    unitOffset: r.unitOffset ?? 0,
    path: paths[i]!,
  }));
  const cancel = signal ? new Uint8Array(1) : undefined;
  const onAbort = () => (cancel![0] = 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const results = await binding.verifyFiles(common, objects, { chunkBytes: VERIFY_CHUNK, cancel });
    signal?.throwIfAborted();
    return results.map((r, i): LocalVerdict => {
      if (r.status === 'mismatch') return { status: 'mismatch', offset: r.offset };
      if (r.status === 'size') return { status: 'size', actualSize: r.actualSize };
      if (r.status !== 'error') return { status: r.status };
      if (r.errno === EINVAL && r.syscall === 'fstat') return { status: 'error', error: `${paths[i]} is not a regular file` };
      if (r.errno === ELOOP)
        return {
          status: 'error',
          error: `ELOOP: ${paths[i]} is reached through a symbolic link (not followed), open '${paths[i]}'`,
        };
      const [code, description] = getSystemErrorMap().get(-r.errno) ?? [`E${r.errno}`, 'unknown error'];
      return { status: 'error', error: `${code}: ${description}, ${r.syscall} '${paths[i]}'` };
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

const EINVAL = constants.errno.EINVAL;
const ELOOP = constants.errno.ELOOP;

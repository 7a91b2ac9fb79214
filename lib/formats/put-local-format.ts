/**
 * The native data plane of a formatted put to a directory (`file://`, no compression), as lib/put-local.ts
 * is for raw objects: each file's headers and end records go to the addon as literal segments and its
 * payloads as ranges of its generator's stream ({@link FormatFile.localSegments}); the pool's workers
 * generate, checksum (CRC-32C of the file, CRC-32 of each ZIP member) and write every file with no chunk
 * passing through JavaScript, each into a temporary file renamed into place (lib/local-writer.ts). The
 * bytes are those `stream()` gives (the tests compare them).
 *
 * Files go to the pool in batches closed like put-local's ({@link BATCH_OBJECTS}, or {@link BATCH_BYTES}
 * once every worker has a file, so large files are one per worker); two batches are in flight so the pool
 * starts on the next while JavaScript records the last. Memory: a chunk buffer per worker plus the
 * batches' headers.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeLocalObjects } from '../local-writer.js';
import { binding } from '../native.js';
import type { DataConfig } from '../params.js';
import { BATCH_BYTES, BATCH_OBJECTS } from '../put-local.js';
import type { FormatFile } from './common.js';

/** One file of the run, ready to write. */
export interface LocalFormatItem {
  /** Absolute destination path. */
  path: string;
  objectId: number;
  /** Makes the file (when its batch starts, so a run of millions of files holds a batch of them). */
  file: () => Promise<FormatFile>;
}

/** Options of {@link writeLocalFormatFiles}. */
export interface LocalFormatOptions {
  /** The run's data parameters (with its seed): those every file was made with. */
  data: DataConfig;
  /** Bytes of each file (all files of a run have the same size). */
  fileSize: number;
  fsync: boolean;
  /** Stops the run: no new batch starts; files in flight are removed unless already committed. */
  signal: AbortSignal;
  /** A file committed: its size and CRC-32C (8 hex digits). */
  onCommitted(index: number, file: FormatFile, size: number, crc32c: string): void | Promise<void>;
  /** A file failed (nothing of it is left); the run goes on only if the callee does not abort it. */
  onFailed(index: number, error: Error): void;
}

/**
 * Writes `items` (every one with `localSegments`) on the native pool, batch by batch, calling
 * `onCommitted` or `onFailed` for each as its batch completes. Resolves once every batch started has
 * settled; stops starting batches once `signal` is aborted.
 * @throws what a callback throws or a directory that cannot be made, after the batches in flight settled.
 */
export async function writeLocalFormatFiles(items: readonly LocalFormatItem[], options: LocalFormatOptions): Promise<void> {
  const workers = binding.poolInfo().threads;
  const made = new Set<string>();
  const run = async (first: number, end: number) => {
    const batch = items.slice(first, end);
    for (const item of batch) {
      const dir = dirname(item.path);
      if (!made.has(dir)) {
        await mkdir(dir, { recursive: true });
        made.add(dir);
      }
    }
    const files = await Promise.all(batch.map((item) => item.file()));
    options.signal.throwIfAborted();
    const objects = batch.map((item, k) => {
      const file = files[k]!;
      const { segments, crc32Fields } = file.localSegments!();
      return { objectId: item.objectId, size: file.generator.size, path: item.path, segments, crc32Fields };
    });
    const results = await writeLocalObjects(options.data, objects, { fsync: options.fsync, signal: options.signal });
    for (const [k, r] of results.entries()) {
      if (r.ok) await options.onCommitted(first + k, files[k]!, r.size, r.crc32c);
      else options.onFailed(first + k, r.error);
    }
  };
  const inFlight: Promise<void>[] = [];
  let failure: unknown;
  let next = 0;
  while (next < items.length && !options.signal.aborted && failure === undefined) {
    const first = next;
    let bytes = 0;
    while (next < items.length && next - first < BATCH_OBJECTS && !(bytes >= BATCH_BYTES && next - first >= workers)) {
      bytes += options.fileSize;
      next++;
    }
    inFlight.push(run(first, next).catch((err) => void (failure ??= err)));
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

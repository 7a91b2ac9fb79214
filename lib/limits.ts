/**
 * Limits, each defined once. How many objects a run may have in flight: a documented maximum, lowered to
 * what the process's limit of open files (RLIMIT_NOFILE) allows. Node has no getrlimit(2); Linux shows
 * the limit in /proc/self/limits ("Max open files  <soft>  <hard>  files"); elsewhere a safe default is
 * assumed. The limits the addon enforces too (chunk size, dedup unit, threads, ...) are read from the
 * addon (`binding.limits`, cpp/limits.h), so both sides check the same numbers.
 * @module
 */
import { readFileSync } from 'node:fs';
import { binding } from './native.js';

/** Most objects in flight at once on the stream data plane: 1024. Each holds about 3 chunks plus its
 * sink's buffer (see put.ts), so more buys no speed and costs memory (20,000 took 1.9 GB of RSS). */
export const MAX_CONCURRENCY = 1024;

/** Open files assumed when the limit cannot be read: 1024, Linux's usual soft limit. */
export const DEFAULT_OPEN_FILES = 1024;

/** Descriptors kept free for everything else: Node itself, the addon's pool, the records and manifest,
 * sockets of the cloud SDKs beyond one per object. */
export const RESERVED_FILES = 64;

/** Descriptors one object in flight may hold: its file (and for `direct://` a second descriptor for the
 * unaligned tail), or its sockets. */
export const FILES_PER_OBJECT = 2;

/** The soft limit of open files of this process (RLIMIT_NOFILE), or undefined where it cannot be read.
 * "unlimited" reads as Infinity. */
export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]) || undefined;
}

/** What became of a requested concurrency. */
export interface ConcurrencyLimit {
  requested: number;
  /** What the run uses: min(requested, what the open-files limit allows), >= 1. */
  used: number;
  /** The open-files limit it was computed from (Infinity for unlimited). */
  openFiles: number;
  /** Whether `openFiles` was read from the system (else {@link DEFAULT_OPEN_FILES} was assumed). */
  measured: boolean;
}

/**
 * The concurrency a run uses for `requested` (already validated to 1..{@link MAX_CONCURRENCY}): lowered
 * so that objects in flight, {@link FILES_PER_OBJECT} descriptors each, fit under the open-files limit
 * with {@link RESERVED_FILES} to spare (at least 1).
 */
export function limitConcurrency(requested: number, openFiles: number | undefined | null = openFilesLimit()): ConcurrencyLimit {
  // null: the limit is unknown (undefined takes this process's).
  const limit = openFiles ?? DEFAULT_OPEN_FILES;
  const allowed = Math.max(1, Math.floor((limit - RESERVED_FILES) / FILES_PER_OBJECT));
  return { requested, used: Math.min(requested, allowed), openFiles: limit, measured: openFiles != null };
}

/** Bytes in a sector (512): the granularity of chunk sizes, dedup units and the compressible layout; the
 * addon's (cpp/limits.h, like every constant below read from the addon). */
export const SECTOR: number = binding.limits.sector;

/** Largest chunk size (256 MiB): stream chunks, writeToFd and local-file chunks. */
export const MAX_CHUNK_SIZE: number = binding.limits.maxChunkBytes;

/** Largest dedup unit accepted: 1 GiB. */
export const MAX_DEDUP_UNIT: number = binding.limits.maxDedupUnit;

/** Most worker threads (`threads` of the pool and of a generator): 1024. */
export const MAX_THREADS: number = binding.limits.maxThreads;

/** O_DIRECT alignment of buffers, offsets and chunk sizes: 4096. */
export const DIRECT_ALIGNMENT: number = binding.limits.directAlignment;

/** Chunks of at least this many bytes (2 MiB, one huge page) are backed by transparent huge pages. */
export const HUGE_CHUNK_MIN: number = binding.limits.hugeChunkMin;

/** Fills at or below this many bytes (256 KiB, the smallest piece the addon hands a worker) run on the
 * calling thread even through the async API: handing them to a worker costs more than generating them. */
export const SYNC_FILL_LIMIT: number = binding.limits.minPieceBytes;

/** Most chunks a stream generates ahead of its consumer (`queueDepth`): 64. TypeScript only (the addon
 * never sees a queue). */
export const MAX_QUEUE_DEPTH = 64;

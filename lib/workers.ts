/**
 * The native worker pool and the machine's topology.
 *
 * Large fills (1 MiB and more, and every async fill) run on the addon's own threads, not on libuv's
 * pool (which file I/O and DNS share). The pool is sized from the topology, one worker per physical
 * core, or `DGEN_THREADS`, or {@link configureWorkers}. Topology comes from hwloc when the addon was
 * built with it (found by pkg-config, linked shared), else from Linux sysfs (`workerInfo().hwloc` says
 * which). Workers are bound to cores, spread round-robin over the NUMA nodes (`numa: 'auto'`), kept to
 * some nodes (`{ nodes: [...] }`) or left unbound (`'off'`); each worker first touches the memory it
 * fills, so pages land on its node. Placement never changes the bytes.
 * @module
 */
import { binding, type NumaOption, type TopologyInfo, type WorkerPlacement } from './native.js';
import { invalidRange, invalidType } from './errors.js';
import { MAX_THREADS } from './limits.js';

export type { NumaOption, TopologyInfo, WorkerPlacement };

// The addon parses the option (cpp/addon_topology.cc, ParseNuma), the same code configurePool() runs, so
// what is accepted here is exactly what the pool reads.
function checkNuma(numa: unknown): NumaOption | undefined {
  if (numa === undefined) return undefined;
  try {
    return binding.parseNuma(numa);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw invalidType('ERR_DGEN_INVALID_OPTION', 'numa', numa, "'auto', 'off' or { nodes: [non-negative integers] }");
    }
    throw err;
  }
}

function checkThreads(threads: unknown): number | undefined {
  if (threads === undefined) return undefined;
  if (typeof threads !== 'number' || !Number.isSafeInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'threads', threads, `a whole number from 1 to ${MAX_THREADS}`);
  }
  return threads;
}

function native<T>(fn: () => T, parameter: string, value: unknown): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw invalidRange('ERR_DGEN_INVALID_OPTION', parameter, value, `valid here (${err.message})`);
    throw err;
  }
}

/**
 * This machine's topology (restricted to the CPUs this process may use), or a synthetic one.
 * @param options.synthetic - hwloc synthetic syntax, e.g. `"package:2 numa:2 core:8 pu:2"`.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` for a synthetic description that does not parse.
 */
export function topology(options: { synthetic?: string } = {}): TopologyInfo {
  return native(() => binding.topology(options), 'synthetic', options.synthetic);
}

/**
 * Where `threads` workers would run under a NUMA option, on this machine or a synthetic topology.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION` for nodes that do not exist or bad options.
 */
export function planWorkers(options: { synthetic?: string; threads?: number; numa?: NumaOption } = {}): WorkerPlacement[] {
  const threads = checkThreads(options.threads);
  const numa = checkNuma(options.numa);
  return native(
    () => binding.planWorkers({ ...options, ...(threads && { threads }), ...(numa && { numa }) }),
    'numa',
    options.numa,
  );
}

/**
 * Replaces the worker pool: `threads` workers (default one per core, or `DGEN_THREADS`), placed by `numa`
 * (default `'auto'`). Fills already running finish on the old pool.
 * @throws RangeError `ERR_DGEN_INVALID_OPTION`.
 */
export function configureWorkers(options: { threads?: number; numa?: NumaOption } = {}): void {
  const threads = checkThreads(options.threads);
  const numa = checkNuma(options.numa);
  native(() => binding.configurePool({ ...(threads && { threads }), ...(numa && { numa }) }), 'numa', options.numa);
}

/** The pool in use: thread count, each worker's placement and whether it is bound, and whether hwloc is in. */
export function workerInfo(): ReturnType<typeof binding.poolInfo> {
  return binding.poolInfo();
}

/**
 * Counters of the chunk pool that streams take their chunks from (cpp/buffers.h, cpp/addon_buffers.cc):
 * `outstandingBlocks`/`outstandingBytes` (blocks held by live Buffers), `freeBlocks`/`freeBytes` (blocks kept
 * for reuse while a stream is open), `allocations` and `reuses` (blocks mapped, blocks handed out again),
 * `hiddenBytes` (bytes of chunks taken out of V8's external-memory count), `budgetBytes` (outstanding bytes
 * under which new chunks are hidden: each open stream's highWaterMark + queueDepth x chunkSize, plus 64 MiB)
 * and `reveals` (times the pool went over that budget and showed V8 every hidden chunk). Bytes or counts;
 * the last three are the calling thread's (each worker thread has a V8 heap of its own).
 */
export function bufferPoolStats(): ReturnType<typeof binding.bufferPoolStats> {
  return binding.bufferPoolStats();
}

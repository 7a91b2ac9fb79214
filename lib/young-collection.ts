// When V8 starts a young-generation collection for ArrayBuffer memory, and how the chunk pool makes it see
// the pool's young chunks (lib/source.ts chunkMemory, cpp/addon_buffers.cc).
import v8 from 'node:v8';

/** The V8 flag whose value sets the threshold: V8 starts a young collection for ArrayBuffer memory when it
 * allocates one and the young generation's ArrayBuffers already hold 2 x this many MB x 2 (without pointer
 * compression, as Node is built): Heap::AllocateExternalBackingStore and Heap::DefaultMaxSemiSpaceSize in
 * V8's src/heap/heap.cc, which read the flag at each call. */
const FLAG = 'scavenger-max-new-space-capacity-mb';
/** Node 20's and 22's value, 8: a young collection at 32 MiB of young ArrayBuffers, the rate the pool's
 * budget and slack were measured with. */
const POOL_VALUE = 8;
/** V8 13's default (Node 24), 32: a young collection only past 128 MiB of young ArrayBuffers. */
const V8_13_DEFAULT = 32;

/** The flag's value to restore after each allocation, or undefined to leave the flag alone: only on V8 13
 * (Node 24, the only version measured with a default above {@link POOL_VALUE}), and only when the process
 * was not started with its own young-generation settings (the flag, `--max-semi-space-size`, MinorMS). */
function flagToRestore(): number | undefined {
  if (Number.parseInt(process.versions.v8, 10) !== 13) return undefined;
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (args.some((a) => /scavenger[-_]max[-_]new[-_]space|semi[-_]space|minor[-_]ms/.test(a))) return undefined;
  return V8_13_DEFAULT;
}
const restore = flagToRestore();
const lower = `--${FLAG}=${POOL_VALUE}`;
const back = `--${FLAG}=${restore}`;

/**
 * Allocates a tiny ArrayBuffer through V8, once per pool chunk. V8 checks whether a young-generation
 * collection is due only when it allocates ArrayBuffer memory itself, never for the pool's external
 * Buffers, so without this dead chunks would wait for full collections (cpp/addon_buffers.cc). The check
 * may run that collection on the spot: a DataSource calls this after starting the chunk's fill, so it
 * overlaps the fill (measured: 0.1-0.3 ms per 4 MiB chunk on the critical path before).
 *
 * On Node 24 (V8 13) the threshold of that check is 128 MiB of young ArrayBuffers instead of Node 20's and
 * 22's 32 MiB, so dead chunks waited past the pool's budget and each reveal brought on a full collection
 * (1 GiB into a no-op Writable: 13-14 full collections, 104-116 MiB of chunks outstanding, 1.5-1.9 GB/s).
 * So there the flag is lowered to {@link POOL_VALUE} for this one allocation and set back to V8's default
 * right after (about 1.5 us): the check sees the 32 MiB threshold, and nothing else in the process does
 * (a worker started after a lasting change got a 48 MiB young generation instead of 192). Measured with
 * the flag lowered (same runs, load 3): 0 reveals, 1-11 full collections, 60-72 MiB outstanding,
 * 2.4-7.2 GB/s.
 */
export function letV8CollectYoungChunks(): ArrayBuffer {
  if (restore === undefined) return new ArrayBuffer(1);
  v8.setFlagsFromString(lower);
  try {
    return new ArrayBuffer(1);
  } finally {
    v8.setFlagsFromString(back);
  }
}

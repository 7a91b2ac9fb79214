/**
 * Chunk memory reused once the consumer is provably done with it.
 *
 * A `Readable` cannot know when its consumer has finished with a chunk, so every chunk it hands out is
 * fresh memory: page faults, DRAM write-backs and garbage collection (issue 17 measured 0.07-0.65x of a
 * zero-cost source into `fs.createWriteStream`). Some consumers can say when they are done: they count,
 * in order, the bytes whose write callback has fired (`acknowledged`) and the bytes whose memory they no
 * longer reference (`released`). Node's `fs.WriteStream` does (its `bytesWritten` grows when `fs.write`
 * has finished with the buffer, just before the callback), and so do the sinks of this package that
 * finish with a chunk inside its write ({@link kChunkProgress}).
 *
 * The source uses this only where it is provably safe: the chunk goes to exactly one piped consumer (the
 * only `'data'` listener), and every byte that consumer was given since it was piped came from this
 * source (checked before each chunk: acknowledged + writableLength = bytes handed so far). Writes are
 * processed in order, so once `released` passes the end of a chunk, nothing refers to it any more, and its
 * memory is handed out again. Any other consumer, a second listener, an unpipe or a foreign write turn
 * recycling off for the rest of the stream: chunks are then fresh memory, as before.
 * @module
 */
import fs, { WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * Implemented by a `Writable` that tells its sources when it is done with the memory of the chunks it was
 * given: returns the bytes whose write callback has fired and the bytes it no longer references (both
 * counted in write order since the stream was created), or `undefined` when it cannot say (for example
 * while a compressor that keeps references sits inside it).
 */
export const kChunkProgress = Symbol.for('dgen-stream.chunkProgress');

/** What a consumer reports through {@link kChunkProgress}, in bytes. */
export interface ChunkProgress {
  /** Bytes whose write callback has fired. */
  acknowledged: number;
  /** Bytes whose memory the consumer no longer references (at most `acknowledged`). */
  released: number;
}

/** A consumer whose progress can be read, and how. */
type ProgressReader = (dest: Writable) => ChunkProgress | undefined;

const fsWriteStreamProgress: ProgressReader = (dest) => {
  const n = (dest as WriteStream).bytesWritten;
  return { acknowledged: n, released: n };
};

/** How to read the progress of `dest`, or undefined when it is not a consumer known to report it. */
export function progressReader(dest: Writable): ProgressReader | undefined {
  const own = (dest as unknown as Record<symbol, unknown>)[kChunkProgress];
  if (typeof own === 'function') return (d) => (own as () => ChunkProgress | undefined).call(d);
  // Exactly Node's fs.WriteStream over Node's own fs: a subclass may override _write and keep chunks,
  // and a stream given another `fs` implementation (the `fs` option) may keep them too.
  if (Object.getPrototypeOf(dest) === WriteStream.prototype && ownFs(dest) === fs) {
    if (Object.hasOwn(dest, '_write') || Object.hasOwn(dest, '_writev')) return undefined;
    return fsWriteStreamProgress;
  }
  return undefined;
}

/** The file-system implementation an fs.WriteStream writes through (its internal kFs slot). */
function ownFs(dest: Writable): unknown {
  const key = Object.getOwnPropertySymbols(dest).find((s) => s.description === 'kFs');
  return key === undefined ? undefined : (dest as unknown as Record<symbol, unknown>)[key];
}

/** Counters of a {@link ChunkRecycler}, in chunks. */
export interface ChunkPoolStats {
  /** Chunks of fresh memory allocated. */
  allocated: number;
  /** Chunks handed out again from recycled memory. */
  reused: number;
  /** Recycled chunks waiting to be handed out. */
  free: number;
  /** Chunks given to the consumer and not yet released by it. */
  outstanding: number;
}

/**
 * The free list and the chunks in flight of one source. `take` hands out recycled memory when a chunk of
 * that size is free; `handOut` records a chunk given to the tracked consumer with the byte count at which
 * it is released; `reclaim` moves released chunks to the free list.
 */
export class ChunkRecycler {
  readonly #chunkSize: number;
  readonly #alloc: (n: number) => Buffer;
  #free: Buffer[] = [];
  #outstanding: { chunk: Buffer; end: number }[] = [];
  #allocated = 0;
  #reused = 0;

  /** @param alloc - fresh memory for a chunk of n bytes. */
  constructor(chunkSize: number, alloc: (n: number) => Buffer) {
    this.#chunkSize = chunkSize;
    this.#alloc = alloc;
  }

  /** Memory for a chunk of n bytes: a free recycled chunk when n is the full chunk size, else fresh. */
  take(n: number): Buffer {
    if (n === this.#chunkSize) {
      const chunk = this.#free.pop();
      if (chunk) {
        this.#reused++;
        return chunk;
      }
    }
    this.#allocated++;
    return this.#alloc(n);
  }

  /** Records that `chunk` went to the consumer and is free once its `released` count reaches `end`. */
  handOut(chunk: Buffer, end: number): void {
    if (chunk.length === this.#chunkSize) this.#outstanding.push({ chunk, end });
  }

  /** Moves every chunk the consumer has released (`released` bytes so far) to the free list. */
  reclaim(released: number): void {
    const outstanding = this.#outstanding;
    let i = 0;
    while (i < outstanding.length && outstanding[i]!.end <= released) this.#free.push(outstanding[i++]!.chunk);
    if (i > 0) outstanding.splice(0, i);
  }

  /** Forgets every chunk (outstanding ones stay with the consumer and are freed when it drops them). */
  clear(): void {
    this.#free = [];
    this.#outstanding = [];
  }

  stats(): ChunkPoolStats {
    return { allocated: this.#allocated, reused: this.#reused, free: this.#free.length, outstanding: this.#outstanding.length };
  }
}

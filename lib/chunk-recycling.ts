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
import type { Readable, Writable } from 'node:stream';

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

/**
 * The "one piped consumer that reports its progress" bookkeeping of a `Readable` that recycles the memory
 * of what it pushes (DataSource's chunks, a compressor's outputs): which consumer is tracked, which pushed
 * chunks are its own and on which memory, and when that memory is free again. The Readable forwards three
 * calls to it:
 * - `pipe(dest, () => super.pipe(dest, options))` from its `pipe` override;
 * - `untrack()` from its `unpipe` override (and on close);
 * - `handOut(chunk)` from its `emit` override on `'data'`: every chunk leaves a Readable through a
 *   `'data'` event (pipe, read() and async iteration all emit it), so this is where a chunk is known to
 *   go to the tracked consumer alone.
 * and takes memory for what it pushes with `take(n)` (undefined when nothing is tracked: allocate as
 * usual), marking each pushed chunk and the memory under it with `mark(chunk, memory)`.
 *
 * Recycling is on only from a first `pipe` into a consumer {@link progressReader} knows, while that is
 * the only `'data'` listener, nobody listens for `'readable'`, and everything the consumer was given since
 * came from this Readable (acknowledged + writableLength = bytes handed). Anything else turns it off for
 * the rest of the stream; memory the consumer still holds then stays with it (freed when collected).
 */
export class ConsumerTracker {
  readonly #source: Readable;
  readonly #recycler: ChunkRecycler;
  #tracked: { dest: Writable; read: ProgressReader; base: number; handed: number } | undefined;
  #trackable = true; // false once anything made recycling unsafe for the rest of the stream
  // Chunks pushed and not yet emitted, each with the recyclable memory under it: only these are recycled.
  #pushed = new Map<Buffer, Buffer>();

  /** @param source - the Readable whose pushed chunks are tracked. @param recycler - where their memory goes round. */
  constructor(source: Readable, recycler: ChunkRecycler) {
    this.#source = source;
    this.#recycler = recycler;
  }

  /** Whether a consumer is tracked (memory from {@link ConsumerTracker.take} is recycled). */
  get tracking(): boolean {
    return this.#tracked !== undefined;
  }

  /** Runs `pipe` (the Readable's own `super.pipe(dest, options)`) and tracks `dest` when it is the first
   * and only consumer and reports its progress; otherwise turns recycling off. */
  pipe<T>(dest: T, pipe: () => T): T {
    const source = this.#source;
    const first =
      this.#trackable && this.#tracked === undefined && source.readableFlowing === null && source.listenerCount('data') === 0;
    const piped = pipe();
    const writable = dest as unknown as Writable;
    const read = first ? progressReader(writable) : undefined;
    const progress = read?.(writable);
    if (read && progress)
      this.#tracked = { dest: writable, read, base: progress.acknowledged + writable.writableLength, handed: 0 };
    else this.untrack();
    return piped;
  }

  /** Records that `chunk` is being emitted; recycling goes on only if it goes to the tracked consumer alone. */
  handOut(chunk: Buffer): void {
    const memory = this.#pushed.get(chunk);
    this.#pushed.delete(chunk);
    const t = this.#tracked;
    if (!t) return;
    const progress = t.read(t.dest);
    const source = this.#source;
    // Safe only while the consumer got nothing but our chunks, whole, from us alone (see the module comment).
    if (
      !memory ||
      !progress ||
      source.listenerCount('data') !== 1 ||
      source.listenerCount('readable') !== 0 ||
      progress.acknowledged + t.dest.writableLength !== t.base + t.handed
    ) {
      this.untrack();
      return;
    }
    t.handed += chunk.length;
    this.#recycler.handOut(memory, t.base + t.handed);
  }

  /** Memory of `n` bytes for the next chunk while a consumer is tracked (recycled once it released some,
   * else fresh from the recycler's allocator); undefined when nothing is tracked. */
  take(n: number): Buffer | undefined {
    const t = this.#tracked;
    if (!t) return undefined;
    const progress = t.read(t.dest);
    if (progress) this.#recycler.reclaim(progress.released);
    return this.#recycler.take(n);
  }

  /** Marks `chunk` (memory from {@link ConsumerTracker.take}, or a view of it) as pushed by the Readable. */
  mark(chunk: Buffer, memory: Buffer): void {
    if (this.#tracked) this.#pushed.set(chunk, memory);
  }

  /** Turns recycling off for the rest of the stream and lets go of every pooled chunk (those the consumer
   * holds stay with it). */
  untrack(): void {
    this.#tracked = undefined;
    this.#trackable = false;
    this.#recycler.clear();
    this.#pushed.clear();
  }
}

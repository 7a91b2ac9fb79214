// ConsumerTracker (lib/chunk-recycling.ts) on its own, in a Readable that pushes views of larger memory
// blocks (as a compressor pushes its outputs): piped alone into an fs.WriteStream the memory goes round
// and the file holds exactly the bytes pushed; a second 'data' listener that keeps the views turns
// recycling off, and the views it kept are never written into again.
import t from 'tap';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChunkRecycler, ConsumerTracker } from '../lib/chunk-recycling.js';

const BLOCK = 256 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'dgen-tracker-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** Bytes of the i-th view: odd lengths, content depending on i and the offset. */
const viewLength = (i: number) => BLOCK - ((i * 7919) % 4096);
const expected = (count: number) =>
  Buffer.concat(Array.from({ length: count }, (_, i) => fillView(Buffer.alloc(viewLength(i)), i)));
function fillView(b: Buffer, i: number): Buffer {
  for (let k = 0; k < b.length; k++) b[k] = (i * 31 + k * 7 + (k >> 9)) & 255;
  return b;
}

/** Pushes `count` views, each of a block from the tracker (recycled) or fresh. */
class Views extends Readable {
  readonly recycler = new ChunkRecycler(BLOCK, (n) => Buffer.allocUnsafeSlow(n));
  readonly #tracker = new ConsumerTracker(this, this.recycler);
  #i = 0;
  constructor(readonly count: number) {
    super({ highWaterMark: 2 * BLOCK });
  }
  override pipe<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T {
    return this.#tracker.pipe(dest, () => super.pipe(dest, options));
  }
  override unpipe(dest?: NodeJS.WritableStream): this {
    this.#tracker.untrack();
    return super.unpipe(dest);
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') this.#tracker.handOut(args[0] as Buffer);
    return super.emit(event, ...args);
  }
  override _read(): void {
    if (this.#i === this.count) return void this.push(null);
    const i = this.#i++;
    const memory = this.#tracker.take(BLOCK) ?? Buffer.allocUnsafeSlow(BLOCK);
    const view = fillView(memory.subarray(0, viewLength(i)), i);
    this.#tracker.mark(view, memory);
    this.push(view);
  }
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#tracker.untrack();
    cb(err);
  }
}

t.test('one fs.WriteStream: block memory goes round, the file holds exactly the bytes pushed', async (t) => {
  const count = 200;
  const path = join(dir, 'alone.bin');
  const source = new Views(count);
  await pipeline(source, createWriteStream(path));
  t.ok(readFileSync(path).equals(expected(count)), 'file bytes exact');
  const stats = source.recycler.stats();
  t.ok(stats.reused > count / 2, `memory reused (${JSON.stringify(stats)})`);
  t.ok(stats.allocated < 40, 'a small ring of blocks');
});

t.test('a second data listener that keeps the views turns recycling off: kept views intact', async (t) => {
  const count = 200;
  const path = join(dir, 'kept.bin');
  const source = new Views(count);
  const kept: { view: Buffer; digest: string }[] = [];
  const sink = createWriteStream(path);
  source.pipe(sink);
  // Once recycling runs, a second consumer appears and keeps every view it sees.
  await new Promise<void>((resolve) => {
    const poll = () => (source.recycler.stats().reused > 0 ? resolve() : setImmediate(poll));
    poll();
  });
  source.on('data', (view: Buffer) => kept.push({ view, digest: createHash('sha256').update(view).digest('hex') }));
  await new Promise<void>((resolve, reject) => sink.on('finish', resolve).on('error', reject));
  t.ok(readFileSync(path).equals(expected(count)), 'file bytes exact');
  t.ok(kept.length > 10, `${kept.length} views kept`);
  t.ok(
    kept.every((k) => createHash('sha256').update(k.view).digest('hex') === k.digest),
    'no kept view was written into',
  );
  t.same(
    { free: source.recycler.stats().free, outstanding: source.recycler.stats().outstanding },
    { free: 0, outstanding: 0 },
    'recycling off, the pool let go',
  );
});

// DataSource reuses chunk memory once its one piped consumer has released it (lib/chunk-recycling.ts):
// output byte-identical to one-shot generation whatever the chunk size, recycling really happens where it
// is safe, chunks a consumer still holds are never overwritten (recycling switches off), and destroy or
// abort mid-stream lets go of every pooled chunk.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync, WriteStream } from 'node:fs';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as tick } from 'node:timers/promises';
import { createGenerator, DataSource, DirectFileSink, FileSink, kChunkProgress } from '../lib/index.js';

const MiB = 1024 * 1024;
const shape = { dedupRatio: 2, compressRatio: 3, seed: 41n };

const dir = await mkdtemp(join(tmpdir(), 'dgen-recycle-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

const expected = (size: number) => createGenerator({ size, ...shape }).generateSync();

type Consumer = [name: string, make: (path: string) => Writable];
const consumers: Consumer[] = [
  ['fs.createWriteStream', (p) => createWriteStream(p)],
  ['FileSink', (p) => new FileSink(p)],
  ['DirectFileSink', (p) => new DirectFileSink(p)],
];

t.test('byte-identical output through every recycling consumer, odd sizes and several chunk sizes', async (t) => {
  for (const [name, make] of consumers) {
    for (const [size, chunkSize] of [
      [20 * MiB + 3, 512 * 1024],
      [9 * MiB + 4097, 2 * MiB],
      [13 * MiB + 511, 4 * MiB],
      [1000, 512],
    ] as const) {
      const path = join(dir, `${name}-${size}-${chunkSize}.bin`);
      const source = new DataSource({ size, chunkSize, ...shape });
      await pipeline(source, make(path));
      t.ok(readFileSync(path).equals(expected(size)), `${name}, size ${size}, chunks of ${chunkSize}`);
      const stats = source.chunkPoolStats;
      // Chunks go around a ring as large as what the source and the consumer buffer (an ObjectWriter's
      // highWaterMark is 16 MiB, fs.WriteStream's 16 KiB), plus the chunks being filled.
      const ring = Math.ceil((16 * MiB + 2 * chunkSize) / chunkSize) + 3;
      if (size / chunkSize >= 10) {
        t.ok(stats.reused > 0 && stats.allocated <= ring, `${name} reused chunk memory (${JSON.stringify(stats)})`);
      }
      t.same(
        { free: stats.free, outstanding: stats.outstanding },
        { free: 0, outstanding: 0 },
        `${name}: the pool let go of every chunk at the end`,
      );
      await rm(path);
    }
  }
});

/** Resolves once the source has reused chunk memory (recycling is on and running). */
async function recycling(source: DataSource): Promise<void> {
  while (source.chunkPoolStats.reused === 0 && !source.readableEnded && !source.destroyed) await tick();
}

t.test('a second data listener that holds chunks turns recycling off: the held chunks stay intact', async (t) => {
  for (const [name, make] of consumers) {
    const size = 48 * MiB + 512;
    const path = join(dir, `held-${name}.bin`);
    const source = new DataSource({ size, chunkSize: 1 * MiB, ...shape });
    const held: Buffer[] = [];
    const done = pipeline(source, make(path));
    // Added once chunks are being recycled, so earlier chunks went out with recycling on.
    await recycling(source);
    t.ok(source.chunkPoolStats.reused > 0, `${name}: recycling was on`);
    source.on('data', (chunk: Buffer) => held.push(chunk));
    await done;
    const all = expected(size);
    const start = size - held.reduce((n, c) => n + c.length, 0);
    t.ok(held.length > 10, `${name}: chunks were held`);
    t.ok(Buffer.concat(held).equals(all.subarray(start)), `${name}: every held chunk still holds its bytes at the end`);
    t.ok(readFileSync(path).equals(all), `${name}: the file is exact`);
  }
});

t.test('chunks collected by a foreign Writable are never recycled', async (t) => {
  const size = 16 * MiB + 1024;
  const source = new DataSource({ size, chunkSize: 1 * MiB, ...shape });
  const kept: Buffer[] = [];
  await pipeline(source, new Writable({ write: (chunk: Buffer, _e, cb) => (kept.push(chunk), cb()) }));
  t.ok(Buffer.concat(kept).equals(expected(size)), 'held chunks intact');
  t.equal(source.chunkPoolStats.reused, 0, 'no chunk memory was reused');
});

t.test('a subclass of fs.WriteStream that keeps chunks is not trusted', async (t) => {
  class Keeping extends WriteStream {
    kept: Buffer[] = [];
    override _write(chunk: Buffer, encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
      this.kept.push(chunk);
      super._write(chunk, encoding, cb);
    }
  }
  const size = 16 * MiB + 1024;
  const source = new DataSource({ size, chunkSize: 1 * MiB, ...shape });
  // WriteStream's constructor is callable with a path, as createWriteStream does.
  const sink = new (Keeping as unknown as new (path: string) => Keeping)(join(dir, 'keeping.bin'));
  await pipeline(source, sink);
  t.ok(Buffer.concat(sink.kept).equals(expected(size)), 'the chunks it kept are intact');
  t.equal(source.chunkPoolStats.reused, 0, 'no chunk memory was reused');
});

t.test('a foreign write into the piped fs.WriteStream turns recycling off and loses nothing', async (t) => {
  const size = 32 * MiB;
  const path = join(dir, 'foreign.bin');
  const source = new DataSource({ size, chunkSize: 1 * MiB, ...shape });
  const sink = createWriteStream(path);
  const extra = Buffer.alloc(3 * MiB, 0x5a);
  const done = pipeline(source, sink);
  await recycling(source);
  // Between two of our chunks, someone else writes 3 MiB into the same stream.
  const at = sink.bytesWritten + sink.writableLength;
  sink.write(extra);
  await done;
  const all = expected(size);
  const file = readFileSync(path);
  t.ok(at > 0 && at < size, 'the foreign write went in mid-stream');
  t.equal(file.length, size + extra.length);
  t.ok(file.subarray(0, at).equals(all.subarray(0, at)), 'our bytes before the foreign write');
  t.ok(file.subarray(at, at + extra.length).equals(extra), 'the foreign bytes');
  t.ok(file.subarray(at + extra.length).equals(all.subarray(at)), 'our bytes after it, intact');
});

t.test('a Writable implementing kChunkProgress gets recycled chunks only after it released them', async (t) => {
  // A consumer that holds each chunk for a while and reports it released only when it lets go.
  const size = 32 * MiB;
  const chunkSize = 1 * MiB;
  const held: { copy: Buffer; chunk: Buffer }[] = [];
  let acknowledged = 0;
  let released = 0;
  let corrupt = 0;
  const sink = new Writable({
    highWaterMark: 2 * chunkSize,
    write(chunk: Buffer, _e, cb) {
      held.push({ chunk, copy: Buffer.from(chunk) });
      // Keep the last three; check a chunk is untouched when we let it go.
      while (held.length > 3) {
        const { chunk: c, copy } = held.shift()!;
        if (!c.equals(copy)) corrupt++;
        released += c.length;
      }
      setImmediate(() => {
        acknowledged += chunk.length;
        cb();
      });
    },
  });
  (sink as unknown as Record<symbol, unknown>)[kChunkProgress] = () => ({ acknowledged, released });
  const source = new DataSource({ size, chunkSize, ...shape });
  await pipeline(source, sink);
  for (const { chunk, copy } of held) if (!chunk.equals(copy)) corrupt++;
  t.equal(corrupt, 0, 'no chunk changed while the consumer held it');
  t.ok(source.chunkPoolStats.reused > 0, `chunks were recycled (${JSON.stringify(source.chunkPoolStats)})`);
});

t.test('destroy and abort mid-stream let go of every pooled chunk, leaving no file', async (t) => {
  for (const how of ['destroy', 'abort'] as const) {
    for (const [name, make] of consumers) {
      const sub = await mkdtemp(join(dir, 'stop-'));
      const controller = new AbortController();
      const source = new DataSource({ size: 1024 * MiB, chunkSize: 1 * MiB, ...shape, signal: controller.signal });
      const sink = make(join(sub, 'x.bin'));
      const done = pipeline(source, sink);
      await recycling(source);
      if (how === 'destroy') source.destroy();
      else controller.abort();
      await t.rejects(done, `${how} fails the pipeline`);
      if ('result' in sink) await (sink as FileSink).result().catch(() => undefined);
      t.ok(source.chunkPoolStats.reused > 0, `${name}/${how}: recycling was on`);
      t.same(
        { free: source.chunkPoolStats.free, outstanding: source.chunkPoolStats.outstanding },
        { free: 0, outstanding: 0 },
        `${name}/${how}: pool empty`,
      );
      if (name !== 'fs.createWriteStream') t.same(await readdir(sub), [], `${name}/${how}: nothing left in the directory`);
    }
  }
});

t.test('a FileSink compressing inside (zstd, gzip) releases chunks once the codec is done with them', async (t) => {
  for (const compression of ['zstd', 'gzip'] as const) {
    const size = 40 * MiB + 1536;
    const path = join(dir, `compressed.${compression}`);
    const source = new DataSource({ size, chunkSize: 1 * MiB, ...shape });
    const held: Buffer[] = [];
    const done = pipeline(source, new FileSink(path, { compression }));
    await recycling(source);
    t.ok(source.chunkPoolStats.reused > 0, `${compression}: recycling was on`);
    // From here on every chunk is held by a second listener, which turns recycling off.
    source.on('data', (chunk: Buffer) => held.push(chunk));
    await done;
    const all = expected(size);
    const plain = execFileSync(compression === 'zstd' ? 'zstd' : 'gzip', ['-dc', path], { maxBuffer: 256 * MiB });
    t.ok(plain.equals(all), `${compression}: the object decompresses (CLI) to the exact bytes`);
    const start = size - held.reduce((n, c) => n + c.length, 0);
    t.ok(Buffer.concat(held).equals(all.subarray(start)), `${compression}: held chunks intact`);
  }
});

t.test('a compressor Transform in front of a sink (zstd, gzip) gets recycled chunks once its jobs are done', async (t) => {
  const { createCompressor } = await import('../lib/index.js');
  for (const algorithm of ['zstd', 'gzip'] as const) {
    const size = 48 * MiB + 2560;
    const path = join(dir, `transform.${algorithm}`);
    const source = new DataSource({ size, chunkSize: 1 * MiB, ...shape });
    const held: Buffer[] = [];
    const done = pipeline(source, createCompressor({ algorithm, level: 1 }), createWriteStream(path));
    await recycling(source);
    t.ok(source.chunkPoolStats.reused > 0, `${algorithm}: recycling was on`);
    source.on('data', (chunk: Buffer) => held.push(chunk));
    await done;
    const all = expected(size);
    const plain = execFileSync(algorithm === 'zstd' ? 'zstd' : 'gzip', ['-dc', path], { maxBuffer: 256 * MiB });
    t.ok(plain.equals(all), `${algorithm}: decompresses (CLI) to the exact bytes`);
    const start = size - held.reduce((n, c) => n + c.length, 0);
    t.ok(Buffer.concat(held).equals(all.subarray(start)), `${algorithm}: held chunks intact`);
  }
});

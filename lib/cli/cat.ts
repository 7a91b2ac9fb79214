/** `dgen cat`: one object to stdout. @module */
import { fstatSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { DataSource } from '../source.js';
import type { DataGenerator } from '../generator.js';
import type { Opts } from './options.js';


const writeAsync = promisify(write);

/**
 * Straight to a file or device (`> file`, `> /dev/null`): two reused buffers, one filled on the worker
 * pool while the other is written, so the loop maps no new memory and generation overlaps the writes.
 */
async function catToFile(generator: DataGenerator, chunkSize: number): Promise<void> {
  const size = generator.size;
  const buffers = [Buffer.allocUnsafe(Math.min(chunkSize, size)), Buffer.allocUnsafe(Math.min(chunkSize, size))];
  let offset = 0;
  let filling = size > 0 ? generator.fill(buffers[0]!.subarray(0, Math.min(chunkSize, size)), 0) : undefined;
  for (let k = 0; filling; k ^= 1) {
    const length = await filling;
    const current = buffers[k]!.subarray(0, length);
    offset += length;
    const n = Math.min(chunkSize, size - offset);
    filling = n > 0 ? generator.fill(buffers[k ^ 1]!.subarray(0, n), offset) : undefined;
    for (let done = 0; done < current.length; ) done += (await writeAsync(1, current, done, current.length - done)).bytesWritten;
  }
}

/** Runs `dgen cat`. A closed pipe (EPIPE, e.g. `dgen cat | head -c 10`) ends it quietly. */
export async function runCat(opts: Opts): Promise<void> {
  const source = new DataSource({
    size: opts.size as string,
    dedupRatio: opts.dedup as string,
    compressRatio: opts.compress as string,
    dedupUnit: opts.dedupUnit as string,
    seed: opts.seed as string | undefined,
    objectId: opts.object as string,
    chunkSize: opts.chunkSize as string,
  });
  if (opts.seed === undefined) process.stderr.write(`dgen cat: seed ${source.generator.seed}\n`);
  const stat = fstatSync(1);
  if (stat.isFile() || stat.isCharacterDevice()) {
    source.destroy();
    // Larger pieces than a stream's chunks: nothing holds them, and the workers split each fill.
    await catToFile(source.generator, Math.max(source.chunkSize, 16 * 1024 * 1024));
    return;
  }
  try {
    await pipeline(source, process.stdout);
  } catch (err) {
    if ((err as { code?: string }).code === 'EPIPE') return;
    throw err;
  }
}

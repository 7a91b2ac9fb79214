/** `dgen cat`: one object to stdout. @module */
import { DataGenerator } from '../generator.js';
import type { Opts } from './options.js';

/**
 * Runs `dgen cat`. The bytes go to descriptor 1 straight from the worker pool
 * ({@link DataGenerator.writeToFd}), whatever stdout is (file, device, pipe, socket). A closed pipe (EPIPE,
 * e.g. `dgen cat | head -c 10`) ends it quietly.
 */
export async function runCat(opts: Opts): Promise<void> {
  const generator = new DataGenerator({
    size: opts.size as string,
    dedupRatio: opts.dedup as string,
    compressRatio: opts.compress as string,
    dedupUnit: opts.dedupUnit as string,
    seed: opts.seed as string | undefined,
    objectId: opts.object as string,
  });
  if (opts.seed === undefined) process.stderr.write(`dgen cat: seed ${generator.seed}\n`);
  try {
    await generator.writeToFd(1, { chunkSize: opts.chunkSize as string });
  } catch (err) {
    if ((err as { code?: string }).code === 'EPIPE') return;
    throw err;
  }
}

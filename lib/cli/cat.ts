/** `dgen cat`: one object to stdout. @module */
import { pipeline } from 'node:stream/promises';
import { DataSource } from '../source.js';

type Opts = Record<string, string | boolean | undefined>;

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
  try {
    await pipeline(source, process.stdout);
  } catch (err) {
    if ((err as { code?: string }).code === 'EPIPE') return;
    throw err;
  }
}

/**
 * `dgen cat`: one object to stdout, byte-equal to object N of a `dgen put`: with `--manifest`, of that run
 * (every parameter from the manifest, compressed as the run stored it); without, of a put given the same
 * flags (size or distribution, dedup scope with `--count`, compression, ratio codec, seed).
 * @module
 */
import { createWriteStream } from 'node:fs';
import { isatty } from 'node:tty';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { DataGenerator, type ObjectSpec } from '../generator.js';
import { DataSource } from '../source.js';
import { createCompressor, type CompressionSpec } from '../compression.js';
import { loadManifest, objectSpec } from '../manifest.js';
import { parseDataOptions } from '../params.js';
import { parseSizeDistribution, unitsBefore } from '../sizes.js';
import { invalidRange } from '../errors.js';
import { parseRate } from '../pacing.js';
import { compressionFromOptions, connectionOptions } from './options.js';
import type { CatFlags } from './main.js';
import { flagOf } from './values.js';

/** The flags that shape the data, which a manifest gives (refused beside `--manifest`). */
const FROM_MANIFEST = [
  'size',
  'dedup',
  'compress',
  'ratioCodec',
  'dedupUnit',
  'dedupScope',
  'seed',
  'count',
  'compression',
  'compressionLevel',
] as const;

/** What to write: the object's generator parameters and the compression it is stored with. */
interface CatPlan {
  spec: ObjectSpec;
  compression: CompressionSpec | undefined;
  /** Said on stderr when the seed was drawn at random. */
  randomSeed?: bigint;
}

/** Object N of the run of a manifest. */
async function fromManifest(location: string, opts: CatFlags, command: Command | undefined): Promise<CatPlan> {
  for (const key of FROM_MANIFEST) {
    if (command?.getOptionValueSource(key) === 'cli') {
      throw invalidRange(
        'ERR_DGEN_INVALID_OPTION',
        key,
        opts[key],
        `absent with --manifest (${flagOf(command, key)} is taken from the manifest)`,
      );
    }
  }
  const manifest = await loadManifest(location, connectionOptions(opts));
  const id = Number(opts.object);
  if (id >= manifest.count) {
    throw invalidRange(
      'ERR_DGEN_INVALID_OBJECT_ID',
      'objectId',
      opts.object,
      `below the run's count of objects, ${manifest.count} (${location})`,
    );
  }
  const sizes = parseSizeDistribution(manifest.size);
  const seed = BigInt(manifest.seed);
  const dataset = manifest.dedupScope === 'dataset';
  const spec = objectSpec(manifest, {
    objectId: String(id),
    size: sizes.sizeOf(seed, id),
    ...(dataset && { unitOffset: unitsBefore(sizes, seed, id, manifest.dedupUnit) }),
  });
  return { spec, compression: manifest.compression.algorithm === 'none' ? undefined : manifest.compression };
}

/** Object N of a put given these flags. */
function fromFlags(opts: CatFlags): CatPlan {
  const data = parseDataOptions({
    dedupRatio: opts.dedup,
    compressRatio: opts.compress,
    dedupUnit: opts.dedupUnit,
    ...(opts.ratioCodec !== undefined && { ratioCodec: opts.ratioCodec }),
    ...(opts.seed !== undefined && { seed: opts.seed }),
  });
  const sizes = parseSizeDistribution(opts.size);
  const id = Number(opts.object);
  const count = opts.count === undefined ? undefined : Number(opts.count);
  if (count !== undefined && !(count >= 1))
    throw invalidRange('ERR_DGEN_INVALID_OPTION', 'count', opts.count, 'a whole number >= 1');
  if (count !== undefined && id >= count)
    throw invalidRange('ERR_DGEN_INVALID_OBJECT_ID', 'objectId', opts.object, `below --count (${opts.count})`);
  const dataset = opts.dedupScope === 'dataset';
  // Dataset scope: the object's units are its place among the units of the whole data set.
  if (dataset && count === undefined)
    throw invalidRange(
      'ERR_DGEN_INVALID_OPTION',
      'dedupScope',
      opts.dedupScope,
      'given with --count (the objects of the data set share its units)',
    );
  const spec: ObjectSpec = {
    seed: String(data.seed),
    objectId: String(id),
    size: sizes.sizeOf(data.seed, id),
    dedupRatio: data.dedupRatio,
    compressRatio: data.compressRatio,
    ...(data.ratioCodec !== undefined && { ratioCodec: data.ratioCodec }),
    dedupUnit: data.dedupUnit,
    ...(dataset && {
      datasetUnits: unitsBefore(sizes, data.seed, count!, data.dedupUnit),
      unitOffset: unitsBefore(sizes, data.seed, id, data.dedupUnit),
    }),
  };
  const compression = compressionFromOptions(opts);
  return {
    spec,
    compression: compression?.algorithm === 'none' ? undefined : compression,
    ...(opts.seed === undefined && { randomSeed: data.seed }),
  };
}

/**
 * Runs `dgen cat`. Uncompressed, the bytes go to descriptor 1 straight from the worker pool
 * ({@link DataGenerator.writeToFd}), whatever stdout is (file, device, pipe, socket); compressed, a
 * {@link DataSource} through the compressor the sinks use (the same blocks, so the same bytes). A closed
 * pipe (EPIPE, e.g. `dgen cat | head -c 10`) ends it quietly. A terminal as stdout is refused (binary
 * data would garble it) unless `--force`.
 * @throws Error `ERR_DGEN_STDOUT_TERMINAL` (exit 2) for a terminal without `--force`; the library's
 *   usage errors; `ERR_DGEN_NOT_FOUND` and `ERR_DGEN_INVALID_MANIFEST` for `--manifest`.
 */
export async function runCat(opts: CatFlags, command?: Command): Promise<void> {
  if (isatty(1) && opts.force !== true) {
    throw Object.assign(
      new Error('stdout is a terminal: dgen cat writes binary data; redirect it (> file, | command) or give --force'),
      {
        code: 'ERR_DGEN_STDOUT_TERMINAL',
        exitCode: 2,
      },
    );
  }
  const plan = opts.manifest !== undefined ? await fromManifest(opts.manifest, opts, command) : fromFlags(opts);
  // Checked before the seed is said: a refusal is the only thing a refused run prints.
  const rate = opts.rate === undefined ? {} : { rate: parseRate('rate', opts.rate) };
  const chunkSize = opts.chunkSize;
  if (plan.randomSeed !== undefined) process.stderr.write(`dgen cat: seed ${plan.randomSeed}\n`);
  try {
    if (plan.compression === undefined) {
      await new DataGenerator(plan.spec).writeToFd(1, { chunkSize, ...rate });
    } else {
      const out = createWriteStream('', { fd: 1, autoClose: false });
      await pipeline(new DataSource({ ...plan.spec, chunkSize, ...rate }), createCompressor(plan.compression), out);
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'EPIPE') return;
    throw err;
  }
}

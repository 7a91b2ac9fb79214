/**
 * Manifests: everything needed to regenerate and check the objects of a run.
 *
 * Format `dgen-manifest` version 1 (JSON):
 * ```json
 * { "format": "dgen-manifest", "version": 1, "tool": "dgen-stream 0.1.0", "createdAt": "2026-11-22T04:00:00.000Z",
 *   "target": "file:///out", "seed": "1234", "count": 4, "size": "268435456",
 *   "dedupRatio": 2, "compressRatio": 3, "dedupUnit": 4096, "dedupScope": "object",
 *   "compression": { "algorithm": "none", "level": 0 }, "seconds": 2.1,
 *   "objects": [ { "name": "obj-000000.bin", "uri": "file:///out/obj-000000.bin", "objectId": "0",
 *                  "size": 268435456, "crc32c": "1a2b3c4d" } ],
 *   "failures": [] }
 * ```
 * - `seed` and `objectId` are decimal strings (64-bit); sizes are bytes; `size` is the run's size
 *   specification (a byte count or a distribution, see sizes.ts); `crc32c` is the CRC-32C of the
 *   object's uncompressed bytes as 8 hex digits.
 * - Dataset dedup scope adds `datasetUnits` (units in the whole data set) and per object `unitOffset`.
 * - Compressed runs add per object `compressedSize`; S3 and Azure objects add `etag` and
 *   `backendChecksum` where the backend gave them.
 * - A shard's manifest (`dgen-manifest.shard-I-of-N.json`) adds `shard: { index, count }` and lists only
 *   its objects; {@link mergeManifests} joins the shards into one.
 * - `failures` lists objects that could not be written: `{ name, uri, objectId, attempts, error, code? }`.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { DataGenerator, type ObjectSpec } from './generator.js';
import { invalidRange } from './errors.js';
import type { CompressionSpec } from './compression.js';
import type { BackendChecksum } from './sinks/object-writer.js';

export const MANIFEST_FORMAT = 'dgen-manifest';
export const MANIFEST_VERSION = 1;
/** File name of the manifest a bulk put writes beside its objects. */
export const MANIFEST_NAME = 'dgen-manifest.json';

/** The manifest's file name: `dgen-manifest.json`, or `dgen-manifest.shard-0003-of-0010.json` for a shard. */
export function manifestName(shard?: { index: number; count: number }): string {
  if (!shard) return MANIFEST_NAME;
  const w = Math.max(4, String(shard.count).length);
  return `dgen-manifest.shard-${String(shard.index).padStart(w, '0')}-of-${String(shard.count).padStart(w, '0')}.json`;
}

/** One object of a manifest. */
export interface ManifestObject {
  /** Name under the target (file name or object key suffix). */
  name: string;
  /** Full URI of the object. */
  uri: string;
  /** Object identity (decimal string). */
  objectId: string;
  /** Bytes (uncompressed). */
  size: number;
  /** CRC-32C of the object's uncompressed bytes, 8 hex digits. */
  crc32c: string;
  /** First dedup unit of the object in the data set (dataset scope). */
  unitOffset?: number;
  /** Bytes stored, when the run compressed its objects. */
  compressedSize?: number;
  /** Backend version tag, where the backend gave one. */
  etag?: string;
  /** The backend's checksum of the stored bytes, where it has one. */
  backendChecksum?: BackendChecksum;
}

/** An object a run could not write. */
export interface ManifestFailure {
  name: string;
  uri: string;
  objectId: string;
  attempts: number;
  error: string;
  code?: string;
}

/** A run's manifest. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  tool: string;
  createdAt: string;
  /** URI of the run's target (directory or prefix). */
  target: string;
  /** 64-bit seed, decimal string. */
  seed: string;
  /** Objects in the whole data set (a shard writes some of them). */
  count: number;
  /** The size specification: bytes, or a distribution. */
  size: string;
  /** The object name template. */
  nameTemplate?: string;
  dedupRatio: number;
  compressRatio: number;
  /** Bytes. */
  dedupUnit: number;
  dedupScope: 'object' | 'dataset';
  /** Dedup units in the whole data set (dataset scope). */
  datasetUnits?: number;
  /** Compression applied to the stored objects (their names carry its extension). */
  compression: CompressionSpec;
  /** Which shard this manifest covers, if it is a shard's. */
  shard?: { index: number; count: number };
  /** Wall-clock seconds the run took (the longest shard's, once merged). */
  seconds: number;
  objects: ManifestObject[];
  failures: ManifestFailure[];
}

/** The full {@link ObjectSpec} of one object of a manifest. */
export function objectSpec(manifest: Manifest, object: ManifestObject): ObjectSpec {
  return {
    seed: manifest.seed,
    objectId: object.objectId,
    size: object.size,
    dedupRatio: manifest.dedupRatio,
    compressRatio: manifest.compressRatio,
    dedupUnit: manifest.dedupUnit,
    ...(manifest.dedupScope === 'dataset' && { datasetUnits: manifest.datasetUnits!, unitOffset: object.unitOffset ?? 0 }),
  };
}

/** The generator that regenerates one object of a manifest. */
export function generatorFor(manifest: Manifest, object: ManifestObject): DataGenerator {
  return new DataGenerator(objectSpec(manifest, object));
}

/**
 * Checks that parsed JSON is a manifest this version reads.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST`.
 */
export function checkManifest(data: unknown, where: string): Manifest {
  const m = data as Partial<Manifest>;
  if (m?.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION || !Array.isArray(m.objects)) {
    throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifest', where, `a ${MANIFEST_FORMAT} file of version ${MANIFEST_VERSION}`);
  }
  return { failures: [], ...m } as Manifest;
}

/** Parses manifest text. @throws RangeError `ERR_DGEN_INVALID_MANIFEST`. */
export function parseManifest(text: string, where: string): Manifest {
  try {
    return checkManifest(JSON.parse(text), where);
  } catch (err) {
    if (err instanceof SyntaxError) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifest', where, 'a JSON dgen manifest');
    throw err;
  }
}

/**
 * Reads and checks a manifest file.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST`; file-system errors as Node raises them.
 */
export async function readManifest(path: string): Promise<Manifest> {
  return parseManifest(await readFile(path, 'utf8'), path);
}

/**
 * Joins shard manifests of one run into the manifest of the whole run.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` when they are not shards of the same run (seed, count,
 *   size, ratios, unit, scope, compression, shard count), when a shard is missing or given twice, or
 *   when an object appears twice.
 */
export function mergeManifests(shards: Manifest[]): Manifest {
  if (shards.length === 0) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', shards, 'at least one shard manifest');
  const first = shards[0]!;
  const key = (m: Manifest) =>
    JSON.stringify([m.target, m.seed, m.count, m.size, m.dedupRatio, m.compressRatio, m.dedupUnit, m.dedupScope, m.datasetUnits, m.compression, m.shard?.count]);
  const seen = new Set<number>();
  for (const m of shards) {
    if (!m.shard) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', m.target, 'shard manifests (with a shard field)');
    if (key(m) !== key(first)) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', `shard ${m.shard.index}`, 'shards of the same run (same target, seed and parameters)');
    if (seen.has(m.shard.index)) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', `shard ${m.shard.index}`, 'each shard once');
    seen.add(m.shard.index);
  }
  const missing = Array.from({ length: first.shard!.count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', `shards ${missing.join(', ')} missing`, `all ${first.shard!.count} shards`);
  const objects = shards.flatMap((m) => m.objects).sort((a, b) => Number(a.objectId) - Number(b.objectId));
  for (let i = 1; i < objects.length; i++) {
    if (objects[i]!.objectId === objects[i - 1]!.objectId) {
      throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifests', `object ${objects[i]!.objectId}`, 'each object in one shard only');
    }
  }
  const { shard: _s, ...rest } = first;
  return {
    ...rest,
    createdAt: new Date().toISOString(),
    seconds: Math.max(...shards.map((m) => m.seconds ?? 0)),
    objects,
    failures: shards.flatMap((m) => m.failures ?? []).sort((a, b) => Number(a.objectId) - Number(b.objectId)),
  };
}

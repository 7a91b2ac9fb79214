/**
 * Manifests: everything needed to regenerate and check the objects of a run.
 *
 * Format `dgen-manifest` version 1 (JSON):
 * ```json
 * { "format": "dgen-manifest", "version": 1, "tool": "dgen-stream 0.1.0", "createdAt": "2026-11-22T04:00:00.000Z",
 *   "target": "file:///out", "seed": "1234", "dedupRatio": 2, "compressRatio": 3, "dedupUnit": 4096,
 *   "compression": { "algorithm": "none", "level": 0 },
 *   "objects": [ { "name": "obj-000000.bin", "uri": "file:///out/obj-000000.bin", "objectId": "0",
 *                  "size": 268435456, "crc32c": "1a2b3c4d" } ] }
 * ```
 * Seeds and object identities are decimal strings (they are 64-bit); sizes are bytes; crc32c is the
 * CRC-32C of the object's (uncompressed) bytes as 8 hex digits. Objects of a compressed run also carry
 * `compressedSize`; objects on S3 and Azure carry `etag` and `backendChecksum` where the backend gave them.
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

/** One object of a manifest. */
export interface ManifestObject {
  /** Name under the target (file name or object key suffix). */
  name: string;
  /** Full URI of the object. */
  uri: string;
  /** Object identity (decimal string). */
  objectId: string;
  /** Bytes. */
  size: number;
  /** CRC-32C of the object's bytes, 8 hex digits. */
  crc32c: string;
  /** Bytes stored, when the run compressed its objects. */
  compressedSize?: number;
  /** Backend version tag, where the backend gave one. */
  etag?: string;
  /** The backend's checksum of the stored bytes, where it has one. */
  backendChecksum?: BackendChecksum;
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
  dedupRatio: number;
  compressRatio: number;
  /** Bytes. */
  dedupUnit: number;
  /** Compression applied to the stored objects (their names carry its extension). */
  compression: CompressionSpec;
  objects: ManifestObject[];
}

/** The generator that regenerates one object of a manifest. */
export function generatorFor(manifest: Manifest, object: ManifestObject): DataGenerator {
  return new DataGenerator(objectSpec(manifest, object));
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
  };
}

/**
 * Reads and checks a manifest.
 * @throws RangeError `ERR_DGEN_INVALID_MANIFEST` when the file is not a dgen manifest of a known version;
 *   file-system errors as Node raises them.
 */
export async function readManifest(path: string): Promise<Manifest> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifest', path, 'a JSON dgen manifest');
    throw err;
  }
  const m = data as Partial<Manifest>;
  if (m?.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION || !Array.isArray(m.objects)) {
    throw invalidRange('ERR_DGEN_INVALID_MANIFEST', 'manifest', path, `a ${MANIFEST_FORMAT} file of version ${MANIFEST_VERSION}`);
  }
  return m as Manifest;
}

/**
 * The objects under a target that a manifest does not list ("extras"), for `verify`: files in a directory
 * tree (read as a stream of entries, links and special files reported as what they are, never followed),
 * or the keys under an `s3://` / `az://` prefix. The manifest files of a run (`dgen-manifest*.json`, their
 * `.records.ndjson`, and the manifest verify was given when it lies under the target) are not extras;
 * `.dgen-partial` files (writes in progress, or left by a crash) are counted apart and never read.
 * @module
 */
import { opendir } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { childTarget, formatTarget, type Backends, type Target } from './backends/index.js';
import { s3Child } from './backends/s3.js';
import { azureChild } from './backends/azure.js';
import { RESERVED_NAME } from './manifest-schema.js';

/** dgen's manifests and records, by the last segment of a key: not extras wherever they lie under a prefix. */
const MANIFEST_FILE = /^dgen-manifest.*\.(?:json|ndjson)$/;

/** A file or object under the target that the manifest does not list. */
export interface VerifyExtra {
  /** Name under the target (`/`-separated). */
  name: string;
  uri: string;
  /** What it is: `file` (a regular file, or an object), `symlink` (not followed), `fifo`, `socket`, `device`. */
  kind: 'file' | 'symlink' | 'fifo' | 'socket' | 'device' | 'other';
}

/** What {@link findExtras} found. */
export interface ExtrasFound {
  /** Extras counted. */
  count: number;
  /** `.dgen-partial` files counted (not extras, not read). */
  partials: number;
}

function kindOf(entry: Dirent): VerifyExtra['kind'] {
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'device';
  return 'other';
}

/**
 * Walks the target and reports every entry that `listed` does not hold.
 * @param listed - whether the manifest lists a name.
 * @param ignore - further names not to report (the manifest and records files under the target).
 * @param onExtra - called for each extra, in walk order.
 * @param backends - the run's backends: an object store is listed through the run's client.
 */
export async function findExtras(
  prefix: Target,
  listed: (name: string) => boolean,
  ignore: ReadonlySet<string>,
  onExtra: (extra: VerifyExtra) => void,
  backends: Backends,
): Promise<ExtrasFound> {
  const found: ExtrasFound = { count: 0, partials: 0 };
  const consider = (name: string, kind: VerifyExtra['kind']) => {
    if (name.endsWith('.dgen-partial')) found.partials++;
    else if (ignore.has(name) || (!name.includes('/') && RESERVED_NAME.test(name)) || listed(name))
      return; // a listed name that is no file is in the report already
    else {
      found.count++;
      onExtra({ name, uri: formatTarget(childTarget(prefix, name)), kind });
    }
  };
  if (prefix.scheme === 'file' || prefix.scheme === 'direct') {
    const walk = async (dir: string, under: string): Promise<void> => {
      let entries;
      try {
        entries = await opendir(dir);
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT' && under === '') return;
        throw err;
      }
      for await (const entry of entries) {
        const name = under + entry.name;
        if (entry.isDirectory()) await walk(`${dir}/${entry.name}`, `${name}/`);
        else consider(name, kindOf(entry));
      }
    };
    await walk(prefix.path, '');
    return found;
  }
  // Listed under `prefix/` (a sibling prefix such as `run2/` is not under `run`).
  const objects =
    prefix.scheme === 's3'
      ? (await backends.s3()).list(s3Child(prefix, ''))
      : (await backends.azure()).list(azureChild(prefix, ''));
  const start = (prefix.scheme === 's3' ? s3Child(prefix, '').key : azureChild(prefix, '').blob).length;
  for await (const object of objects) {
    const key = object.target.scheme === 's3' ? object.target.key : object.target.blob;
    if (MANIFEST_FILE.test(key.slice(key.lastIndexOf('/') + 1))) continue;
    consider(key.slice(start), 'file');
  }
  return found;
}

/**
 * Stale temporary files of earlier runs: a process killed with SIGKILL (or a power cut) cannot remove
 * the `.dgen-partial` files of the objects it was writing. The next put into the same local target
 * removes them before it writes anything.
 *
 * Only files this package could have made are touched: a regular file named exactly as FileSink and the
 * native writer (local-writer.ts) name temporary files, `.<name>.<12 hex digits>[<base-36 index>].dgen-partial`,
 * where `<name>` is one of this run's object names (its name template matched, and for a shard an index
 * of this shard) or the run's manifest or records file. So shards of one run writing into one directory
 * at the same time never remove each other's files; two unrelated runs writing into one directory at the
 * same time are not supported (the later one may remove the earlier one's files in flight).
 * @module
 */
import { lstat, opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { templateMatcher } from './names.js';

/** Name of a temporary file: the destination's base name and the random tag (FileSink: 12 hex digits;
 * the native writer: 12 hex digits and the object's index in its batch in base 36). */
export const PARTIAL_PATTERN = /^\.(.+)\.[0-9a-f]{12}[0-9a-z]{0,8}\.dgen-partial$/;

/** Which stale temporary files a sweep removes. */
export interface SweepOptions {
  /** The run's name template (`{index}`, `{n}`, `{ext}`): only temporary files of names it can make are removed. */
  nameTemplate: string;
  /** The compression's extension (`.zst`, `.gz` or `''`) that `{ext}` stands for. */
  extension: string;
  /** Objects of the run: index < count. */
  count: number;
  /** Only this shard's objects (index mod count = index). */
  shard?: { index: number; count: number };
  /** Other file names (relative to the root) whose temporary files are removed too: the manifest's and records'. */
  alsoNames?: readonly string[];
}

/** What a sweep removed. */
export interface SweepResult {
  /** Temporary files removed. */
  removed: number;
  /** Their bytes. */
  bytes: number;
}

/**
 * Removes the stale temporary files of this run's objects under `root` (see the module documentation),
 * looking only as deep as the template's names go (a template with k slashes: k directory levels), never
 * following a link.
 * @returns how many files were removed and their bytes.
 * @throws file-system errors other than a missing root or a file already gone.
 */
export async function sweepPartials(root: string, options: SweepOptions): Promise<SweepResult> {
  const matcher = templateMatcher(options.nameTemplate, options.extension);
  const also = new Set(options.alsoNames ?? []);
  const depth = options.nameTemplate.split('/').length - 1;
  const ours = (relative: string): boolean => {
    if (also.has(relative)) return true;
    const index = matcher(relative);
    if (index === undefined || index >= options.count) return false;
    return !options.shard || index % options.shard.count === options.shard.index;
  };
  const result: SweepResult = { removed: 0, bytes: 0 };
  const walk = async (dir: string, prefix: string, level: number): Promise<void> => {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    // One entry at a time: a directory of millions of objects is walked in flat memory.
    for await (const entry of handle) {
      if (entry.isDirectory()) {
        if (level < depth) await walk(join(dir, entry.name), `${prefix}${entry.name}/`, level + 1);
        continue;
      }
      if (!entry.isFile() || !entry.name.endsWith('.dgen-partial')) continue;
      const m = PARTIAL_PATTERN.exec(entry.name);
      if (!m || !ours(prefix + m[1])) continue;
      const path = join(dir, entry.name);
      try {
        const { size } = await lstat(path);
        await unlink(path);
        result.removed++;
        result.bytes += size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  };
  await walk(root, '', 0);
  return result;
}

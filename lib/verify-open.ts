/**
 * Opening an object's file for `verify` on the stream path (compressed local objects) so that a manifest
 * cannot make it read outside the target or block: O_NOFOLLOW (a link at the object's path is refused),
 * O_NONBLOCK (opening a FIFO does not wait for a writer), fstat on the descriptor (regular files only),
 * and the path the kernel opened (`/proc/self/fd/N`) must be the canonical target directory plus the
 * name, so a symbolic link to a directory on the way, which O_NOFOLLOW does not catch, is refused too.
 * Names were checked before (manifest-schema.ts: relative, no `..`, `.` or empty segments).
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** The canonical path of a target directory (links resolved), or the path as given when it does not
 * exist (every object is then missing). */
export async function canonicalRoot(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/** What opening an object's file gave: the open file and its size, or the verdict already. */
export type OpenedObject = { handle: FileHandle; size: number } | { status: 'missing' } | { status: 'error'; error: string };

function kind(st: Stats): string {
  return st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a FIFO'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : st.isSocket()
            ? 'a socket'
            : 'not a regular file';
}

/**
 * Opens `root/name` for reading as described in the module documentation.
 * @param root - the canonical target directory ({@link canonicalRoot}).
 * @returns the open file and its size, or `missing`, or `error` saying what was refused or failed.
 */
export async function openObjectFile(root: string, name: string): Promise<OpenedObject> {
  const path = join(root, name);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return { status: 'missing' };
    if (e.code === 'ELOOP') return { status: 'error', error: `${path} is a symbolic link (not followed)` };
    return { status: 'error', error: e.message };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${path} is ${kind(st)}, not a regular file`);
    let opened: string | undefined;
    try {
      opened = await readlink(`/proc/self/fd/${handle.fd}`);
    } catch {
      opened = await realpath(path).catch(() => undefined); // no /proc: the path's links resolved
    }
    if (opened !== path)
      throw new Error(
        `${path} is reached through a symbolic link (opened ${opened ?? 'an unknown path'}), outside what verify reads`,
      );
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    return { status: 'error', error: (err as Error).message };
  }
}

/**
 * What `dgen analyze` reads: files, directories (recursively, in name order), and objects under URIs
 * (`file://`, `s3://bucket/prefix`, `az://container/prefix`), listed and read through the backend modules
 * (`lib/backends/`): one client per object store for a whole listing, whose objects are read through it.
 *
 * Only regular files and objects are data. An input named on its own that is something else (a FIFO,
 * a character or block device such as `/dev/zero`, a socket; `/dev/stdin` is a pipe or a terminal) is
 * refused before anything is read, with `ERR_DGEN_INVALID_INPUT`: reading one would hang (a FIFO without
 * a writer), never end (`/dev/zero`) or measure nothing (`/dev/null`). Inside a directory such entries,
 * and symbolic links (never followed: a link can lead out of the tree or into a loop), are skipped and
 * reported through `onSkip`. So are the files `dgen put` itself leaves under a target, unless asked for
 * by name: its manifests (`dgen-manifest*.json`, `dgen-manifest*.ndjson`) and the `.dgen-partial`
 * temporary files of an unfinished put. Files are opened with O_NONBLOCK and checked with fstat on the
 * open descriptor, so an entry swapped for a FIFO after the listing is refused, not waited on.
 * @module
 */
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, opendir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { S3ConnectionOptions } from '../sinks/s3-sink.js';
import type { AzureConnectionOptions } from '../sinks/azure-sink.js';
import type { DgenErrorCode } from '../errors.js';
import { Backends, formatTarget, parseTarget, type ConnectionOptions, type Target } from '../backends/index.js';
import { formatFileTarget } from '../backends/file.js';

export { notFound } from '../backends/index.js';

/** One input: where it is, its size when known, and how to read it. */
export interface Input {
  uri: string;
  size?: number;
  open(): Promise<Readable>;
}

/** What the listing does with entries that are not data. */
export interface ListOptions {
  /**
   * Skip the files `dgen put` leaves under a target (manifests, `.dgen-partial` files) when they are
   * found in a directory or under a prefix; a file named on its own, or a prefix that itself starts with
   * `dgen-manifest`, is always read. Default true.
   */
  skipDgenFiles?: boolean;
  /** Called for every entry of a directory or prefix that is skipped, with its URI and why. */
  onSkip?: (uri: string, reason: string) => void;
}

/** Connection options for object-store inputs, and what the listing skips. */
export type InputOptions = S3ConnectionOptions & AzureConnectionOptions & ListOptions;

/** The code of {@link invalidInput} errors (to be added to `DgenErrorCode`). */
const INVALID_INPUT = 'ERR_DGEN_INVALID_INPUT' as DgenErrorCode;

/**
 * The error for an input that is not a regular file, a directory or an object: TypeError
 * `ERR_DGEN_INVALID_INPUT`, `parameter` `inputs`, `value` the input as given.
 */
export function invalidInput(input: string, kind: string): TypeError & { code: DgenErrorCode; parameter: string; value: string } {
  const err = new TypeError(`${input} is ${kind}: only regular files, directories and objects can be read as data`);
  return Object.assign(err, { code: INVALID_INPUT, parameter: 'inputs', value: input });
}

/** What a file-system entry is, in words. */
function kindOf(st: Stats | Dirent): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** Manifests and records of `dgen put` (version 1 and 2, shards, merged), and its temporary files. */
const DGEN_FILE = /^dgen-manifest.*\.(?:json|ndjson)$|\.dgen-partial$/;

function dgenFileReason(name: string): string | undefined {
  if (!DGEN_FILE.test(name)) return undefined;
  if (name.endsWith('.dgen-partial')) return 'a temporary file of an unfinished dgen put';
  return name.endsWith('.ndjson') ? 'the records of a dgen manifest' : 'a dgen manifest';
}

/**
 * A local file as an input: opened with O_NONBLOCK (a FIFO put in its place must not block the open),
 * without following a final link when `noFollow`, and read only if fstat on the descriptor says it is a
 * regular file.
 */
function fileInput(path: string, size: number, noFollow: boolean): Input {
  const uri = formatFileTarget({ scheme: 'file', path });
  return {
    uri,
    size,
    open: async () => {
      const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0)).catch(
        (err: { code?: string }) => {
          throw err.code === 'ELOOP' && noFollow ? invalidInput(path, 'a symbolic link') : err;
        },
      );
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw invalidInput(path, kindOf(st));
      } catch (err) {
        await handle.close();
        throw err;
      }
      return handle.createReadStream({ highWaterMark: 4 * 1024 * 1024, autoClose: true });
    },
  };
}

/** The regular files under a directory, recursively in name order, never following a link. */
async function* walkDirectory(path: string, options: ListOptions): AsyncGenerator<Input> {
  const entries: Dirent[] = [];
  for await (const entry of await opendir(path)) entries.push(entry);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = join(path, entry.name);
    // Some file systems do not say an entry's type in the listing: ask without following a link.
    const type: Stats | Dirent =
      entry.isFile() ||
      entry.isDirectory() ||
      entry.isSymbolicLink() ||
      entry.isFIFO() ||
      entry.isSocket() ||
      entry.isCharacterDevice() ||
      entry.isBlockDevice()
        ? entry
        : await lstat(child);
    if (type.isDirectory()) {
      yield* walkDirectory(child, options);
      continue;
    }
    const skip = !type.isFile()
      ? type.isSymbolicLink()
        ? 'a symbolic link (links inside directories are not followed)'
        : `${kindOf(type)} (only regular files are read)`
      : options.skipDgenFiles !== false
        ? dgenFileReason(entry.name)
        : undefined;
    if (skip) {
      options.onSkip?.(formatFileTarget({ scheme: 'file', path: child }), skip);
      continue;
    }
    yield fileInput(child, (await lstat(child)).size, true);
  }
}

/** Checks a local input named on its own (links followed): a regular file or a directory. */
async function checkLocal(path: string, spec: string): Promise<Stats> {
  const info = await stat(path);
  if (!info.isFile() && !info.isDirectory()) throw invalidInput(spec, kindOf(info));
  return info;
}

/** Whether an object key found under a prefix is one of dgen's own files to skip, and why. */
function skipObject(key: string, prefix: string, options: ListOptions): string | undefined {
  if (options.skipDgenFiles === false || basename(prefix).startsWith('dgen-manifest')) return undefined;
  return dgenFileReason(key.slice(key.lastIndexOf('/') + 1));
}

/**
 * The inputs named by `specs`, in order. Every local input named on its own is checked before the first
 * is listed, so a bad one stops the run before anything is read. The objects under `s3://` and `az://`
 * prefixes are listed and opened through one client per object store (the options' `client` or
 * `serviceClient` when given), released when the listing ends; an input's `open()` after that uses a
 * client of its own.
 * @throws TypeError `ERR_DGEN_INVALID_INPUT` (`parameter` `inputs`) for a local input that is not a
 *   regular file or a directory (a FIFO, a device, a socket); `ERR_DGEN_INVALID_URI` for a malformed URI;
 *   file-system and SDK errors as they come (`ENOENT` for a missing path).
 */
export async function* listInputs(specs: string[], options: InputOptions & ConnectionOptions = {}): AsyncGenerator<Input> {
  const targets = specs.map((spec) => parseTarget(spec, true));
  const local = new Map<number, Stats>();
  for (const [i, target] of targets.entries()) {
    if (target.scheme === 'file' || target.scheme === 'direct') local.set(i, await checkLocal(target.path, specs[i]!));
  }
  const backends = new Backends(options);
  let listing = true;
  /** Opens an object through the listing's client while the listing lasts, else through one of its own. */
  const opener = (target: Target) => () => (listing ? backends.open(target) : openTarget(target, options));
  try {
    for (const [i, target] of targets.entries()) {
      if (target.scheme === 'file' || target.scheme === 'direct') {
        const info = local.get(i)!;
        // Named on its own: read even if it is one of dgen's files; a link given by name is followed.
        if (info.isFile()) yield fileInput(target.path, info.size, false);
        else yield* walkDirectory(target.path, options);
        continue;
      }
      const found = target.scheme === 's3' ? (await backends.s3()).list(target) : (await backends.azure()).list(target);
      const prefix = target.scheme === 's3' ? target.key : target.blob;
      for await (const object of found) {
        const uri = formatTarget(object.target);
        const name = object.target.scheme === 's3' ? object.target.key : object.target.blob;
        const skip = skipObject(name, prefix, options);
        if (skip) {
          options.onSkip?.(uri, skip);
          continue;
        }
        yield { uri, ...(object.size !== undefined && { size: object.size }), open: opener(object.target) };
      }
    }
  } finally {
    listing = false;
    await backends.close();
  }
}

/**
 * Opens one object or file for reading, through a client of its own that goes when the stream closes (the
 * options' `client` or `serviceClient` when given, left open). A run that reads many objects uses one
 * {@link Backends} for all of them instead.
 * @throws `ERR_DGEN_NOT_FOUND` when it does not exist; other file-system and SDK errors as they come.
 */
export async function openTarget(target: string | Target, options: InputOptions & ConnectionOptions = {}): Promise<Readable> {
  const t = typeof target === 'string' ? parseTarget(target) : target;
  const backends = new Backends(options);
  try {
    const stream = await backends.open(t);
    stream.once('close', () => void backends.close());
    return stream;
  } catch (err) {
    await backends.close();
    throw err;
  }
}

/** Reads a whole (small) object or file as UTF-8 text. */
export async function readText(target: string | Target, options: InputOptions & ConnectionOptions = {}): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of await openTarget(target, options)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
